/** What the request routes share: reading a body with its schema, the per-choice seeds, capability checks. */
import type { Context } from 'hono';
import type { z } from 'zod';
import { requestSeed } from '../shared/keys.ts';
import { hasCapability, type Capability, type Model } from '../backends/model.ts';
import { ApiError } from './errors.ts';

/** The JSON body as the schema reads it, or a 400 naming the first field that is wrong. */
export async function body<T>(c: Context, schema: z.ZodType<T>): Promise<T> {
  let raw: unknown;
  try {
    raw = await c.req.json();
  } catch {
    throw new ApiError(400, 'the request body is not valid JSON');
  }
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const param = issue.path.join('.') || null;
    throw new ApiError(400, `${param ?? 'body'}: ${issue.message}`, 'invalid_request_error', param);
  }
  return parsed.data;
}

/** What the server draws for choice i of a request with seed S: choice 0 is S itself. */
export function choiceSeeds(seed: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => (i === 0 ? seed : requestSeed(seed, i)));
}

/** The model as the capability a route needs, or a 400 naming what it lacks. */
export function able<C extends Capability>(m: Model, c: C, route: string) {
  if (!hasCapability(m, c))
    throw new ApiError(400, `the model ${m.id} cannot serve ${route}: it lacks the "${c}" capability`, 'invalid_request_error', 'model');
  return m;
}
