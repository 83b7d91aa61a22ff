import { describe, expect, it } from 'vitest';
import {
  CT_WINDOW,
  normalizeVolume,
  resampleNearest,
  resampleTrilinear,
  shapeAtSpacing,
  volumeInferenceBytes,
  voxelCount,
  type Shape3,
} from './volume';

/** f(z, y, x) sampled at voxel centres of a grid covering [0, 1]³. */
function sample(shape: Shape3, f: (z: number, y: number, x: number) => number): Float32Array {
  const [d, h, w] = shape;
  const out = new Float32Array(d * h * w);
  for (let z = 0, o = 0; z < d; z++)
    for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) out[o++] = f((z + 0.5) / d, (y + 0.5) / h, (x + 0.5) / w);
  return out;
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('shapeAtSpacing', () => {
  it('keeps the extent: a 512×512×300 CT at 0.7 × 0.7 × 2.5 mm to 1.5 × 1.5 × 2.5 mm', () => {
    expect(shapeAtSpacing([300, 512, 512], [2.5, 0.7, 0.7], [2.5, 1.5, 1.5])).toEqual([300, 239, 239]);
    expect(shapeAtSpacing([3, 10, 10], [1, 1, 1], [10, 10, 10])).toEqual([1, 1, 1]);
  });
});

describe('resampleTrilinear', () => {
  it('keeps a linear ramp exactly away from the clamped border voxels, both ways', () => {
    const src: Shape3 = [8, 12, 16];
    const ramp = (z: number, y: number, x: number) => 2 * z - y + 3 * x;
    const up: Shape3 = [16, 24, 32];
    const got = resampleTrilinear(sample(src, ramp), src, up);
    const want = sample(up, ramp);
    // Interior: output voxels whose sample position lies inside the source grid's centres.
    for (let z = 1; z < 15; z++)
      for (let y = 1; y < 23; y++)
        for (let x = 1; x < 31; x++)
          expect(Math.abs(got[(z * 24 + y) * 32 + x]! - want[(z * 24 + y) * 32 + x]!)).toBeLessThan(1e-5);
    // Halving an even grid averages voxel pairs: exact for a ramp everywhere.
    expect(maxAbs(resampleTrilinear(want, up, src), sample(src, ramp))).toBeLessThan(1e-5);
  });

  it('round trip model spacing and back errs by under 1 % of the range on a smooth volume, 3 % at the clamped border', () => {
    const series: Shape3 = [30, 64, 64];
    const model: Shape3 = [30, 30, 30];
    const f = (z: number, y: number, x: number) => Math.sin(2 * Math.PI * x) * Math.cos(Math.PI * y) + z;
    const v = sample(series, f);
    const back = resampleTrilinear(resampleTrilinear(v, series, model), model, series);
    let inner = 0;
    for (let z = 0; z < 30; z++)
      for (let y = 2; y < 62; y++)
        for (let x = 2; x < 62; x++) inner = Math.max(inner, Math.abs(back[(z * 64 + y) * 64 + x]! - v[(z * 64 + y) * 64 + x]!));
    // range of f: 3 (−1 … 2)
    expect(inner).toBeLessThan(0.03);
    expect(maxAbs(back, v)).toBeLessThan(0.09);
  });

  it('resamples C channels independently and copies when the shape is unchanged', () => {
    const s: Shape3 = [2, 3, 4];
    const two = new Float32Array(48).map((_, i) => (i < 24 ? 1 : 5));
    const out = resampleTrilinear(two, s, [3, 5, 7], 2);
    expect(out.length).toBe(2 * 105);
    expect(out.subarray(0, 105).every((v) => Math.abs(v - 1) < 1e-6)).toBe(true);
    expect(out.subarray(105).every((v) => Math.abs(v - 5) < 1e-6)).toBe(true);
    const same = resampleTrilinear(two, s, s, 2);
    expect(same).not.toBe(two);
    expect(same).toEqual(two);
    expect(() => resampleTrilinear(two, s, s, 1)).toThrow(RangeError);
  });
});

describe('resampleNearest', () => {
  it('repeats labels when upsampling by 2 and takes one of each pair when downsampling', () => {
    const l = Uint8Array.from([1, 2, 3, 4]);
    const up = resampleNearest(l, [1, 2, 2], [2, 4, 4]);
    expect([...up.subarray(0, 16)]).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(resampleNearest(up, [2, 4, 4], [1, 2, 2])).toEqual(l);
  });
});

describe('normalizeVolume', () => {
  it('CT: the abdominal window [−160, 240] HU to [0, 1], clipped', () => {
    expect(CT_WINDOW).toEqual({ type: 'window', center: 40, width: 400 });
    const hu = Float32Array.from([-1000, -160, -100, 0, 40, 240, 1000]);
    const got = normalizeVolume(hu, 'CT');
    const want = [0, 0, 0.15, 0.4, 0.5, 1, 1];
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 6));
  });

  it('MR: the 0.5th and 99.5th percentiles (nearest rank) to 0 and 1, clipped; in place', () => {
    // 0 … 999 shuffled: p0.5 = sorted[round(0.005 · 999)] = 5, p99.5 = sorted[round(0.995 · 999)] = 994.
    const v = Float32Array.from({ length: 1000 }, (_, i) => (i * 389) % 1000);
    const at = (x: number) => v.indexOf(x);
    const [i0, i5, i500, i994, i999] = [at(0), at(5), at(500), at(994), at(999)];
    const out = normalizeVolume(v, 'MR', v);
    expect(out).toBe(v);
    expect(out[i0]).toBe(0);
    expect(out[i5]).toBe(0);
    expect(out[i500]).toBeCloseTo(495 / 989, 6);
    expect(out[i994]).toBe(1);
    expect(out[i999]).toBe(1);
  });

  it('refuses a modality without a rule', () => {
    expect(() => normalizeVolume(new Float32Array(1), 'US')).toThrow(RangeError);
  });
});

describe('volumeInferenceBytes', () => {
  it('a 512×512×300 CT with 5 classes fits ~2 GB at 1.5 × 1.5 × 2.5 mm, not at its own grid', () => {
    const series: Shape3 = [300, 512, 512];
    const model = shapeAtSpacing(series, [2.5, 0.7, 0.7], [2.5, 1.5, 1.5]);
    const patch: Shape3 = [96, 96, 96];
    const coarse = volumeInferenceBytes(series, model, 5, patch);
    expect(voxelCount(model) * 4 * 5).toBeLessThan(350e6); // the accumulator: 343 MB
    expect(coarse).toBeLessThan(1.1e9);
    expect(volumeInferenceBytes(series, series, 5, patch)).toBeGreaterThan(2.5e9);
  });
});
