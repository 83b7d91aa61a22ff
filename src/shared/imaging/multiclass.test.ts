import { describe, expect, it } from 'vitest';
import { cleanMask, flipPlanes } from './postprocess';
import { letterbox, resizeBilinear, type Letterbox } from './preprocess';
import { encodeRle, decodeRle } from './rle';
import { decodeHeatMap, isGridHeatMap } from './heat-map';
import {
  addFlipped,
  cleanLabels,
  entropyPlane,
  entropyRle,
  gridHeatMap,
  labelAgreement,
  SliceLabeler,
  SoftmaxSlices,
  softmaxLetterbox,
  softmaxPlanes,
  unletterboxLabels,
} from './multiclass';
import { encodeSliceMaskRle } from './slice-mask';
import { mulberry32 as rng } from '../random';

/** Logits C×H×W on a model grid: class k ≥ 1 strong inside its own blobs (nested or apart), background elsewhere. */
function logits(size: number, classes: number, seed: number, floor = -6): Float32Array {
  const r = rng(seed);
  const plane = size * size;
  const out = new Float32Array(classes * plane);
  for (let c = 1; c < classes; c++) {
    const blobs = Array.from({ length: 1 + Math.floor(r() * 3) }, () => ({
      x: r() * size,
      y: r() * size,
      s: 2 + r() * size * 0.15,
    }));
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let v = floor;
        for (const b of blobs) v = Math.max(v, 6 - (6 * Math.hypot(x - b.x, y - b.y)) / b.s);
        out[c * plane + y * size + x] = v + (r() - 0.5);
      }
  }
  return out;
}

function differing(a: Uint8Array, b: Uint8Array): number {
  if (a.length !== b.length) return Math.max(a.length, b.length);
  let n = 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) n++;
  return n;
}

/** A model-grid block with the letterboxed slice's class probabilities given per pixel. */
function probabilitiesOf(box: Letterbox, classes: number, at: (x: number, y: number) => number[]): Float32Array {
  const plane = box.width * box.height;
  const p = new Float32Array(classes * plane);
  for (let y = 0; y < box.height; y++)
    for (let x = 0; x < box.width; x++) {
      const v = at(x, y);
      for (let c = 0; c < classes; c++) p[c * plane + y * box.width + x] = v[c]!;
    }
  return p;
}

describe('softmax, argmax and label values', () => {
  it('softmax sums to 1 per pixel and its entropy is normalised by log C', () => {
    const l = new Float32Array([0, 5, 0, 0, 0, -5]); // 3 classes × 2 pixels
    const h = softmaxPlanes(l, 0, 3, 2, 0, 2);
    expect(l[0]! + l[2]! + l[4]!).toBeCloseTo(1, 6);
    expect(l[0]).toBeCloseTo(1 / 3, 6); // pixel 0: uniform → entropy 1
    expect(l[1]).toBeGreaterThan(0.99); // pixel 1: background sure
    const e1 = -(l[1]! * Math.log(l[1]!) + l[3]! * Math.log(l[3]!) + l[5]! * Math.log(l[5]!)) / Math.log(3);
    expect(h).toBeCloseTo(1 + e1, 6);
  });

  it('paints the argmax class as its label value, background where class 0 wins', () => {
    const box = letterbox(4, 4, 4, 4);
    // columns 0: background, 1: class 1, 2: class 2, 3: class 3
    const p = probabilitiesOf(box, 4, (x) => [0, 1, 2, 3].map((c) => (c === x ? 0.7 : 0.1)));
    const values = [3, 7, 9];
    const m = new SliceLabeler().labels(p, 0, 4, box, 4, 4, values, 0, false);
    const full = decodeRle(encodeRle(unletterboxLabels(p, 0, 4, box, 4, 4, values)), 16);
    expect([...full.subarray(0, 4)]).toEqual([0, 3, 7, 9]);
    expect(m.foreground).toBe(12);
    expect(m.bounds).not.toBeNull();
    expect(decodeRle(encodeSliceMaskRle(m), 16)).toEqual(full);
  });

  it('equals the full resample + argmax + per-label clean-up, byte for byte, at many geometries', () => {
    const labeler = new SliceLabeler();
    const values = [1, 2, 4, 5];
    for (const [columns, rows] of [
      [256, 256],
      [512, 512],
      [300, 200],
      [97, 131],
      [64, 100],
    ] as const) {
      for (let seed = 1; seed <= 4; seed++) {
        const box = letterbox(columns, rows, 64, 64);
        const l = logits(64, 5, seed * 31 + columns);
        softmaxPlanes(l, 0, 5, 64 * 64, 0, 64 * 64);
        for (const [minPixels, fill] of [
          [0, false],
          [16, true],
        ] as const) {
          const ref = unletterboxLabels(l, 0, 5, box, columns, rows, values);
          cleanLabels(ref, columns, rows, minPixels, fill);
          const m = labeler.labels(l, 0, 5, box, columns, rows, values, minPixels, fill);
          const full = new Uint8Array(columns * rows);
          if (m.bounds) {
            const w = m.bounds.x1 - m.bounds.x0 + 1;
            for (let y = m.bounds.y0; y <= m.bounds.y1; y++)
              full.set(m.box.subarray((y - m.bounds.y0) * w, (y - m.bounds.y0 + 1) * w), y * columns + m.bounds.x0);
          }
          expect(differing(full, ref), `${columns}×${rows} seed ${seed}`).toBe(0);
          expect(m.foreground).toBe(ref.filter((v) => v !== 0).length);
          expect(new Set(ref)).not.toContain(3);
        }
      }
    }
  });
});

describe('per-label clean-up', () => {
  const parse = (rows: string[]) => ({
    w: rows[0]!.length,
    h: rows.length,
    m: Uint8Array.from(rows.join('').split('').map(Number)),
  });
  const show = (m: Uint8Array, w: number) =>
    Array.from({ length: m.length / w }, (_, y) => [...m.subarray(y * w, (y + 1) * w)].join(''));

  it('drops small components of each label and fills each label’s holes with that label only', () => {
    const { w, h, m } = parse([
      '000000000000',
      '011111002220',
      '010001002020',
      '010201002220',
      '010001000000',
      '011111000030',
      '000000000000',
    ]);
    cleanLabels(m, w, h, 2, true);
    expect(show(m, w)).toEqual([
      '000000000000',
      '011111002220',
      '011111002220',
      '011111002220',
      '011111000000',
      '011111000000',
      '000000000000',
    ]);
  });

  it('keeps a label inside another and gives a pocket to the innermost label enclosing it', () => {
    const { w, h, m } = parse([
      '000000000',
      '011111110',
      '010000010',
      '010444010',
      '010404010',
      '010444010',
      '010000010',
      '011111110',
      '000000000',
    ]);
    cleanLabels(m, w, h, 0, true);
    expect(show(m, w)).toEqual([
      '000000000',
      '011111110',
      '011111110',
      '011444110',
      '011444110',
      '011444110',
      '011111110',
      '011111110',
      '000000000',
    ]);
  });

  it('is cleanMask exactly when there is one label', () => {
    for (let seed = 1; seed <= 20; seed++) {
      const r = rng(seed);
      const a = Uint8Array.from({ length: 40 * 30 }, () => (r() < 0.55 ? 1 : 0));
      const b = a.slice();
      cleanMask(a, 40, 30, 5, true);
      cleanLabels(b, 40, 30, 5, true);
      expect(differing(a, b)).toBe(0);
    }
  });
});

describe('uncertainty from the TTA of the softmax', () => {
  it('averages the flips’ softmax before the argmax and the entropy; disagreement shows in the heat map and the agreement', () => {
    // 2 classes on a 4×4 grid: the unflipped run says class 1 on the left half, the h-flipped run
    // (before un-flipping) says class 1 on its left half too, i.e. the right half of the slice.
    const size = 4;
    const plane = size * size;
    const box = letterbox(size, size, size, size);
    const l = new Float32Array(2 * 2 * plane);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        l[plane + y * size + x] = x < 2 ? 8 : -8; // flip 0, class 1
        l[2 * plane + plane + y * size + x] = x < 2 ? 8 : -8; // flip 1 (h), class 1, in flipped coordinates
      }
    const r = new SoftmaxSlices().slice(l, 0, ['none', 'h'], 2, box, size, size, [6], 0, false);
    // each pixel: one run is sure of class 1, the other of background → mean ½, ½: entropy 1, argmax background (ties → background)
    expect(r.entropy).toBeCloseTo(1, 3);
    expect(r.ttaDice).toBe(0);
    expect(r.foreground).toBe(0);
    expect([...decodeHeatMap(r.uncertainty!, size, size)]).toEqual(new Array(plane).fill(255));
  });

  it('is certain (heat 0) where the flips agree, and paints the label value', () => {
    const size = 8;
    const plane = size * size;
    const box = letterbox(size, size, size, size);
    const l = new Float32Array(2 * 3 * plane);
    for (const f of [0, 1])
      for (let y = 0; y < size; y++)
        for (let x = 0; x < size; x++) {
          const inside = x >= 2 && x < 6 && y >= 2 && y < 6;
          l[f * 3 * plane + 0 * plane + y * size + x] = inside ? -20 : 20;
          l[f * 3 * plane + 2 * plane + y * size + x] = inside ? 20 : -20;
        }
    const r = new SoftmaxSlices().slice(l, 0, ['none', 'h'], 3, box, 16, 16, [1, 2], 0, false);
    expect(r.ttaDice).toBe(1);
    expect(r.entropy).toBeLessThan(1e-6);
    const mask = decodeRle(r.mask, 256);
    expect(new Set(mask)).toEqual(new Set([0, 2]));
    expect(r.foreground).toBe(64);
    expect(decodeHeatMap(r.uncertainty!, 16, 16).every((v) => v === 0)).toBe(true);
  });

  it('un-flips while averaging as flipPlanes then adding does', () => {
    for (const flip of ['none', 'h', 'v', 'hv'] as const) {
      const l = logits(16, 3, 5).subarray(0, 3 * 16 * 12); // 3 planes of 16 × 12
      const mean = new Float32Array(3 * 16 * 12).fill(0.25);
      const ref = mean.slice();
      addFlipped(mean, l, 0, 3, 16, 12, flip, 0.5, false);
      const flipped = l.slice();
      flipPlanes(flipped, 16, 12, 3, flip);
      for (let k = 0; k < ref.length; k++) ref[k]! += flipped[k]! * 0.5;
      expect([...mean]).toEqual([...ref]);
      addFlipped(mean, l, 0, 3, 16, 12, flip, 0.5, true);
      expect([...mean]).toEqual([...flipped].map((v) => Math.fround(v * 0.5)));
    }
  });

  it('entropy plane, heat RLE and letterbox softmax agree with a direct computation', () => {
    const box = letterbox(50, 30, 32, 32);
    const l = logits(32, 4, 7);
    const copy = l.slice();
    const score = softmaxLetterbox(l, 0, 4, box);
    softmaxPlanes(copy, 0, 4, 32 * 32, 0, 32 * 32);
    const e = new Float32Array(32 * 32);
    expect(entropyPlane(copy, 0, 4, box, e)).toBeCloseTo(score, 5);
    // With far-off classes (logit −30) most of the grid is cold: rows and columns outside its reach are skipped.
    const cold = logits(32, 4, 9, -30);
    softmaxPlanes(cold, 0, 4, 32 * 32, 0, 32 * 32);
    for (const [columns, rows, p] of [
      [50, 30, copy],
      [512, 512, copy],
      [97, 131, copy],
      [512, 512, cold],
      [300, 200, cold],
      [97, 131, cold],
    ] as const) {
      const b2 = letterbox(columns, rows, 32, 32);
      e.fill(0);
      entropyPlane(p, 0, 4, b2, e);
      const heat = decodeRle(entropyRle(e, b2, columns, rows, { heat: new Uint8Array(0) }), columns * rows);
      const first = b2.offsetY * 32 + b2.offsetX;
      const full = resizeBilinear(
        e,
        b2.scaledWidth,
        b2.scaledHeight,
        columns,
        rows,
        new Float32Array(columns * rows),
        columns,
        0,
        undefined,
        32,
        first,
      );
      const ref = Uint8Array.from(full, (v) => Math.min(255, Math.round(v * 255)));
      expect(differing(heat, ref), `${columns}×${rows}`).toBe(0);
      expect(heat.some((v) => v > 0)).toBe(true);
      if (p === cold) expect(heat.filter((v) => v === 0).length).toBeGreaterThan(heat.length / 10);
    }
    expect(labelAgreement(copy, 0, copy, 0, 4, 32 * 32)).toBe(1);
  });

  it('stores the heat map on the model grid, and the viewer shows it within one level of the slice-size map it replaced', () => {
    const cold = logits(32, 4, 9, -30);
    softmaxPlanes(cold, 0, 4, 32 * 32, 0, 32 * 32);
    const warm = logits(32, 5, 11);
    softmaxPlanes(warm, 0, 5, 32 * 32, 0, 32 * 32);
    let compared = 0;
    let off = 0;
    for (const [columns, rows, p, classes] of [
      [32, 32, warm, 5],
      [50, 30, warm, 5],
      [512, 512, warm, 5],
      [97, 131, warm, 5],
      [800, 576, cold, 4],
      [300, 200, cold, 4],
      [20, 13, cold, 4],
    ] as const) {
      const box = letterbox(columns, rows, 32, 32);
      const e = new Float32Array(32 * 32);
      entropyPlane(p, 0, classes, box, e);
      const stored = gridHeatMap(e, box, {});
      expect(isGridHeatMap(stored)).toBe(true);
      // far smaller than the slice-size map it replaced, whose runs are about a pixel long
      const old = entropyRle(e, box, columns, rows, { heat: new Uint8Array(0) });
      if (columns * rows >= 512 * 512) expect(stored.length).toBeLessThan(old.length / 8);
      const shown = decodeHeatMap(stored, columns, rows);
      const before = decodeRle(old, columns * rows);
      expect(shown.length).toBe(columns * rows);
      let worst = 0;
      for (let k = 0; k < shown.length; k++) {
        const d = Math.abs(shown[k]! - before[k]!);
        if (d > worst) worst = d;
        if (d > 0) off++;
      }
      compared += shown.length;
      expect(worst, `${columns}×${rows}`).toBeLessThanOrEqual(1);
      expect(shown.some((v) => v > 0)).toBe(true);
    }
    // most pixels show exactly the old level
    expect(off / compared).toBeLessThan(0.5);
  });
});
