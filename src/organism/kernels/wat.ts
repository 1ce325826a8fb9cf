/**
 * Helpers for writing the SIMD kernels in WebAssembly text, and the assembly of the module text.
 *
 * Each op family declares its own kernels as `WasmFn`s (name, params, locals, a body in the text
 * format) next to the JS that calls them; register.ts lists them all and simd.ts assembles them into
 * one module. The helpers here are the control flow and addressing idioms the bodies share.
 */

export interface WasmFn {
  name: string;
  params: string;
  locals?: string;
  body: string;
}

/** `a:i32 b:f32` → `(param $a i32) (param $b f32)` (or `local`). */
function declsWat(kind: 'param' | 'local', s: string | undefined): string {
  return (s ?? '')
    .trim()
    .split(/\s+/)
    .filter(Boolean)
    .map((d) => {
      const [n, t] = d.split(':');
      return `(${kind} $${n} ${t})`;
    })
    .join(' ');
}

/** The kernels as one WebAssembly text module importing tfjs's memory as `env.memory`. */
export function simdModuleText(fns: WasmFn[]): string {
  const funcs = fns.map((f) => {
    // Bodies name locals bare (`local.get x`) for readability; the text format wants `$x`.
    const body = f.body.replace(/\b(local\.(?:get|set|tee))\s+([A-Za-z_]\w*)/g, '$1 $$$2');
    return `(func $${f.name} (export "${f.name}") ${declsWat('param', f.params)} ${declsWat('local', f.locals)}\n${body})`;
  });
  return `(module (import "env" "memory" (memory 1))\n${funcs.join('\n')})`;
}

/** `for (v = from; v < to; v += step) { body }` */
export const forLoop = (v: string, from: string, to: string, step: number, body: string) => `
  ${from} local.set ${v}
  block loop
    local.get ${v} ${to} i32.ge_s br_if 1
    ${body}
    local.get ${v} i32.const ${step} i32.add local.set ${v}
    br 0
  end end`;

/** horizontal sum of the f32x4 local `v`, left on the stack as one f32 */
export const hsum = (v: string) =>
  `local.get ${v} f32x4.extract_lane 0 local.get ${v} f32x4.extract_lane 1 f32.add local.get ${v} f32x4.extract_lane 2 f32.add local.get ${v} f32x4.extract_lane 3 f32.add`;
/** address of element `i` (an i32 local, in elements) of array `p` (a byte pointer local) */
export const el = (p: string, i: string) => `local.get ${p} local.get ${i} i32.const 2 i32.shl i32.add`;

/** dst[j] += src[j] for j < C: SIMD over the first C4 (= C rounded down to 4), then the tail; uses local j. */
export const addRowInto = (dst: string, src: string) =>
  `${forLoop('j', 'i32.const 0', 'local.get C4', 4, `${el(dst, 'j')} ${el(dst, 'j')} v128.load ${el(src, 'j')} v128.load f32x4.add v128.store`)}
   ${forLoop('j', 'local.get C4', 'local.get C', 1, `${el(dst, 'j')} ${el(dst, 'j')} f32.load ${el(src, 'j')} f32.load f32.add f32.store`)}`;
