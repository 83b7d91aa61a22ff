import { describe, expect, it } from 'vitest';
import { interpolateLabels, squaredDistance } from './interpolate';
import { labelCounts, paintCapsule } from './label-ops';

describe('squaredDistance', () => {
  it('is the exact squared Euclidean distance to the nearest seed', () => {
    const w = 9;
    const h = 7;
    const seed = new Uint8Array(w * h);
    seed[3 * w + 4] = 1;
    seed[0] = 1;
    const d = squaredDistance(seed, w, h);
    for (let y = 0; y < h; y++)
      for (let x = 0; x < w; x++) expect(d[y * w + x]).toBe(Math.min((x - 4) ** 2 + (y - 3) ** 2, x * x + y * y));
  });
});

describe('interpolateLabels', () => {
  const w = 64;
  const h = 64;
  const disk = (cx: number, r: number, label = 1) => {
    const data = new Uint8Array(w * h);
    paintCapsule({ data, width: w, height: h }, cx, 32, cx, 32, r, label);
    return data;
  };

  it('reproduces a shape between two identical slices exactly', () => {
    const a = disk(32, 10);
    const [mid] = interpolateLabels(a, a.slice(), w, h, 1);
    expect(mid).toEqual(a);
  });

  it('grows a disk between a small and a large one, and moves it between two positions', () => {
    const small = disk(32, 6);
    const large = disk(32, 18);
    const steps = interpolateLabels(small, large, w, h, 3);
    const counts = steps.map((m) => labelCounts(m)[1]!);
    expect(counts[0]).toBeGreaterThan(labelCounts(small)[1]!);
    expect(counts[1]).toBeGreaterThan(counts[0]!);
    expect(counts[2]).toBeLessThan(labelCounts(large)[1]!);
    // Radius 12 at the middle: π·12² ≈ 452.
    expect(Math.abs(counts[1]! - Math.PI * 144)).toBeLessThan(40);

    // Overlapping shapes move; disjoint ones cannot (a known limit of shape-based interpolation).
    const [moved] = interpolateLabels(disk(26, 10), disk(38, 10), w, h, 1);
    expect(moved![32 * w + 32]).toBe(1);
    expect(moved![32 * w + 17]).toBe(0);
    expect(moved![32 * w + 47]).toBe(0);
  });

  it('keeps labels apart and lets a one-sided label vanish', () => {
    const a = disk(20, 8, 1);
    const b = disk(44, 8, 2);
    const [mid] = interpolateLabels(a, b, w, h, 1);
    expect(labelCounts(mid!)[1] ?? 0).toBeLessThan(labelCounts(a)[1]!);
    const fading = interpolateLabels(a, new Uint8Array(w * h), w, h, 5).map((m) => labelCounts(m)[1] ?? 0);
    expect(fading[0]).toBeGreaterThan(fading[2]!);
    expect(fading[2]).toBeGreaterThan(fading[4]!);
    expect(fading[4]).toBeGreaterThan(0);
  });
});
