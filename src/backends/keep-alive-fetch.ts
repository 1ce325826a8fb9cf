/**
 * A `fetch` for the `openai` SDK built on undici's `request` over one keep-alive Agent. Against a local
 * server that answers at once, Node's global fetch (WHATWG streams, a Request object, header guards
 * per call) cost more client CPU per request than the server took to answer, so it, not the server,
 * set the pace; undici's `request` skips that machinery (bench/engine-throughput has the figures).
 *
 * Only plain bodies (JSON text or bytes) take this path; anything else (multipart uploads for
 * fine-tuning, streams) goes to the global fetch unchanged, and so does a redirect (the global fetch
 * follows it as before). The response is read whole and handed over as a Response whose body is
 * already in memory, so reading it (`json()`, `text()`) skips the web-stream machinery too.
 */
import { Agent, request } from 'undici';

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

  override get url(): string { return this.#url; }
  override get bodyUsed(): boolean { return this.#used; }

  /** A stream of the bytes, for callers that read `body` directly (reading it uses the body up). */
  override get body(): ReadableStream<Uint8Array<ArrayBuffer>> | null {
    if (this.#bytes === null) return null;
    const bytes = this.#take();
    return new ReadableStream<Uint8Array<ArrayBuffer>>({ start(c) { c.enqueue(new Uint8Array(bytes)); c.close(); } });
  }

  #take(): ArrayBuffer {
    if (this.#used) throw new TypeError('Body is unusable: Body has already been read');
    this.#used = true;
    return this.#bytes ?? new ArrayBuffer(0);
  }

  override async text(): Promise<string> { return Buffer.from(this.#take()).toString('utf8'); }
  override async json(): Promise<any> { return JSON.parse(await this.text()); }
  override async arrayBuffer(): Promise<ArrayBuffer> { return this.#take(); }
  override async blob(): Promise<Blob> { return new Blob([this.#take()], { type: this.headers.get('content-type') ?? '' }); }
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

export function keepAliveFetch(): typeof fetch {
  // One agent per backend: its sockets stay open between requests (no TCP handshake per sample).
  const agent = new Agent({ keepAliveTimeout: 30_000, connections: null });
  return (async (input: string | URL | Request, init: RequestInit = {}): Promise<Response> => {
    const body = init.body;
    if (input instanceof Request || (body != null && typeof body !== 'string' && !(body instanceof Uint8Array))) return fetch(input, init);
    const r = await request(input, {
      method: (init.method ?? 'GET') as 'GET', headers: plainHeaders(init.headers), body: body ?? null,
      signal: init.signal ?? null, dispatcher: agent,
    });
    const bytes = await r.body.arrayBuffer();
    if (r.statusCode >= 300 && r.statusCode < 400 && r.headers.location !== undefined) return fetch(input, init);
    const headers = new Headers();
    for (const [k, v] of Object.entries(r.headers)) {
      if (Array.isArray(v)) for (const x of v) headers.append(k, x);
      else if (v !== undefined) headers.set(k, v);
    }
    return new BufferedResponse(NULL_BODY.has(r.statusCode) ? null : bytes, String(input), { status: r.statusCode, headers });
  }) as typeof fetch;
}
