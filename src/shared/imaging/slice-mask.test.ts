import { describe, expect, it } from 'vitest';
import { cleanMask, dice, entropyMap, threshold, unletterbox, unletterboxMask } from './postprocess';
import { letterbox } from './preprocess';
import { encodeRle } from './rle';
import { encodeSliceMaskRle, SliceMasker, thresholdDice, uncertaintyRle, type SliceMask } from './slice-mask';
import { mulberry32 as rng } from '../random';

/** The full label map a SliceMask stands for. */
function expand(m: SliceMask): Uint8Array {
  const full = new Uint8Array(m.columns * m.rows);
  if (!m.bounds) return full;
  const w = m.bounds.x1 - m.bounds.x0 + 1;
  for (let y = m.bounds.y0; y <= m.bounds.y1; y++)
    full.set(m.box.subarray((y - m.bounds.y0) * w, (y - m.bounds.y0 + 1) * w), y * m.columns + m.bounds.x0);
  return full;
}

/** Blobs, specks and ring-shaped lesions (holes) on a model grid, some values exactly at the threshold. */
function probabilities(size: number, seed: number): Float32Array {
  const r = rng(seed);
  const p = new Float32Array(size * size);
  const blobs = Array.from({ length: 1 + Math.floor(r() * 4) }, () => ({
    x: r() * size,
    y: r() * size,
    s: 1 + r() * size * 0.2,
    ring: r() < 0.4,
  }));
  for (let y = 0; y < size; y++) {
    for (let x = 0; x < size; x++) {
      let v = 0;
      for (const b of blobs) {
        const d = Math.hypot(x - b.x, y - b.y) / b.s;
        v = Math.max(v, b.ring ? Math.exp(-4 * (d - 1) * (d - 1)) : Math.exp(-d * d));
      }
      p[y * size + x] = r() < 0.01 ? 0.5 : v;
    }
  }
  return p;
}

/** Count of differing values (toEqual on 480,000-element arrays takes minutes in vitest). */
function differing(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

describe('per-slice mask from the model grid', () => {
  const masker = new SliceMasker();
  const geometries: [number, number][] = [
    [256, 256],
    [512, 512],
    [800, 600],
    [300, 200],
    [64, 100],
    [128, 128],
    [97, 131],
  ];

  it('equals the reference path (resize, threshold, clean-up, RLE) on varied probability maps and geometries', () => {
    let compared = 0;
    for (const [columns, rows] of geometries) {
      const box = letterbox(columns, rows, 128, 128);
      for (let seed = 1; seed <= 3; seed++) {
        const prob = probabilities(128, seed * 7919 + columns);
        for (const [minPixels, fillHoles] of [
          [16, true],
          [1, false],
          [200, true],
          [16, false],
        ] as const) {
          const reference = cleanMask(unletterboxMask(prob, box, columns, rows, 0.5), columns, rows, minPixels, fillHoles);
          const fast = masker.mask(prob, 0, box, columns, rows, 0.5, minPixels, fillHoles);
          expect(differing(expand(fast), reference)).toBe(0);
          expect(fast.foreground).toBe(reference.reduce((s, v) => s + (v ? 1 : 0), 0));
          expect(differing(encodeSliceMaskRle(fast), encodeRle(reference))).toBe(0);
          compared++;
        }
      }
    }
    expect(compared).toBe(geometries.length * 3 * 4);
  }, 120_000);

  it('reads a plane at an offset in a batch, and gives the same mask as thresholding the full-size probabilities (TTA path)', () => {
    const box = letterbox(300, 200, 128, 128);
    const batch = new Float32Array(3 * 128 * 128);
    batch.set(probabilities(128, 42), 2 * 128 * 128);
    const fast = masker.mask(batch, 2 * 128 * 128, box, 300, 200, 0.5, 16, true);
    const reference = cleanMask(threshold(unletterbox(batch, box, 300, 200, 2 * 128 * 128), 0.5), 300, 200, 16, true);
    expect(fast.foreground).toBeGreaterThan(0);
    expect(differing(expand(fast), reference)).toBe(0);
  });

  it('handles empty, all-foreground and corner-touching masks', () => {
    const box = letterbox(256, 256, 128, 128);
    const empty = masker.mask(new Float32Array(128 * 128), 0, box, 256, 256, 0.5, 16, true);
    expect(empty.bounds).toBeNull();
    expect(encodeSliceMaskRle(empty)).toEqual(encodeRle(new Uint8Array(256 * 256)));
    const full = masker.mask(new Float32Array(128 * 128).fill(0.9), 0, box, 256, 256, 0.5, 16, true);
    expect(full.foreground).toBe(256 * 256);
    expect(encodeSliceMaskRle(full)).toEqual(encodeRle(new Uint8Array(256 * 256).fill(1)));
    for (const corner of [0, 127, 127 * 128, 128 * 128 - 1]) {
      const p = new Float32Array(128 * 128);
      p[corner] = 1;
      const reference = cleanMask(unletterboxMask(p, box, 256, 256, 0.5), 256, 256, 1, true);
      const fast = masker.mask(p, 0, box, 256, 256, 0.5, 1, true);
      expect(differing(expand(fast), reference)).toBe(0);
      expect(encodeSliceMaskRle(fast)).toEqual(encodeRle(reference));
    }
  });

  it('writes the same heat map RLE as the full-size entropy map, from the box alone', () => {
    const scratch = { heat: new Uint8Array(0) };
    for (const [columns, rows] of geometries) {
      const box = letterbox(columns, rows, 128, 128);
      for (let seed = 1; seed <= 3; seed++) {
        const prob = probabilities(128, seed * 31 + rows);
        // a faint haze just above and below the cut-off, where rounding decides
        for (let k = 0; k < prob.length; k += 97) if (prob[k]! < 1e-3) prob[k] = k % 2 ? 1.2e-4 : 0.9e-4;
        expect(
          differing(
            uncertaintyRle(prob, box, columns, rows, scratch),
            encodeRle(entropyMap(unletterbox(prob, box, columns, rows))),
          ),
        ).toBe(0);
      }
      expect(
        differing(uncertaintyRle(new Float32Array(128 * 128), box, columns, rows), encodeRle(new Uint8Array(columns * rows))),
      ).toBe(0);
    }
  });

  it('scores flip agreement as Dice of the thresholded planes', () => {
    const a = probabilities(64, 1);
    const b = probabilities(64, 2);
    const both = new Float32Array(2 * 64 * 64);
    both.set(a);
    both.set(b, 64 * 64);
    expect(thresholdDice(both, 0, both, 64 * 64, 64 * 64, 0.5)).toBe(dice(threshold(a, 0.5), threshold(b, 0.5)));
  });
});
