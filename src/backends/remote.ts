/**
 * The one wrapper every remote backend sends through: retries with back-off, a concurrency limit
 * (p-limit), and a disk cache of responses keyed by the whole request (shared/keys.ts requestKey), so a
 * rerun costs nothing. The backend says which failures are worth another try (it knows its protocol:
 * status codes, Retry-After); the wrapper owns how often and how long to wait, the same for every
 * backend. Written here rather than left to each client library because not every remote backend has a
 * client that retries, and one policy is easier to reason about than several.
 */
import pLimit from 'p-limit';
import { join } from 'node:path';
import { requestKey } from '../shared/keys.ts';
import { RequestCache } from './request-cache.ts';

/**
 * A response that arrived but is not one: the wrong shape (no `choices`, `content: null`, an HTML page).
 * Never stored or cached as an answer; worth another try, like a 503.
 */
export class InvalidResponse extends Error {
  override name = 'InvalidResponse';
}

/** Whether to try a failed request again, and the wait the server asked for (Retry-After), if any. */
export type RetryAdvice = { retry: false } | { retry: true; afterMs?: number };

export interface RemoteOptions {
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Folder for the response cache (`requests.db` in it); none when undefined. */
  cacheDir?: string;
  /** Retries after the first attempt (default 5). */
  maxRetries?: number;
  /** The backend's reading of a failure (default: nothing is retried). */
  retryable?: (error: unknown) => RetryAdvice;
  /** First back-off wait and its cap, in ms (defaults 500 and 8,000; doubled per attempt, with jitter). */
  backoffMs?: { initial: number; max: number };
  /** The longest Retry-After obeyed, in ms (default 60,000; a longer one falls back to the back-off). */
  retryAfterMaxMs?: number;
  /** A request's whole budget, all attempts and waits together, in ms (default: none beyond the retries). */
  deadlineMs?: number;
  /** What the requests go to, for the note printed while they are slow (e.g. the server and model). */
  waitingFor?: string;
  /** Where that note goes (default: stderr), every `noticeMs` (default 10 s) while a request is older than that. */
  onWait?: (note: string) => void;
  noticeMs?: number;
}

export class RemoteRequests {
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly cache?: RequestCache;
  /** Start times of the attempts in flight, for the note about slow requests. */
  private readonly inFlight = new Set<{ started: number }>();
  private watchdog?: NodeJS.Timeout;

  constructor(private readonly o: RemoteOptions) {
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

  /** `send()` until it succeeds, a failure is not retryable, or the retries are spent (then its last error). */
  async withRetries<T>(send: () => Promise<T>): Promise<T> {
    const max = this.o.maxRetries ?? 5;
    const { initial, max: cap } = this.o.backoffMs ?? { initial: 500, max: 8_000 };
    const afterCap = this.o.retryAfterMaxMs ?? 60_000;
    const started = Date.now();
    for (let attempt = 0; ; attempt++) {
      const attemptOf = { started: Date.now() };
      this.track(attemptOf);
      try {
        return await send();
      } catch (e) {
        const advice = this.o.retryable?.(e) ?? { retry: false };
        if (!advice.retry || attempt >= max) throw e;
        // The server's own wait when it gave one (up to the cap), else exponential back-off with jitter.
        const wait =
          advice.afterMs !== undefined && advice.afterMs <= afterCap ? advice.afterMs : Math.min(cap, initial * 2 ** attempt) * (1 - 0.25 * Math.random());
        if (this.o.deadlineMs !== undefined && Date.now() - started + wait > this.o.deadlineMs) {
          throw new Error(`${(e as Error).message} (gave up: the request's deadline of ${this.o.deadlineMs / 1000} s would pass before another try)`, {
            cause: e,
          });
        }
        await new Promise((r) => setTimeout(r, wait));
      } finally {
        this.untrack(attemptOf);
      }
    }
  }

  /** While any request is slower than the notice interval, say what is being waited for, once per interval. */
  private track(a: { started: number }): void {
    this.inFlight.add(a);
    const every = this.o.noticeMs ?? 10_000;
    this.watchdog ??= setInterval(() => {
      const now = Date.now();
      const slow = [...this.inFlight].filter((x) => now - x.started >= every);
      if (!slow.length) return;
      const oldest = Math.max(...slow.map((x) => now - x.started));
      const note = `waiting for ${slow.length} request${slow.length > 1 ? 's' : ''}${this.o.waitingFor ? ` to ${this.o.waitingFor}` : ''} (the oldest for ${Math.round(oldest / 1000)} s)`;
      (this.o.onWait ?? ((n: string) => process.stderr.write(`${n}\n`)))(note);
    }, every).unref();
  }

  private untrack(a: { started: number }): void {
    this.inFlight.delete(a);
    if (this.inFlight.size === 0 && this.watchdog) {
      clearInterval(this.watchdog);
      this.watchdog = undefined;
    }
  }

  /**
   * The response to `request`: from the cache, else `send()` (retried as the backend advises) within the
   * concurrency limit, stored once it arrives. `validate` checks a response's shape before anything uses
   * or caches it (it throws `InvalidResponse`, or returns the response typed): an invalid fresh response
   * is retried, never cached; an invalid cached one (written by an older version) is discarded and asked
   * again. `describe` turns the final failure into an error naming the server, endpoint and model.
   */
  async run<T>(
    request: unknown,
    send: () => Promise<unknown>,
    describe: (e: unknown) => Error,
    validate: (response: unknown) => T = (r) => r as T,
  ): Promise<T> {
    const hit = this.cached<unknown>(request);
    if (hit !== undefined) {
      try {
        return validate(hit);
      } catch (e) {
        if (!(e instanceof InvalidResponse)) throw e;
        // Not an answer: ask again below (the valid reply replaces it in the cache).
      }
    }
    return this.limit(async () => {
      let response: T;
      try {
        response = await this.withRetries(async () => validate(await send()));
      } catch (e) {
        throw describe(e);
      }
      this.remember(request, response);
      return response;
    });
  }
}

/** Retry-After as milliseconds: `retry-after-ms`, or `retry-after` in seconds or as an HTTP date. */
export function retryAfterMs(headers: { get(name: string): string | null } | undefined): number | undefined {
  const ms = Number(headers?.get('retry-after-ms') ?? NaN);
  if (Number.isFinite(ms)) return ms;
  const value = headers?.get('retry-after');
  if (!value) return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return seconds * 1000;
  const at = Date.parse(value);
  return Number.isFinite(at) ? Math.max(0, at - Date.now()) : undefined;
}
