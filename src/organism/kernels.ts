/**
 * Kernel overrides and additions for the tfjs wasm backend.
 *
 * Why by hand: tfjs-backend-wasm 4.22 has no UnsortedSegmentSum (so gather, i.e. the embedding, cannot
 * be trained), and only plain 2-D matMul reaches XNNPACK's fast path. No library provides these.
 */
import * as tf from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

let registered = false;

export function registerFastKernels(): void {
  if (registered) return;
  registered = true;
  tf.registerKernel({
    kernelName: 'UnsortedSegmentSum',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as BackendWasm;
      const { x, segmentIds } = inputs as { x: tf.TensorInfo; segmentIds: tf.TensorInfo };
      const numSegments = (attrs as { numSegments: number }).numSegments;
      const rowSize = x.shape.slice(1).reduce((a, b) => a * b, 1);
      const rows = x.shape[0];
      const out = wasm.makeOutput([numSegments, ...x.shape.slice(1)], x.dtype);
      const dst = wasm.typedArrayFromHeap(out) as Float32Array;
      dst.fill(0);
      const src = wasm.typedArrayFromHeap(x) as Float32Array;
      const ids = wasm.typedArrayFromHeap(segmentIds) as Int32Array;
      for (let r = 0; r < rows; r++) {
        const s = ids[r];
        if (s < 0 || s >= numSegments) continue;
        const o = s * rowSize, i = r * rowSize;
        for (let j = 0; j < rowSize; j++) dst[o + j] += src[i + j];
      }
      return out;
    },
  });
}
