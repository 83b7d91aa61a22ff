// The WebAssembly SIMD kernel of the multi-class post-processing (softmax.wat): the softmax of
// class planes in place and their normalised entropy, four pixels at a time in float32. The
// JavaScript path (multiclass.ts softmaxPlanes) computes the same in float64 per pixel; this one
// differs from it by float32 rounding (the tests bound it) and takes a fraction of its time
// (tests/bench/postprocess-multiclass.ts). Where WebAssembly SIMD is missing the caller keeps
// the JavaScript path.
import { SOFTMAX_WASM } from './softmax-wasm';

interface SoftmaxExports {
  memory: WebAssembly.Memory;
  softmax(base: number, classes: number, plane: number, from: number, count: number, norm: number): number;
}

let loaded: SoftmaxExports | null | undefined;

function kernel(): SoftmaxExports | null {
  if (loaded === undefined) {
    try {
      const bytes = Uint8Array.from(atob(SOFTMAX_WASM), (c) => c.charCodeAt(0));
      loaded = new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports as unknown as SoftmaxExports;
    } catch {
      loaded = null; // no WebAssembly SIMD here
    }
  }
  return loaded;
}

/** Whether this runtime runs the kernel (WebAssembly with SIMD); without it the callers keep the JavaScript path. */
export function softmaxKernelAvailable(): boolean {
  return kernel() !== null;
}

/**
 * Runs `body` with the kernel on a copy of the C×plane block of `values` at `offset` (classes
 * planes of `plane` values), then copies the block back: `softmax(from, count)` turns the pixels
 * from … from + count − 1 of every plane (count a multiple of 4) into class probabilities in
 * place and returns the sum of their normalised entropy H / ln C. Pixels `body` does not pass
 * come back unchanged. Returns `body`'s result, or null (and calls nothing) without WebAssembly
 * SIMD.
 */
export function withSoftmaxKernel(
  values: Float32Array,
  offset: number,
  classes: number,
  plane: number,
  body: (softmax: (from: number, count: number) => number) => number,
): number | null {
  const k = kernel();
  if (!k) return null;
  const floats = classes * plane;
  const pages = Math.ceil((floats * 4) / 65536);
  const have = k.memory.buffer.byteLength / 65536;
  if (pages > have) k.memory.grow(pages - have);
  const memory = new Float32Array(k.memory.buffer, 0, floats);
  memory.set(values.subarray(offset, offset + floats));
  const norm = 1 / Math.log(classes);
  const result = body((from, count) => k.softmax(0, classes, plane, from, count, norm));
  values.set(memory, offset);
  return result;
}
