/**
 * A `fetch` for the `openai` SDK that dispatches straight to an undici keep-alive Agent. Against a local
 * server that answers at once, Node's global fetch (WHATWG streams, a Request object, header guards
 * per call) cost more client CPU per request than the server took to answer, so it, not the server,
 * set the pace. Here a request is handed to the agent and its response collected as it arrives, with
 * no stream in between (bench/engine-throughput has the figures; undici's `request`, which wraps the
 * body in a Readable, cost about 10% more per request than dispatching directly).
 *
 * Only plain bodies (JSON text or bytes) take this path; anything else (multipart uploads for
 * fine-tuning, streams) goes to the global fetch unchanged, and so does a redirect (the global fetch
 * follows it as before). The response is read whole and handed over as a Response whose body is
 * already in memory, so reading it (`json()`, `text()`) skips the web-stream machinery too.
 */
import { Agent } from 'undici';

/** Statuses whose Response may not carry a body. */
const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/** A Response over bytes already read: the same interface, without a web stream in between. */
class BufferedResponse extends Response {
  #bytes: ArrayBuffer | null;
  #used = false;
  #url: string;

  constructor(bytes: ArrayBuffer | null, url: string, init: ResponseInit) {
    super(null, init);
    this.#bytes = bytes;
    this.#url = url;
  }

  override get url(): string {
    return this.#url;
  }
  override get bodyUsed(): boolean {
    return this.#used;
  }

  /** A stream of the bytes, for callers that read `body` directly (reading it uses the body up). */
  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#bytes === null) return null;
    const bytes = this.#take();
    return new ReadableStream<Uint8Array<ArrayBuffer>>({
      start(c) {
        c.enqueue(new Uint8Array(bytes));
        c.close();
      },
    });
  }

  #take(): ArrayBuffer {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes ?? new ArrayBuffer(0);
  }

  override async text(): Promise<string> {
    return Buffer.from(this.#take()).toString('utf8');
  }
  override async json(): Promise<any> {
    return JSON.parse(await this.text());
  }
  override async arrayBuffer(): Promise<ArrayBuffer> {
    return this.#take();
  }
  override async blob(): Promise<Blob> {
    return new Blob([this.#take()], { type: this.headers.get('content-type') ?? '' });
  }
  override clone(): Response {
    if (this.#used) throw new TypeError('Response.clone: Body has already been consumed.');
    return new BufferedResponse(this.#bytes, this.#url, { status: this.status, statusText: this.statusText, headers: this.headers });
  }
}

function plainHeaders(h: HeadersInit | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!h) return out;
  if (h instanceof Headers || Array.isArray(h)) for (const [k, v] of h) out[k] = v;
  else Object.assign(out, h);
  return out;
}

/** One request through the agent; resolves when the whole response is in (no stream in between). */
function dispatch(agent: Agent, url: URL, method: string, headers: Record<string, string>, body: string | Uint8Array | null, signal: AbortSignal | null) {
  return new Promise<{ status: number; headers: Record<string, string | string[] | undefined>; bytes: ArrayBuffer }>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    let status = 0,
      responseHeaders: Record<string, string | string[] | undefined> = {},
      abort: ((reason: unknown) => void) | undefined;
    const chunks: Buffer[] = [];
    const onAbort = () => abort?.(signal!.reason);
    signal?.addEventListener('abort', onAbort, { once: true });
    const done = () => signal?.removeEventListener('abort', onAbort);
    agent.dispatch(
      { origin: url.origin, path: url.pathname + url.search, method: method as 'GET', headers, body },
      {
        onRequestStart(controller) {
          abort = (reason) => controller.abort(reason as Error);
          if (signal?.aborted) abort(signal.reason); // aborted before the request reached a socket
        },
        onResponseStart(_controller, statusCode, h) {
          status = statusCode;
          responseHeaders = h;
          chunks.length = 0;
        },
        onResponseData(_controller, chunk) {
          chunks.push(chunk);
        },
        onResponseEnd() {
          done();
          const all = chunks.length === 1 ? chunks[0] : Buffer.concat(chunks);
          resolve({ status, headers: responseHeaders, bytes: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength) as ArrayBuffer });
        },
        onResponseError(_controller, error) {
          done();
          reject(error);
        },
      },
    );
  });
}

export function keepAliveFetch(): typeof fetch {
  // One agent per backend: its sockets stay open between requests (no TCP handshake per sample).
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: null });
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (input instanceof Request || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) return fetch(input, init);
    const url = new URL(input);
    const r = await dispatch(agent, url, init.method ?? 'GET', plainHeaders(init.headers), body ?? null, init.signal ?? null);
    if (r.status >= 300 && r.status < 400 && r.headers.location !== undefined) return fetch(input, init);
    const headers = new Headers();
    for (const [k, v] of Object.entries(r.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    return new BufferedResponse(NULL_BODY.has(r.status) ? null : r.bytes, url.href, { status: r.status, headers });
  }) as typeof fetch;
}
