/**
 * Incremental decoding with a key/value cache: the prompts go through the model once (the prefill,
 * the ordinary batched forward, which also hands back each layer's keys and values), then every new
 * token is one row per sequence through the model, attending to the cached keys and values.
 *
 * Why: without a cache, drawing token n recomputes every layer over all n positions (what generate
 * did before); with it, a step costs the dense layers of one row plus one dot product per cached
 * position. The result is the same model evaluated in a different order, so logits agree with the
 * full forward to float rounding (test/organism/decode.test.ts checks 1e-4), not bitwise.
 *
 * Rows keep their own lengths (prompts of different lengths, sequences that finish early): the cache
 * is [rows, nCtx, d] per layer and each row writes at its own position. It lives outside tfjs (which
 * has no in-place update; a copy of the cache per step would cost more than the attention itself), in
 * a WebAssembly memory of its own, where one SIMD kernel per row and head computes the single-query
 * attention (scores, softmax, weighted sum of values); in JS the same loop took 4.7 ns per
 * multiply-add, three quarters of a step at batch 64.
 */
import { tf } from './backend.ts';
import { block, forward, param, steer, type GptConfig, type Params, type Steering } from './model.ts';
import { layerNorm } from './kernels.ts';
import { buildSimdBinary } from './kernels/simd.ts';
import { el, forLoop, hsum, type WasmFn } from './kernels/wat.ts';
import { expv } from './kernels/gelu.ts';

/**
 * y[0..hd) = softmax_j((q·scale)·k_j) · v_j over positions j < P of one row and head.
 * - q·scale is written to qs first, the product taken in double and rounded once to float32, as the JS
 *   loop this replaced did, so samples stay the same to the bit (in float32, 5 of 864 failure-spiral
 *   answers changed).
 * - k and v point at position 0 of the head, positions `stride` bytes apart; s is scratch for P scores
 *   (rounded up to 4); hd is a multiple of 4.
 * - The softmax's exp is gelu's vector exp (relative error < 2e-7).
 */
const kvAttendWat: WasmFn = {
  name: 'kv_attend',
  params: 'q:i32 qs:i32 k:i32 v:i32 P:i32 stride:i32 hd:i32 s:i32 y:i32 scale:f64',
  locals: 'j:i32 c:i32 P4:i32 kp:i32 vp:i32 mx:f32 inv:f32 acc:v128 sum:v128 z:v128 n:v128 r:v128',
  body: `
      ${forLoop('c', 'i32.const 0', 'local.get hd', 1, `${el('qs', 'c')} ${el('q', 'c')} f32.load f64.promote_f32 local.get scale f64.mul f32.demote_f64 f32.store`)}
      f32.const -inf local.set mx
      local.get k local.set kp
      ${forLoop(
        'j',
        'i32.const 0',
        'local.get P',
        1,
        `
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('c', 'i32.const 0', 'local.get hd', 4, `local.get acc ${el('qs', 'c')} v128.load ${el('kp', 'c')} v128.load f32x4.mul f32x4.add local.set acc`)}
        ${el('s', 'j')} ${hsum('acc')} f32.store
        ${el('s', 'j')} f32.load local.get mx f32.max local.set mx
        local.get kp local.get stride i32.add local.set kp`,
      )}
      local.get P i32.const 3 i32.add i32.const -4 i32.and local.set P4
      ${forLoop('j', 'local.get P', 'local.get P4', 1, `${el('s', 'j')} local.get mx f32.const 1000 f32.sub f32.store`)}
      f32.const 0 f32x4.splat local.set sum
      ${forLoop(
        'j',
        'i32.const 0',
        'local.get P4',
        4,
        `
        ${el('s', 'j')} v128.load local.get mx f32x4.splat f32x4.sub local.set z
        ${el('s', 'j')} ${expv('z', 'n', 'r')} v128.store
        local.get sum ${el('s', 'j')} v128.load f32x4.add local.set sum`,
      )}
      f32.const 1 ${hsum('sum')} f32.div local.set inv
      ${forLoop(
        'c',
        'i32.const 0',
        'local.get hd',
        4,
        `
        f32.const 0 f32x4.splat local.set acc
        local.get v local.get c i32.const 2 i32.shl i32.add local.set vp
        ${forLoop(
          'j',
          'i32.const 0',
          'local.get P',
          1,
          `
          local.get acc ${el('s', 'j')} f32.load f32x4.splat local.get vp v128.load f32x4.mul f32x4.add local.set acc
          local.get vp local.get stride i32.add local.set vp`,
        )}
        ${el('y', 'c')} local.get acc local.get inv f32x4.splat f32x4.mul v128.store`,
      )}`,
};

type KvAttend = (q: number, qs: number, k: number, v: number, P: number, stride: number, hd: number, s: number, y: number, scale: number) => void;
let kvModule: Promise<WebAssembly.Module> | undefined;
/** The kernel's module, assembled once per process. */
function kvAttendModule(): Promise<WebAssembly.Module> {
  kvModule ??= buildSimdBinary([kvAttendWat]).then((b) => new WebAssembly.Module(b as Uint8Array<ArrayBuffer>));
  return kvModule;
}

export interface KvCache {
  /** The memory the cache and the kernel's scratch live in, and the kernel instantiated on it. */
  memory: WebAssembly.Memory;
  attend: KvAttend;
  /** Byte offsets of the scratch: a step's qkv rows (staged), the scaled query, the scores, the step's output rows. */
  scratch: { qkv: number; q: number; s: number; y: number };
  rows: number;
  nCtx: number;
  d: number;
  heads: number;
  /** Per layer: keys and values, [rows, nCtx, d] (heads side by side within d, as the qkv projection lays them out), views of `memory`. */
  k: Float32Array[];
  v: Float32Array[];
  /** Positions filled per row. */
  length: Int32Array;
}

/** The key and value of row `src` of a layer's qkv ([·, 3d]: q | k | v) into that layer's cache at (row, position). */
function storeKv(cache: KvCache, layer: number, qkv: Float32Array, src: number, row: number, position: number): void {
  const d = cache.d,
    from = src * 3 * d,
    to = (row * cache.nCtx + position) * d;
  cache.k[layer].set(qkv.subarray(from + d, from + 2 * d), to);
  cache.v[layer].set(qkv.subarray(from + 2 * d, from + 3 * d), to);
}

/**
 * Runs the prompts (right-padded, absolute positions kept) and fills a cache with their keys and
 * values; returns the logits at each prompt's last token, [rows × vocab].
 */
export async function prefill(
  c: GptConfig,
  params: Params,
  pad: number,
  prompts: number[][],
  steering?: Steering[],
): Promise<{ cache: KvCache; logits: Float32Array }> {
  const module = await kvAttendModule();
  const B = prompts.length,
    d = c.nEmbd,
    T = Math.max(...prompts.map((p) => p.length));
  if (prompts.some((p) => p.length === 0)) throw new Error('organism: an empty prompt cannot be decoded (it needs at least <doc>)');
  const flat = new Int32Array(B * T).fill(pad);
  prompts.forEach((p, b) => flat.set(p, b * T));
  const { logits, qkv } = tf.tidy(() => {
    const tokens = tf.tensor2d(flat, [B, T], 'int32');
    const rows = tf.tensor1d(
      prompts.map((p, b) => b * T + p.length - 1),
      'int32',
    );
    const r = forward(c, params, tokens, { logitRows: rows, steering, collectQkv: true });
    return { logits: r.logits, qkv: r.qkv! };
  });
  // One memory: the keys and values of every layer, then 16-byte-aligned scratch for the kernel.
  const per = B * c.nCtx * d,
    hd = d / c.nHead;
  const align = (x: number) => (x + 3) & ~3;
  const stageAt = 2 * c.nLayer * per,
    qAt = stageAt + align(B * 3 * d),
    sAt = qAt + align(hd),
    yAt = sAt + align(c.nCtx + 4);
  const bytes = (yAt + align(B * d)) * 4;
  const memory = new WebAssembly.Memory({ initial: Math.ceil(bytes / 65536) });
  const attend = (new WebAssembly.Instance(module, { env: { memory } }).exports as { kv_attend: KvAttend }).kv_attend;
  const cache: KvCache = {
    memory,
    attend,
    scratch: { qkv: stageAt * 4, q: qAt * 4, s: sAt * 4, y: yAt * 4 },
    rows: B,
    nCtx: c.nCtx,
    d,
    heads: c.nHead,
    k: [],
    v: [],
    length: Int32Array.from(prompts.map((p) => p.length)),
  };
  for (const [l, layer] of qkv.entries()) {
    cache.k.push(new Float32Array(memory.buffer, 2 * l * per * 4, per));
    cache.v.push(new Float32Array(memory.buffer, (2 * l + 1) * per * 4, per));
    const data = layer.dataSync() as Float32Array;
    prompts.forEach((p, b) => {
      for (let t = 0; t < p.length; t++) storeKv(cache, l, data, b * T + t, b, t);
    });
  }
  const out = logits.dataSync() as Float32Array;
  tf.dispose([logits, ...qkv]);
  return { cache, logits: out };
}

/**
 * Single-query causal attention over the cache: for each step row i (cache row rows[i], whose new
 * token sits at position pos[i], already written), softmax(q·kᵀ/√hd) over positions 0..pos[i], times v.
 */
function attendCached(qkv: Float32Array, cache: KvCache, layer: number, rows: readonly number[], pos: Int32Array): Float32Array {
  const { d, heads: H, nCtx } = cache,
    hd = d / H,
    scale = 1 / Math.sqrt(hd);
  if (hd % 4 !== 0) return attendCachedJs(qkv, cache, layer, rows, pos, new Float32Array(rows.length * d));
  // The step's qkv rows go into the cache's memory once; the kernel reads each head's q from there and
  // writes its output rows in place, so JS only makes the calls.
  const heap = new Float32Array(cache.memory.buffer);
  const { qkv: stage, q, s, y: yAt } = cache.scratch;
  heap.set(qkv, stage >> 2);
  const kBase = cache.k[layer].byteOffset,
    vBase = cache.v[layer].byteOffset;
  for (let i = 0; i < rows.length; i++) {
    const rowBytes = rows[i] * nCtx * d * 4;
    for (let h = 0; h < H; h++) {
      const off = h * hd;
      cache.attend(
        stage + (i * 3 * d + off) * 4,
        q,
        kBase + rowBytes + off * 4,
        vBase + rowBytes + off * 4,
        pos[i] + 1,
        d * 4,
        hd,
        s,
        yAt + (i * d + off) * 4,
        scale,
      );
    }
  }
  return heap.slice(yAt >> 2, (yAt >> 2) + rows.length * d);
}

/** The same in JS, for head sizes the kernel does not take (not a multiple of 4). */
function attendCachedJs(qkv: Float32Array, cache: KvCache, layer: number, rows: readonly number[], pos: Int32Array, y: Float32Array): Float32Array {
  const { d, heads: H, nCtx } = cache,
    hd = d / H,
    scale = 1 / Math.sqrt(hd);
  const K = cache.k[layer],
    V = cache.v[layer];
  const scores = new Float32Array(nCtx);
  const q = new Float32Array(hd);
  for (let i = 0; i < rows.length; i++) {
    const base = rows[i] * nCtx * d,
      P = pos[i] + 1;
    for (let h = 0; h < H; h++) {
      const off = h * hd;
      for (let c = 0; c < hd; c++) q[c] = qkv[i * 3 * d + off + c] * scale;
      let max = -Infinity;
      for (let j = 0; j < P; j++) {
        const kj = base + j * d + off;
        let s = 0;
        for (let c = 0; c < hd; c++) s += q[c] * K[kj + c];
        scores[j] = s;
        if (s > max) max = s;
      }
      let z = 0;
      for (let j = 0; j < P; j++) {
        const e = Math.exp(scores[j] - max);
        scores[j] = e;
        z += e;
      }
      const yo = i * d + off;
      for (let j = 0; j < P; j++) {
        const w = scores[j] / z,
          vj = base + j * d + off;
        for (let c = 0; c < hd; c++) y[yo + c] += w * V[vj + c];
      }
    }
  }
  return y;
}

/**
 * One new token for each of `rows` (cache rows), at the position after the row's last: runs it through
 * the model, appends its keys and values to the cache, and returns its logits [rows.length × vocab].
 */
export function decodeStep(
  c: GptConfig,
  params: Params,
  cache: KvCache,
  rows: readonly number[],
  tokens: readonly number[],
  steering?: Steering[],
): Float32Array {
  const n = rows.length,
    d = c.nEmbd;
  const pos = Int32Array.from(rows.map((r) => cache.length[r]));
  for (let i = 0; i < n; i++) if (pos[i] >= c.nCtx) throw new Error(`organism: row ${rows[i]} is at the end of the ${c.nCtx}-token context`);
  const logits = tf.tidy(() => {
    let x = tf.add(
      tf.gather(param(params, 'wte.weight'), tf.tensor1d(tokens as number[], 'int32')),
      tf.gather(param(params, 'wpe.weight'), tf.tensor1d(pos, 'int32')),
    ) as tf.Tensor2D;
    x = steer(x, steering, 0);
    for (let l = 0; l < c.nLayer; l++) {
      // The model's own block, its attention against the cache: this step's keys and values are
      // appended at each row's position, then its query attends to everything up to there.
      const attend = (qkvT: tf.Tensor2D) => {
        const qkv = qkvT.dataSync() as Float32Array;
        for (let i = 0; i < n; i++) storeKv(cache, l, qkv, i, rows[i], pos[i]);
        return tf.tensor2d(attendCached(qkv, cache, l, rows, pos), [n, d]);
      };
      x = steer(block(params, l, x, attend), steering, l + 1);
    }
    const hf = layerNorm(x, param(params, 'ln_f.weight'), param(params, 'ln_f.bias'));
    return tf.matMul(hf, param(params, 'wte.weight'), false, true);
  });
  const out = logits.dataSync() as Float32Array;
  logits.dispose();
  for (const r of rows) cache.length[r]++;
  return out;
}
