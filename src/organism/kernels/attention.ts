/**
 * Causal multi-head self-attention, fused: the forward (head split, scores, softmax, weighted sum)
 * and backward as the DramatisAttention(Grad) kernels, every product a 2-D XNNPACK call on one head
 * and one causal row block; the SIMD kernels they use for head split/merge, the softmax backward and
 * its row term; and the public op `causalSelfAttention` with its composite reference.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, f32, release, scratch, view, type KArgs, type TI } from './state.ts';
import { el, forLoop, hsum, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';
import { customOp, fast, run } from './custom-op.ts';
import { gemm } from './matmul.ts';
import { transpose2d, transposeStrided } from './data-movement.ts';

// dst[r·ds + c] = src[r·ss + c] · scale for r < R, c < C (strides in elements).
export const copy2dWat: WasmFn = {
  name: 'copy2d',
  params: 'src:i32 ss:i32 dst:i32 ds:i32 R:i32 C:i32 scale:f32',
  locals: 'r:i32 j:i32 C4:i32 vs:v128',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      local.get scale f32x4.splat local.set vs
      ${forLoop(
        'r',
        'i32.const 0',
        'local.get R',
        1,
        `
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('dst', 'j')} ${el('src', 'j')} v128.load local.get vs f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('dst', 'j')} ${el('src', 'j')} f32.load local.get scale f32.mul f32.store`)}
        local.get src local.get ss i32.const 2 i32.shl i32.add local.set src
        local.get dst local.get ds i32.const 2 i32.shl i32.add local.set dst`,
      )}`,
};

// out[r] = Σ_c a[r·as + c] · b[r·bs + c]
export const rowDotsWat: WasmFn = {
  name: 'row_dots',
  params: 'a:i32 as:i32 b:i32 bs:i32 R:i32 C:i32 out:i32',
  locals: 'r:i32 j:i32 C4:i32 acc:v128 s:f32',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop(
        'r',
        'i32.const 0',
        'local.get R',
        1,
        `
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `local.get acc ${el('a', 'j')} v128.load ${el('b', 'j')} v128.load f32x4.mul f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `local.get s ${el('a', 'j')} f32.load ${el('b', 'j')} f32.load f32.mul f32.add local.set s`)}
        ${el('out', 'r')} local.get s f32.store
        local.get a local.get as i32.const 2 i32.shl i32.add local.set a
        local.get b local.get bs i32.const 2 i32.shl i32.add local.set b`,
      )}`,
};

// ds[i, j] = p[i, j] · (ds[i, j] − D[i]) over a row-major [R, W] (the softmax backward).
export const softmaxBwdRowsWat: WasmFn = {
  name: 'softmax_bwd_rows',
  params: 'ds:i32 p:i32 D:i32 R:i32 W:i32',
  locals: 'i:i32 j:i32 W4:i32 d:f32 vd:v128',
  body: `
      local.get W i32.const -4 i32.and local.set W4
      ${forLoop(
        'i',
        'i32.const 0',
        'local.get R',
        1,
        `
        ${el('D', 'i')} f32.load local.tee d f32x4.splat local.set vd
        ${forLoop('j', 'i32.const 0', 'local.get W4', 4, `${el('ds', 'j')} ${el('p', 'j')} v128.load ${el('ds', 'j')} v128.load local.get vd f32x4.sub f32x4.mul v128.store`)}
        ${forLoop('j', 'local.get W4', 'local.get W', 1, `${el('ds', 'j')} ${el('p', 'j')} f32.load ${el('ds', 'j')} f32.load local.get d f32.sub f32.mul f32.store`)}
        local.get ds local.get W i32.const 2 i32.shl i32.add local.set ds
        local.get p local.get W i32.const 2 i32.shl i32.add local.set p`,
      )}`,
};

/**
 * Causal blocking for attention: rows are cut into blocks of about 64; row block r only needs the
 * key columns [0, e[r+1]), so products and probabilities are stored "ragged" (block r is R_r × e[r+1])
 * and the upper triangle is never computed beyond the diagonal blocks (62.5% of the work at T = 256).
 */
interface Blocks {
  e: number[];
  nb: number;
  off: number[];
  perHead: number;
}
function blocksFor(T: number): Blocks {
  const nb = Math.max(1, Math.round(T / 64));
  const e = Array.from({ length: nb + 1 }, (_, r) => Math.round((r * T) / nb));
  const off: number[] = [];
  let perHead = 0;
  for (let r = 0; r < nb; r++) {
    off.push(perHead);
    perHead += (e[r + 1] - e[r]) * e[r + 1];
  }
  return { e, nb, off, perHead };
}

/**
 * Causal multi-head self-attention core. qkv [B·T, 3d] (the c_attn output, q|k|v along columns),
 * attrs {batch, heads}; outputs y [B·T, d] and, for the gradient, q (pre-scaled by 1/√hd), k, v as
 * [B·H, T, hd] and the attention probabilities p (ragged causal blocks, see blocksFor). Every product
 * is a 2-D XNNPACK call on one head and one row block.
 */
export function attentionKernel({ inputs: { qkv }, attrs, backend }: KArgs<{ qkv: TI }>): TI[] {
  const be = backendOf(backend);
  const B = attrs.batch as number,
    H = attrs.heads as number;
  const T = qkv.shape[0] / B,
    d3 = qkv.shape[1],
    d = d3 / 3,
    hd = d / H,
    BH = B * H;
  if (!Number.isInteger(T) || !Number.isInteger(hd) || qkv.shape.length !== 2) {
    throw new Error(`causalSelfAttention: qkv [${qkv.shape}] does not split into batch ${B} and ${H} heads`);
  }
  const scale = 1 / Math.sqrt(hd);
  const bl = blocksFor(T);
  const y = be.makeOutput([B * T, d], 'float32');
  const q = be.makeOutput([BH, T, hd], 'float32'),
    k = be.makeOutput([BH, T, hd], 'float32'),
    v = be.makeOutput([BH, T, hd], 'float32');
  const p = be.makeOutput([BH * bl.perHead], 'float32');
  const kT = scratch(hd * T),
    yh = scratch(T * hd);
  let h = f32();
  const S = simd();
  const src = at(qkv),
    qo = at(q),
    ko = at(k),
    vo = at(v),
    po = at(p),
    yo = at(y);
  // split heads: [B, T, 3, H, hd] -> 3 × [B, H, T, hd], q scaled
  for (let b = 0; b < B; b++) {
    for (let hh = 0; hh < H; hh++) {
      const from = src + b * T * d3 + hh * hd,
        to = (b * H + hh) * T * hd;
      S.copy2d(from << 2, d3, (qo + to) << 2, hd, T, hd, scale);
      S.copy2d((from + d) << 2, d3, (ko + to) << 2, hd, T, hd, 1);
      S.copy2d((from + 2 * d) << 2, d3, (vo + to) << 2, hd, T, hd, 1);
    }
  }
  const pAt = (r: number, bh: number) => po + BH * bl.off[r] + bh * (bl.e[r + 1] - bl.e[r]) * bl.e[r + 1];
  // scores of each row block against its key prefix, straight into p; mask the diagonal block
  for (let bh = 0; bh < BH; bh++) {
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r],
        W = bl.e[r + 1],
        R = W - e0;
      transpose2d(ko + bh * T * hd, kT, W, hd);
      const out = pAt(r, bh);
      gemm(qo + (bh * T + e0) * hd, R, hd, kT, W, out);
      h = f32();
      for (let i = 0; i + 1 < R; i++) h.fill(-1e30, out + i * W + e0 + i + 1, out + (i + 1) * W);
    }
  }
  // softmax in place, one XNNPACK call per row block (all heads)
  for (let r = 0; r < bl.nb; r++) {
    const W = bl.e[r + 1],
      R = W - bl.e[r];
    const ip = view(pAt(r, 0), BH * R * W);
    be.wasm._Softmax(ip, ip, W, BH * R);
    be.wasm.tfjs.disposeData(ip);
  }
  for (let bh = 0; bh < BH; bh++) {
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r],
        W = bl.e[r + 1],
        R = W - e0;
      gemm(pAt(r, bh), R, W, vo + bh * T * hd, hd, yh + e0 * hd);
    }
    const b = Math.floor(bh / H),
      hh = bh % H;
    S.copy2d(yh << 2, hd, (yo + b * T * d + hh * hd) << 2, d, T, hd, 1);
  }
  release(kT);
  release(yh);
  return [y, q, k, v, p];
}

export function attentionGradKernel({ inputs: { dy, y, q, k, v, p }, attrs, backend }: KArgs<{ dy: TI; y: TI; q: TI; k: TI; v: TI; p: TI }>): TI {
  const be = backendOf(backend);
  const B = attrs.batch as number,
    H = attrs.heads as number;
  const [BH, T, hd] = q.shape;
  const d = H * hd,
    d3 = 3 * d;
  const scale = 1 / Math.sqrt(hd);
  const bl = blocksFor(T);
  const dqkv = be.makeOutput([B * T, d3], 'float32');
  const dyh = scratch(T * hd),
    vT = scratch(hd * T),
    dS = scratch(bl.perHead),
    A = scratch(T * T);
  const dq = scratch(T * hd),
    dk = scratch(T * hd),
    dv = scratch(T * hd),
    D = scratch(T);
  const dyo = at(dy),
    yo = at(y),
    qo = at(q),
    ko = at(k),
    vo = at(v),
    po = at(p),
    out = at(dqkv);
  const S = simd();
  for (let bh = 0; bh < BH; bh++) {
    const b = Math.floor(bh / H),
      hh = bh % H;
    const qh = qo + bh * T * hd,
      kh = ko + bh * T * hd,
      vh = vo + bh * T * hd;
    const pAt = (r: number) => po + BH * bl.off[r] + bh * (bl.e[r + 1] - bl.e[r]) * bl.e[r + 1];
    // this head's dy, and D_t = dy_t · y_t (= Σ_j dP_tj P_tj, the softmax-backward row term)
    const headCol = b * T * d + hh * hd;
    S.copy2d((dyo + headCol) << 2, d, dyh << 2, hd, T, hd, 1);
    S.row_dots((dyo + headCol) << 2, d, (yo + headCol) << 2, d, T, hd, D << 2);
    for (let r = 0; r < bl.nb; r++) {
      const e0 = bl.e[r],
        W = bl.e[r + 1],
        R = W - e0;
      const ds = dS + bl.off[r],
        pr = pAt(r);
      transpose2d(vh, vT, W, hd);
      gemm(dyh + e0 * hd, R, hd, vT, W, ds); // dP = dy·vᵀ
      S.softmax_bwd_rows(ds << 2, pr << 2, (D + e0) << 2, R, W); // dS = p ⊙ (dP − D)
      gemm(ds, R, W, kh, hd, dq + e0 * hd); // dq_scaled = dS·k
    }
    // column blocks: dk_c = Σ_{r≥c} dS_r[:, c]ᵀ q_r and dv_c = Σ_{r≥c} p_r[:, c]ᵀ dy_r, as one product each
    for (let c = 0; c < bl.nb; c++) {
      const c0 = bl.e[c],
        Rc = bl.e[c + 1] - c0,
        span = T - c0;
      for (let r = c; r < bl.nb; r++) {
        const W = bl.e[r + 1],
          R = W - bl.e[r];
        transposeStrided(dS + bl.off[r] + c0, W, A + (bl.e[r] - c0), span, R, Rc);
      }
      gemm(A, Rc, span, qh + c0 * hd, hd, dk + c0 * hd);
      for (let r = c; r < bl.nb; r++) {
        const W = bl.e[r + 1],
          R = W - bl.e[r];
        transposeStrided(pAt(r) + c0, W, A + (bl.e[r] - c0), span, R, Rc);
      }
      gemm(A, Rc, span, dyh + c0 * hd, hd, dv + c0 * hd);
    }
    const to = out + b * T * d3 + hh * hd;
    S.copy2d(dq << 2, hd, to << 2, d3, T, hd, scale);
    S.copy2d(dk << 2, hd, (to + d) << 2, d3, T, hd, 1);
    S.copy2d(dv << 2, hd, (to + 2 * d) << 2, d3, T, hd, 1);
  }
  for (const w of [dyh, vT, dS, A, dq, dk, dv, D]) release(w);
  return dqkv;
}

const maskCache = new Map<number, tf.Tensor2D>();
/** Additive causal mask [T, T]: 0 on and below the diagonal, −1e9 above; kept for the process. */
function causalMask(T: number): tf.Tensor2D {
  let m = maskCache.get(T);
  if (!m || m.isDisposed) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    m = tf.keep(tf.tensor2d(data, [T, T]));
    maskCache.set(T, m);
  }
  return m;
}

/** Reference causal self-attention from standard ops: qkv [B·T, 3d] → y [B·T, d]. */
export function causalSelfAttentionRef(qkv: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  const B = batch,
    H = heads,
    T = qkv.shape[0] / B,
    d = qkv.shape[1] / 3,
    hd = d / H;
  const [q, k, v] = tf.split(qkv, 3, 1).map(
    (t) =>
      t
        .reshape([B, T, H, hd])
        .transpose([0, 2, 1, 3])
        .reshape([B * H, T, hd]) as tf.Tensor3D,
  );
  const att = tf.softmax(tf.matMul(q.mul(1 / Math.sqrt(hd)), k, false, true).add(causalMask(T)), -1) as tf.Tensor3D;
  return tf
    .matMul(att, v)
    .reshape([B, H, T, hd])
    .transpose([0, 2, 1, 3])
    .reshape([B * T, d]) as tf.Tensor2D;
}
export function causalSelfAttention(qkv: tf.Tensor2D, batch: number, heads: number): tf.Tensor2D {
  if (!fast()) return causalSelfAttentionRef(qkv, batch, heads);
  const attrs = { batch, heads };
  const f = customOp(([x], save) => {
    const [y, q, k, v, p] = run('DramatisAttention', { qkv: x }, attrs);
    save([y, q, k, v, p]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sy, sq, sk, sv, sp] = saved;
        return run('DramatisAttentionGrad', { dy, y: sy, q: sq, k: sk, v: sv, p: sp }, attrs);
      },
    };
  });
  return f(qkv) as tf.Tensor2D;
}
