// The WebAssembly softmax kernel agrees with the JavaScript path it speeds up (multiclass.ts
// softmaxPlanes); tests/lint/wasm-build.test.ts checks its bytes are what softmax.wat compiles to.
import { describe, expect, it } from 'vitest';
import { softmaxArgmax, softmaxArgmaxFast, softmaxLetterbox, softmaxPlanes, softmaxWhole } from '../multiclass';
import type { Letterbox } from '../preprocess';
import { softmaxKernelAvailable } from './softmax';

describe('WebAssembly kernels', () => {
  it('the kernel loads here (Node and Electron have WebAssembly SIMD; without it the JavaScript path runs)', () => {
    expect(softmaxKernelAvailable()).toBe(true);
  });

  /** Seeded logits: C planes of width × height, spread over ±span around a background lead. */
  function logits(classes: number, width: number, height: number, span: number, seed: number): Float32Array {
    let s = seed;
    const rnd = () => (s = (s * 16807) % 2147483647) / 2147483647;
    const out = new Float32Array(classes * width * height);
    for (let i = 0; i < out.length; i++) out[i] = (rnd() - 0.5) * 2 * span + (i < width * height ? span / 2 : 0);
    return out;
  }

  const box = (width: number, height: number, scaledWidth: number, scaledHeight: number): Letterbox => ({
    width,
    height,
    scaledWidth,
    scaledHeight,
    offsetX: Math.floor((width - scaledWidth) / 2),
    offsetY: Math.floor((height - scaledHeight) / 2),
    scale: scaledWidth / width,
  });

  it.each([
    [2, 64, 64, 5],
    [5, 128, 128, 10],
    [5, 127, 90, 40],
    [14, 33, 17, 80],
    [255, 8, 7, 3],
  ])(
    'softmax and entropy with %i classes in a %i×%i letterbox (spread %i): within float32 rounding of the JavaScript path, padding untouched',
    (classes, scaledWidth, scaledHeight, span) => {
      const b = box(128, 128, scaledWidth, scaledHeight);
      const source = logits(classes, 128, 128, span, classes * 1000 + scaledWidth);
      const js = source.slice();
      const simd = source.slice();
      const hJs = softmaxLetterbox(js, 0, classes, b, false);
      const hSimd = softmaxLetterbox(simd, 0, classes, b, true);
      expect(Math.abs(hJs - hSimd)).toBeLessThan(1e-6);
      let maxDiff = 0;
      for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - simd[i]!));
      expect(maxDiff).toBeLessThan(1e-6);
      // Outside the letterbox the logits are as they were (never read downstream, never written).
      const plane = 128 * 128;
      for (let c = 0; c < classes; c++)
        for (const k of [0, b.offsetY * 128 + b.offsetX - 1, plane - 1])
          if (k >= 0 && (k < b.offsetY * 128 || k >= (b.offsetY + b.scaledHeight) * 128 || k % 128 < b.offsetX))
            expect(simd[c * plane + k]).toBe(source[c * plane + k]);
      // Each pixel's probabilities sum to 1.
      const k = (b.offsetY + 1) * 128 + b.offsetX + 1;
      let sum = 0;
      for (let c = 0; c < classes; c++) sum += simd[c * plane + k]!;
      expect(sum).toBeCloseTo(1, 5);
    },
  );

  it('a class more than 30 below the top gets probability 0 exactly, as in the JavaScript path', () => {
    const b = box(8, 8, 8, 8);
    const l = new Float32Array(3 * 64);
    for (let k = 0; k < 64; k++) {
      l[k] = 10;
      l[64 + k] = 10 - 30.5;
      l[128 + k] = 10 - 29.5;
    }
    softmaxLetterbox(l, 0, 3, b, true);
    expect(l[64]).toBe(0);
    expect(l[128]).toBeGreaterThan(0);
    expect(l[128]).toBeCloseTo(Math.exp(-29.5), 18);
  });

  it('softmaxWhole (the 3D patches): whole planes, a plane size not a multiple of 4, as the JavaScript path', () => {
    for (const plane of [32 * 32 * 32, 1001]) {
      const source = logits(5, plane, 1, 12, plane);
      const js = source.slice();
      const simd = source.slice();
      const hJs = softmaxPlanes(js, 0, 5, plane, 0, plane);
      const hSimd = softmaxWhole(simd, 0, 5, plane);
      expect(Math.abs(hJs - hSimd) / plane).toBeLessThan(1e-6);
      let maxDiff = 0;
      for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - simd[i]!));
      expect(maxDiff).toBeLessThan(1e-6);
    }
  });

  it('softmaxArgmaxFast (the TTA path): the same argmax as softmaxArgmax, probabilities within 1e-6', () => {
    const plane = 64 * 64;
    const source = logits(5, 64, 64, 10, 77);
    // Ties between classes resolve to the lower class in both.
    for (let k = 0; k < 50; k++) source[2 * plane + k] = source[plane + k]!;
    const js = source.slice();
    const fast = source.slice();
    const a = new Uint8Array(plane);
    const b = new Uint8Array(plane);
    softmaxArgmax(js, 0, 5, plane, a);
    softmaxArgmaxFast(fast, 0, 5, plane, b);
    expect(b).toEqual(a);
    let maxDiff = 0;
    for (let i = 0; i < js.length; i++) maxDiff = Math.max(maxDiff, Math.abs(js[i]! - fast[i]!));
    expect(maxDiff).toBeLessThan(1e-6);
  });
});
