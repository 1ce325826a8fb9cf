/**
 * Layer norm over the last axis, fused: one SIMD pass forward (which keeps each row's mean and rstd)
 * and one backward (dx, dg and db together), as the DramatisLayerNorm(Grad) kernels, and the public
 * op `layerNorm` with its composite reference `layerNormRef`.
 */
import * as tf from '@tensorflow/tfjs';
import { at, backendOf, size, type KArgs, type TI } from './state.ts';
import { el, forLoop, hsum, type WasmFn } from './wat.ts';
import { simd } from './simd.ts';
import { customOp, fast, run } from './custom-op.ts';

// y = (x - mean) * rstd * g + b per row of [N, C]; writes mean and rstd [N].
export const layerNormWat: WasmFn = {
  name: 'layernorm',
  params: 'x:i32 g:i32 b:i32 y:i32 mean:i32 rstd:i32 N:i32 C:i32 eps:f32',
  locals: 'n:i32 j:i32 C4:i32 acc:v128 mu:f32 r:f32 t:f32 vmu:v128 vr:v128 s:f32',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      ${forLoop(
        'n',
        'i32.const 0',
        'local.get N',
        1,
        `
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `local.get acc ${el('x', 'j')} v128.load f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `local.get s ${el('x', 'j')} f32.load f32.add local.set s`)}
        local.get s local.get C f32.convert_i32_s f32.div local.tee mu f32x4.splat local.set vmu
        f32.const 0 f32x4.splat local.set acc
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('x', 'j')} v128.load local.get vmu f32x4.sub local.tee vr local.get vr f32x4.mul local.get acc f32x4.add local.set acc`)}
        ${hsum('acc')} local.set s
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('x', 'j')} f32.load local.get mu f32.sub local.tee t local.get t f32.mul local.get s f32.add local.set s`)}
        f32.const 1 local.get s local.get C f32.convert_i32_s f32.div local.get eps f32.add f32.sqrt f32.div local.tee r f32x4.splat local.set vr
        local.get mean local.get mu f32.store
        local.get rstd local.get r f32.store
        ${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el('y', 'j')} ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul ${el('g', 'j')} v128.load f32x4.mul ${el('b', 'j')} v128.load f32x4.add v128.store`)}
        ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el('y', 'j')} ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul ${el('g', 'j')} f32.load f32.mul ${el('b', 'j')} f32.load f32.add f32.store`)}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x
        local.get y local.get C i32.const 2 i32.shl i32.add local.set y
        local.get mean i32.const 4 i32.add local.set mean
        local.get rstd i32.const 4 i32.add local.set rstd`,
      )}`,
};

// dx = rstd (dy g - mean_j(dy g) - xhat mean_j(dy g xhat)); dg = Σ_n dy xhat; db = Σ_n dy.
export const layerNormGradWat: WasmFn = {
  name: 'layernorm_grad',
  params: 'dy:i32 x:i32 g:i32 mean:i32 rstd:i32 dx:i32 dg:i32 db:i32 N:i32 C:i32',
  locals: 'n:i32 j:i32 C4:i32 vmu:v128 vr:v128 xh:v128 d:v128 gd:v128 a1:v128 a2:v128 s1:f32 s2:f32 mu:f32 r:f32 txh:f32 td:f32 tgd:f32 invC:f32',
  body: `
      local.get C i32.const -4 i32.and local.set C4
      f32.const 1 local.get C f32.convert_i32_s f32.div local.set invC
      ${forLoop('j', 'i32.const 0', 'local.get C', 1, `${el('dg', 'j')} f32.const 0 f32.store ${el('db', 'j')} f32.const 0 f32.store`)}
      ${forLoop(
        'n',
        'i32.const 0',
        'local.get N',
        1,
        `
        local.get mean f32.load local.tee mu f32x4.splat local.set vmu
        local.get rstd f32.load local.tee r f32x4.splat local.set vr
        f32.const 0 f32x4.splat local.tee a1 local.set a2
        ${forLoop(
          'j',
          'i32.const 0',
          'local.get C4',
          4,
          `
          ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul local.set xh
          ${el('dy', 'j')} v128.load local.tee d ${el('g', 'j')} v128.load f32x4.mul local.set gd
          local.get a1 local.get gd f32x4.add local.set a1
          local.get a2 local.get gd local.get xh f32x4.mul f32x4.add local.set a2
          ${el('dg', 'j')} ${el('dg', 'j')} v128.load local.get d local.get xh f32x4.mul f32x4.add v128.store
          ${el('db', 'j')} ${el('db', 'j')} v128.load local.get d f32x4.add v128.store`,
        )}
        ${hsum('a1')} local.set s1
        ${hsum('a2')} local.set s2
        ${forLoop(
          'j',
          'local.get C4',
          'local.get C',
          1,
          `
          ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul local.set txh
          ${el('dy', 'j')} f32.load local.tee td ${el('g', 'j')} f32.load f32.mul local.set tgd
          local.get s1 local.get tgd f32.add local.set s1
          local.get s2 local.get tgd local.get txh f32.mul f32.add local.set s2
          ${el('dg', 'j')} ${el('dg', 'j')} f32.load local.get td local.get txh f32.mul f32.add f32.store
          ${el('db', 'j')} ${el('db', 'j')} f32.load local.get td f32.add f32.store`,
        )}
        local.get s1 local.get invC f32.mul local.tee s1 f32x4.splat local.set a1
        local.get s2 local.get invC f32.mul local.tee s2 f32x4.splat local.set a2
        ${forLoop(
          'j',
          'i32.const 0',
          'local.get C4',
          4,
          `
          ${el('dx', 'j')}
          ${el('dy', 'j')} v128.load ${el('g', 'j')} v128.load f32x4.mul local.get a1 f32x4.sub
          ${el('x', 'j')} v128.load local.get vmu f32x4.sub local.get vr f32x4.mul local.get a2 f32x4.mul f32x4.sub
          local.get vr f32x4.mul v128.store`,
        )}
        ${forLoop(
          'j',
          'local.get C4',
          'local.get C',
          1,
          `
          ${el('dx', 'j')}
          ${el('dy', 'j')} f32.load ${el('g', 'j')} f32.load f32.mul local.get s1 f32.sub
          ${el('x', 'j')} f32.load local.get mu f32.sub local.get r f32.mul local.get s2 f32.mul f32.sub
          local.get r f32.mul f32.store`,
        )}
        local.get x local.get C i32.const 2 i32.shl i32.add local.set x
        local.get dy local.get C i32.const 2 i32.shl i32.add local.set dy
        local.get dx local.get C i32.const 2 i32.shl i32.add local.set dx
        local.get mean i32.const 4 i32.add local.set mean
        local.get rstd i32.const 4 i32.add local.set rstd`,
      )}`,
};

/** y = (x − mean)·rstd·g + b over the last axis; also returns mean and rstd [N] for the gradient. */
export function layerNormKernel({ inputs: { x, g, b }, attrs, backend }: KArgs<{ x: TI; g: TI; b: TI }>): TI[] {
  const be = backendOf(backend);
  const eps = attrs.eps as number;
  const C = x.shape[x.shape.length - 1],
    N = size(x.shape) / C;
  const y = be.makeOutput(x.shape, 'float32'),
    mean = be.makeOutput([N], 'float32'),
    rstd = be.makeOutput([N], 'float32');
  simd().layernorm(at(x) << 2, at(g) << 2, at(b) << 2, at(y) << 2, at(mean) << 2, at(rstd) << 2, N, C, eps);
  return [y, mean, rstd];
}

export function layerNormGradKernel({ inputs: { dy, x, g, mean, rstd }, backend }: KArgs<{ dy: TI; x: TI; g: TI; mean: TI; rstd: TI }>): TI[] {
  const be = backendOf(backend);
  const C = x.shape[x.shape.length - 1],
    N = size(x.shape) / C;
  const dx = be.makeOutput(x.shape, 'float32'),
    dg = be.makeOutput([C], 'float32'),
    db = be.makeOutput([C], 'float32');
  simd().layernorm_grad(at(dy) << 2, at(x) << 2, at(g) << 2, at(mean) << 2, at(rstd) << 2, at(dx) << 2, at(dg) << 2, at(db) << 2, N, C);
  return [dx, dg, db];
}

/** Reference layer norm over the last axis, from standard ops. */
export function layerNormRef(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return x
    .sub(mean)
    .mul(tf.rsqrt(variance.add(eps)))
    .mul(g)
    .add(b) as tf.Tensor2D;
}
export function layerNorm(x: tf.Tensor2D, g: tf.Tensor, b: tf.Tensor, eps = 1e-5): tf.Tensor2D {
  if (!fast()) return layerNormRef(x, g, b, eps);
  const f = customOp(([xx, gg, bb], save) => {
    const [y, mean, rstd] = run('DramatisLayerNorm', { x: xx, g: gg, b: bb }, { eps });
    save([xx, gg, mean, rstd]);
    return {
      value: y,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sg, sm, sr] = saved;
        return run('DramatisLayerNormGrad', { dy, x: sx, g: sg, mean: sm, rstd: sr });
      },
    };
  });
  return f(x, g, b) as tf.Tensor2D;
}
