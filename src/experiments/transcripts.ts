/**
 * Transcript readers: conversations in the formats people have, as the monitors' `Transcript`s.
 *
 * - OpenAI `messages` JSONL: one conversation a line, `{"id"?: …, "messages": [...]}` (other fields
 *   ignored), read line by line; the id is the line's `id` when it has one, else `FILE:LINE`.
 * - Inspect AI eval logs: `.eval` (a zip archive with one `samples/ID_epoch_N.json` per sample, its
 *   entries deflated or, since 2025, zstd-compressed; read entry by entry from disk) and `.json` (one
 *   object with a `samples` list). Each sample's `messages` is a transcript; its id is the sample id,
 *   `ID#EPOCH` when the eval ran more than one epoch.
 * - Petri transcripts (JSON): the target model's conversation, replayed from the `transcript_event`s
 *   of the `target` view (add, rollback, reset and json_patch edits: what the target last saw, so turns
 *   the auditor rolled back are not in it), or the older `target_messages` list; id: the metadata's
 *   `transcript_id`.
 * - dramatis runs (`runTranscripts`): each stored sample's prompt and answer; id CONDITION/QUESTION/IDX.
 *
 * Messages: `developer` turns count as system turns; `tool` results are kept as user-side context (the
 * monitors read what the assistant said, and the context it said it in); content is a string or a list
 * of parts, of which the text parts are kept (joined by a newline) and reasoning, images and tool calls
 * left out; a turn with no text left is dropped. Anything unreadable fails with the file (and the
 * line, where it has one) in the message.
 */
import { closeSync, createReadStream, existsSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { extname } from 'node:path';
import Database from 'better-sqlite3';
import yauzl from 'yauzl';
import { decompress as zstdDecompress } from 'fzstd';
import type { ChatMessage } from '../shared/chat.ts';
import type { Transcript } from '../scorers/monitors/types.ts';
import { findRun } from './store.ts';

/** A transcript as read: it always has an id. */
export interface ReadTranscript extends Transcript {
  id: string;
}

export type TranscriptFormat = 'messages-jsonl' | 'inspect-eval' | 'inspect-json' | 'petri' | 'messages-json';

export interface ReadOptions {
  /** Called as the reading goes: bytes read for JSONL, samples read for .eval logs (after each item). */
  onProgress?: (done: number, total: number, unit: 'bytes' | 'transcripts') => void;
}

// ---------------------------------------------------------------------------------------------------
// Messages

type Role = ChatMessage['role'];
const ROLES: Record<string, Role> = { system: 'system', developer: 'system', user: 'user', assistant: 'assistant', tool: 'user', function: 'user' };

/** The text of a content value (a string, a list of parts, or null), with `attachment://` references resolved. */
function textOf(content: unknown, where: string, attachments?: Record<string, string>): string {
  const resolve = (s: string) => (attachments && s.startsWith('attachment://') ? (attachments[s.slice(13)] ?? s) : s);
  if (content === null || content === undefined) return '';
  if (typeof content === 'string') return resolve(content);
  if (!Array.isArray(content)) throw new Error(`${where}: content: expected a string or a list of parts, got ${describe(content)}`);
  const texts: string[] = [];
  content.forEach((part, i) => {
    if (typeof part === 'string') texts.push(resolve(part));
    else if (part && typeof part === 'object') {
      const p = part as { type?: unknown; text?: unknown };
      // OpenAI chat ("text"), its Responses API ("input_text", "output_text") and Inspect ("text");
      // reasoning, images, audio, tool use and the like carry no reply text.
      if ((p.type === 'text' || p.type === 'input_text' || p.type === 'output_text' || p.type === undefined) && typeof p.text === 'string')
        texts.push(resolve(p.text));
    } else throw new Error(`${where}: content[${i}]: expected a part object, got ${describe(part)}`);
  });
  return texts.join('\n');
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'a list';
  if (typeof v === 'string') return `"${v.length > 40 ? `${v.slice(0, 40)}…` : v}"`;
  return typeof v === 'object' ? 'an object' : String(v);
}

/**
 * A list of chat messages in any of the formats (OpenAI, Inspect, Petri's `type`-tagged ones) as the
 * monitors' messages. `skip` names roles (or Petri types) that are not turns and are left out.
 */
function toMessages(raw: unknown, where: string, o: { attachments?: Record<string, string>; skip?: string[] } = {}): ChatMessage[] {
  if (!Array.isArray(raw)) throw new Error(`${where}: messages: expected a list, got ${describe(raw)}`);
  const out: ChatMessage[] = [];
  raw.forEach((m, i) => {
    const at = `${where}: messages[${i}]`;
    if (!m || typeof m !== 'object' || Array.isArray(m)) throw new Error(`${at}: expected a message object, got ${describe(m)}`);
    const msg = m as { role?: unknown; type?: unknown; content?: unknown };
    const role = typeof msg.role === 'string' ? msg.role : msg.type;
    if (typeof role === 'string' && o.skip?.includes(role)) return;
    if (typeof role !== 'string' || !(role in ROLES))
      throw new Error(`${at}: role: expected one of ${Object.keys(ROLES).join(', ')}, got ${role === undefined ? 'none' : describe(role)}`);
    const content = textOf(msg.content, at, o.attachments);
    if (content) out.push({ role: ROLES[role], content });
  });
  return out;
}

// ---------------------------------------------------------------------------------------------------
// Format detection

/** The format of a file, from its extension and its first bytes. */
export function detectFormat(file: string): TranscriptFormat {
  if (!existsSync(file)) throw new Error(`${file}: no such file`);
  if (statSync(file).isDirectory()) throw new Error(`${file}: a directory, not a transcript file`);
  const head = Buffer.alloc(65536);
  const fd = openSync(file, 'r');
  let n: number;
  try {
    n = readSync(fd, head, 0, head.length, 0);
  } finally {
    closeSync(fd);
  }
  if (n >= 4 && head.readUInt32LE(0) === 0x04034b50) return 'inspect-eval';
  const ext = extname(file).toLowerCase();
  if (ext === '.eval') throw new Error(`${file}: not an Inspect .eval log (a zip archive)`);
  if (ext === '.jsonl' || ext === '.ndjson') return 'messages-jsonl';
  const text = head
    .subarray(0, n)
    .toString('utf8')
    .replace(/^\uFEFF/, '');
  const firstLine = text.split('\n', 1)[0].trim();
  // JSONL under another name: a first line that is a whole object, with more after it.
  if (firstLine.startsWith('{') && firstLine.endsWith('}') && text.trim().length > firstLine.length) {
    try {
      JSON.parse(firstLine);
      return 'messages-jsonl';
    } catch {
      /* a pretty-printed JSON document */
    }
  }
  if (!text.trim()) throw new Error(`${file}: empty`);
  // Whole-document JSON: which kind is told once it is parsed (jsonDocumentTranscripts).
  return 'messages-json';
}

// ---------------------------------------------------------------------------------------------------
// Reading

/** Every transcript of a file, one at a time (large JSONL files and .eval logs are never held whole). */
export async function* transcriptsOf(file: string, o: ReadOptions = {}): AsyncGenerator<ReadTranscript> {
  const format = detectFormat(file);
  if (format === 'messages-jsonl') yield* jsonlTranscripts(file, o);
  else if (format === 'inspect-eval') yield* evalLogTranscripts(file, o);
  else yield* jsonDocumentTranscripts(file);
}

/** Every transcript of a file, in a list (for small files and tests). */
export async function readTranscripts(file: string): Promise<ReadTranscript[]> {
  const out: ReadTranscript[] = [];
  for await (const t of transcriptsOf(file)) out.push(t);
  return out;
}

function idOf(v: unknown): string | undefined {
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined;
}

/** OpenAI `messages` JSONL, line by line. */
async function* jsonlTranscripts(file: string, o: ReadOptions): AsyncGenerator<ReadTranscript> {
  const total = statSync(file).size;
  let rest = '';
  let line = 0;
  let bytes = 0;
  let found = 0;
  const parse = (text: string, lineNo: number): ReadTranscript | undefined => {
    if (!text.trim()) return undefined;
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (e) {
      throw new Error(`${file}:${lineNo}: not valid JSON (${(e as Error).message})`);
    }
    if (!json || typeof json !== 'object' || Array.isArray(json))
      throw new Error(`${file}:${lineNo}: expected an object with "messages", got ${describe(json)}`);
    const obj = json as { id?: unknown; messages?: unknown };
    if (obj.messages === undefined) throw new Error(`${file}:${lineNo}: no "messages" list`);
    return { id: idOf(obj.id) ?? `${file}:${lineNo}`, messages: toMessages(obj.messages, `${file}:${lineNo}`) };
  };
  for await (const chunk of createReadStream(file, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
    bytes += Buffer.byteLength(chunk as string);
    const lines = (rest + (chunk as string)).split('\n');
    rest = lines.pop()!;
    for (const l of lines) {
      line++;
      const t = parse(line === 1 ? l.replace(/^\uFEFF/, '') : l, line);
      if (t) {
        found++;
        yield t;
      }
    }
    o.onProgress?.(bytes, total, 'bytes');
  }
  line++;
  const last = parse(line === 1 ? rest.replace(/^\uFEFF/, '') : rest, line);
  if (last) {
    found++;
    yield last;
  }
  if (found === 0) throw new Error(`${file}: no transcripts (an empty JSONL file)`);
}

/** A whole-document JSON parse whose error names the line. */
function parseJsonFile(file: string): unknown {
  const text = readFileSync(file, 'utf8').replace(/^\uFEFF/, '');
  try {
    return JSON.parse(text);
  } catch (e) {
    const msg = (e as Error).message;
    const pos = /position (\d+)/.exec(msg);
    const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
    throw new Error(`${file}${line ? `:${line}` : ''}: not valid JSON (${msg})`);
  }
}

/** A JSON document: an Inspect .json log, a Petri transcript, one `{messages}` conversation or a list of them. */
async function* jsonDocumentTranscripts(file: string): AsyncGenerator<ReadTranscript> {
  const doc = parseJsonFile(file);
  if (Array.isArray(doc)) {
    if (doc.length === 0) throw new Error(`${file}: no transcripts (an empty list)`);
    for (let i = 0; i < doc.length; i++) {
      const c = doc[i] as { id?: unknown; messages?: unknown };
      if (!c || typeof c !== 'object' || c.messages === undefined) throw new Error(`${file}: [${i}]: expected a conversation with "messages"`);
      yield { id: idOf(c.id) ?? `${file}[${i}]`, messages: toMessages(c.messages, `${file}: [${i}]`) };
    }
    return;
  }
  if (!doc || typeof doc !== 'object') throw new Error(`${file}: not a transcript (${describe(doc)})`);
  const d = doc as Record<string, unknown>;
  if (d.eval && typeof d.eval === 'object' && ('samples' in d || 'status' in d)) {
    yield* inspectJsonTranscripts(file, d);
    return;
  }
  if (isPetri(d)) {
    yield petriTranscript(file, d);
    return;
  }
  if (d.messages !== undefined) {
    yield { id: idOf(d.id) ?? file, messages: toMessages(d.messages, file) };
    return;
  }
  throw new Error(`${file}: not a transcript format dramatis reads (OpenAI messages JSONL, an Inspect .eval or .json log, a Petri transcript)`);
}

// ---------------------------------------------------------------------------------------------------
// Inspect AI

interface InspectSample {
  id?: unknown;
  epoch?: unknown;
  messages?: unknown;
  attachments?: Record<string, string>;
}

function inspectEpochs(header: Record<string, unknown> | undefined): number {
  const config = (header?.eval as { config?: { epochs?: unknown } } | undefined)?.config;
  return typeof config?.epochs === 'number' ? config.epochs : 1;
}

function inspectSample(s: InspectSample, where: string, manyEpochs: boolean): ReadTranscript {
  const id = idOf(s.id);
  if (id === undefined) throw new Error(`${where}: a sample without an id`);
  if (s.messages === undefined) throw new Error(`${where}: sample ${id} has no messages`);
  const epoch = typeof s.epoch === 'number' ? s.epoch : 1;
  return { id: manyEpochs || epoch > 1 ? `${id}#${epoch}` : id, messages: toMessages(s.messages, `${where}: sample ${id}`, { attachments: s.attachments }) };
}

async function* inspectJsonTranscripts(file: string, log: Record<string, unknown>): AsyncGenerator<ReadTranscript> {
  const samples = log.samples;
  if (!Array.isArray(samples) || samples.length === 0)
    throw new Error(`${file}: an Inspect log without samples (was it run with log_samples off, or did it fail before any?)`);
  const many = inspectEpochs(log) > 1;
  for (let i = 0; i < samples.length; i++) yield inspectSample(samples[i] as InspectSample, `${file}: samples[${i}]`, many);
}

const ZSTD = 93;

async function entryBytes(zip: yauzl.ZipFile, entry: yauzl.Entry): Promise<Buffer> {
  if (entry.compressionMethod !== 0 && entry.compressionMethod !== 8 && entry.compressionMethod !== ZSTD)
    throw new Error(`${entry.fileName}: compression method ${entry.compressionMethod} (dramatis reads stored, deflate and zstd entries)`);
  const raw = entry.compressionMethod === ZSTD;
  const stream = await zip.openReadStreamPromise(entry, raw ? { decodeFileData: false } : {});
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  const data = Buffer.concat(chunks);
  return raw ? Buffer.from(zstdDecompress(data)) : data;
}

/** The samples' order: the dataset's (header.json lists its sample ids), epochs in turn; others by name. */
function sampleOrder(names: string[], header: Record<string, unknown> | undefined): string[] {
  const ids = ((header?.eval as { dataset?: { sample_ids?: unknown[] } } | undefined)?.dataset?.sample_ids ?? []).map(String);
  const rank = new Map(ids.map((id, i) => [id, i]));
  const key = (name: string) => {
    const m = /^samples\/(.*)_epoch_(\d+)\.json$/.exec(name);
    return { rank: m && rank.has(m[1]) ? rank.get(m[1])! : Infinity, epoch: m ? Number(m[2]) : 0 };
  };
  return [...names].sort((a, b) => {
    const ka = key(a),
      kb = key(b);
    return ka.rank - kb.rank || ka.epoch - kb.epoch || (a < b ? -1 : a > b ? 1 : 0);
  });
}

async function* evalLogTranscripts(file: string, o: ReadOptions): AsyncGenerator<ReadTranscript> {
  let zip: yauzl.ZipFile;
  try {
    zip = await yauzl.openPromise(file, { lazyEntries: true, autoClose: false });
  } catch (e) {
    throw new Error(`${file}: not a readable zip archive (${(e as Error).message})`);
  }
  try {
    const entries = new Map<string, yauzl.Entry>();
    try {
      for await (const entry of zip.eachEntry())
        if (entry.fileName === 'header.json' || /^samples\/.*\.json$/.test(entry.fileName)) entries.set(entry.fileName, entry);
    } catch (e) {
      throw new Error(`${file}: not a readable zip archive (${(e as Error).message})`);
    }
    const json = async (name: string): Promise<unknown> => {
      let text: string;
      try {
        text = (await entryBytes(zip, entries.get(name)!)).toString('utf8');
      } catch (e) {
        throw new Error(`${file}: ${name}: cannot read (${(e as Error).message})`);
      }
      try {
        return JSON.parse(text);
      } catch (e) {
        throw new Error(`${file}: ${name}: not valid JSON (${(e as Error).message})`);
      }
    };
    const header = entries.has('header.json') ? ((await json('header.json')) as Record<string, unknown>) : undefined;
    const samples = sampleOrder(
      [...entries.keys()].filter((n) => n.startsWith('samples/')),
      header,
    );
    if (samples.length === 0) throw new Error(`${file}: an Inspect log without samples (was it run with log_samples off, or did it fail before any?)`);
    const many = inspectEpochs(header) > 1;
    for (let i = 0; i < samples.length; i++) {
      yield inspectSample((await json(samples[i])) as InspectSample, `${file}: ${samples[i]}`, many);
      o.onProgress?.(i + 1, samples.length, 'transcripts');
    }
  } finally {
    zip.close();
  }
}

// ---------------------------------------------------------------------------------------------------
// Petri

function isPetri(d: Record<string, unknown>): boolean {
  const meta = d.metadata as Record<string, unknown> | undefined;
  if (meta && typeof meta === 'object' && 'transcript_id' in meta) return true;
  return Array.isArray(d.events) && d.events.some((e) => (e as { type?: unknown })?.type === 'transcript_event');
}

const inView = (view: unknown, name: string) => view === name || (Array.isArray(view) && view.includes(name));

function petriTranscript(file: string, d: Record<string, unknown>): ReadTranscript {
  const meta = (d.metadata ?? {}) as { transcript_id?: unknown };
  const events = Array.isArray(d.events) ? d.events : [];
  let messages: unknown[] = [];
  let replayed = false;
  events.forEach((e, i) => {
    const ev = e as { type?: unknown; view?: unknown; edit?: Record<string, unknown> };
    if (ev?.type !== 'transcript_event' || !inView(ev.view, 'target')) return;
    replayed = true;
    const edit = ev.edit ?? {};
    const where = `${file}: events[${i}]`;
    switch (edit.operation) {
      case 'add':
        messages.push(edit.message);
        break;
      case 'rollback': {
        const toId = edit.to_id;
        if (typeof toId === 'string') {
          const at = messages.findIndex((m) => (m as { id?: unknown })?.id === toId);
          if (at < 0) throw new Error(`${where}: rollback to message ${toId}, which is not in the target's conversation`);
          messages = messages.slice(0, at + 1);
        } else {
          const count = typeof edit.count === 'number' ? edit.count : 0;
          messages = count > 0 ? messages.slice(0, Math.max(0, messages.length - count)) : messages;
        }
        break;
      }
      case 'reset':
        messages = Array.isArray(edit.new_messages) ? [...edit.new_messages] : [];
        break;
      case 'json_patch':
        if (!Array.isArray(edit.patch)) throw new Error(`${where}: json_patch without a patch list`);
        messages = applyJsonPatch(messages, edit.patch, where) as unknown[];
        if (!Array.isArray(messages)) throw new Error(`${where}: json_patch left the conversation not a list`);
        break;
      default:
        throw new Error(`${where}: unknown edit operation ${describe(edit.operation)}`);
    }
  });
  if (!replayed && Array.isArray(d.target_messages)) messages = d.target_messages;
  const where = `${file}: target conversation`;
  const out = toMessages(messages, where, { skip: ['api_failure', 'info'] });
  if (out.length === 0) throw new Error(`${file}: a Petri transcript with no target conversation`);
  return { id: idOf(meta.transcript_id) ?? file, messages: out };
}

/** RFC 6902 JSON Patch (add, remove, replace, move, copy, test) on a copy of `doc`, as Petri's edits use it. */
export function applyJsonPatch(doc: unknown, patch: unknown[], where = 'json_patch'): unknown {
  let root = structuredClone(doc);
  const tokens = (path: string): string[] => {
    if (path === '') return [];
    if (!path.startsWith('/')) throw new Error(`${where}: bad JSON pointer "${path}"`);
    return path
      .slice(1)
      .split('/')
      .map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
  };
  const parentOf = (path: string): { parent: unknown; key: string } => {
    const t = tokens(path);
    if (t.length === 0) return { parent: undefined, key: '' };
    let node: unknown = root;
    for (const k of t.slice(0, -1)) {
      node = Array.isArray(node) ? node[Number(k)] : (node as Record<string, unknown> | undefined)?.[k];
      if (node === undefined || node === null || typeof node !== 'object') throw new Error(`${where}: path "${path}" does not exist`);
    }
    return { parent: node, key: t[t.length - 1] };
  };
  const get = (path: string): unknown => {
    if (path === '') return root;
    const { parent, key } = parentOf(path);
    return Array.isArray(parent) ? parent[Number(key)] : (parent as Record<string, unknown>)[key];
  };
  const remove = (path: string): unknown => {
    const { parent, key } = parentOf(path);
    if (Array.isArray(parent)) {
      const i = Number(key);
      if (!Number.isInteger(i) || i < 0 || i >= parent.length) throw new Error(`${where}: remove: no index ${key}`);
      return parent.splice(i, 1)[0];
    }
    const obj = parent as Record<string, unknown>;
    if (!(key in obj)) throw new Error(`${where}: remove: no member "${key}"`);
    const v = obj[key];
    delete obj[key];
    return v;
  };
  const add = (path: string, value: unknown) => {
    if (path === '') {
      root = value;
      return;
    }
    const { parent, key } = parentOf(path);
    if (Array.isArray(parent)) {
      const i = key === '-' ? parent.length : Number(key);
      if (!Number.isInteger(i) || i < 0 || i > parent.length) throw new Error(`${where}: add: index ${key} out of range`);
      parent.splice(i, 0, value);
    } else (parent as Record<string, unknown>)[key] = value;
  };
  for (const [n, raw] of patch.entries()) {
    const op = raw as { op?: unknown; path?: unknown; from?: unknown; value?: unknown };
    if (typeof op?.path !== 'string') throw new Error(`${where}: patch[${n}]: no path`);
    switch (op.op) {
      case 'add':
        add(op.path, structuredClone(op.value));
        break;
      case 'remove':
        remove(op.path);
        break;
      case 'replace':
        remove(op.path);
        add(op.path, structuredClone(op.value));
        break;
      case 'move':
        add(op.path, remove(String(op.from)));
        break;
      case 'copy':
        add(op.path, structuredClone(get(String(op.from))));
        break;
      case 'test':
        if (JSON.stringify(get(op.path)) !== JSON.stringify(op.value)) throw new Error(`${where}: patch[${n}]: test failed at "${op.path}"`);
        break;
      default:
        throw new Error(`${where}: patch[${n}]: unknown op ${describe(op.op)}`);
    }
  }
  return root;
}

// ---------------------------------------------------------------------------------------------------
// dramatis runs

/** A stored run's samples as transcripts (the prompt as sent, then the answer), from the store opened read-only. */
export function* runTranscripts(db: string, ref: string, o: ReadOptions = {}): Generator<ReadTranscript> {
  if (!existsSync(db)) throw new Error(`no results store at ${db} (dramatis run writes one; --db names another)`);
  const store = new Database(db, { readonly: true, fileMustExist: true });
  try {
    const runId = resolveRun(store, db, ref);
    const run = store.prepare('SELECT * FROM runs WHERE id = ?').get(runId) as { spec: string; samples?: number | null };
    // The run's slots per condition: its spec's `samples`, or what it recorded when a question file's counts decided them.
    const n = (JSON.parse(run.spec) as { samples?: unknown }).samples;
    const limit = typeof n === 'number' ? n : (run.samples ?? Number.MAX_SAFE_INTEGER);
    const conditions = store.prepare('SELECT name, condition_key FROM conditions WHERE run_id = ? ORDER BY position').all(runId) as {
      name: string;
      condition_key: string;
    }[];
    const count = store.prepare('SELECT COUNT(*) n FROM samples WHERE condition_key = ? AND idx < ?');
    const total = conditions.reduce((a, c) => a + (count.get(c.condition_key, limit) as { n: number }).n, 0);
    let done = 0;
    for (const c of conditions) {
      // Row by row: a run of 100,000 samples is never held whole.
      const rows = store
        .prepare('SELECT question_id, idx, prompt, answer FROM samples WHERE condition_key = ? AND idx < ? ORDER BY question_id, idx')
        .iterate(c.condition_key, limit) as IterableIterator<{ question_id: string; idx: number; prompt: string; answer: string }>;
      for (const r of rows) {
        const id = `${c.name}/${r.question_id}/${r.idx}`;
        yield {
          id,
          messages: [...promptMessages(JSON.parse(r.prompt), `${db}: ${id}`), ...(r.answer ? [{ role: 'assistant' as const, content: r.answer }] : [])],
        };
        o.onProgress?.(++done, total, 'transcripts');
      }
    }
  } finally {
    store.close();
  }
}

function promptMessages(prompt: unknown, where: string): ChatMessage[] {
  if (typeof prompt === 'string') return prompt ? [{ role: 'user', content: prompt }] : [];
  if (Array.isArray(prompt)) return toMessages(prompt, where);
  if (prompt && typeof prompt === 'object' && 'messages' in prompt) return toMessages((prompt as { messages: unknown }).messages, where);
  return [];
}

/** A run by id, id prefix or name (the latest of that name), as `dramatis view` and `report` name them. */
function resolveRun(store: Database.Database, db: string, ref: string): string {
  const found = findRun(store, ref);
  if ('id' in found) return found.id;
  throw new Error(
    found.matches > 1 ? `"${ref}" names ${found.matches} runs in ${db}; give more of the id` : `no run "${ref}" in ${db} (by id, id prefix or name)`,
  );
}
