/**
 * The one wrapper every remote backend sends through: a concurrency limit (p-limit) and a disk cache of
 * responses keyed by the whole request (shared/keys.ts requestKey), so a rerun costs nothing. Retries
 * with back-off stay with the transport that knows the protocol: for OpenAI-compatible servers the
 * official SDK retries 408/409/429/5xx and timeouts, honouring Retry-After (see openai-backend.ts).
 */
import pLimit from 'p-limit';
import { join } from 'node:path';
import { requestKey } from '../shared/keys.ts';
import { RequestCache } from './request-cache.ts';

export interface RemoteOptions {
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Folder for the response cache (`requests.db` in it); none when undefined. */
  cacheDir?: string;
}

export class RemoteRequests {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly cache?: RequestCache;

  constructor(o: RemoteOptions) {
    this.limit = pLimit(o.concurrency ?? 16);
    if (o.cacheDir) this.cache = new RequestCache(join(o.cacheDir, 'requests.db'));
  }

  /** A cached response, if this request was answered before. */
  cached<T>(request: unknown): T | undefined {
    return this.cache?.get<T>(requestKey(request));
  }

  remember(request: unknown, response: unknown): void {
    this.cache?.set(requestKey(request), response);
  }

  /**
   * The response to `request`: from the cache, else `send()` within the concurrency limit (stored
   * once it arrives). `describe` turns a failure into an error naming the server, endpoint and model.
   */
  async run<T>(request: unknown, send: () => Promise<T>, describe: (e: unknown) => Error): Promise<T> {
    const hit = this.cached<T>(request);
    if (hit !== undefined) return hit;
    return this.limit(async () => {
      let response: T;
      try {
        response = await send();
      } catch (e) {
        throw describe(e);
      }
      this.remember(request, response);
      return response;
    });
  }
}
