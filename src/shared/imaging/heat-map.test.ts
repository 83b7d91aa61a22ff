import { describe, expect, it } from 'vitest';
import { decodeHeatMap, encodeGridHeatMap, gridHeatMapSize, isGridHeatMap } from './heat-map';
import { encodeRle } from './rle';
import { encodeSliceMaskRle } from './slice-mask';

describe('stored heat maps', () => {
  it('reads a heat map stored at the slice size (binary models, and softmax ones before the grid form) as it always did', () => {
    const heat = Uint8Array.from({ length: 7 * 5 }, (_, k) => (k * 37) % 256);
    for (const stored of [
      encodeRle(heat),
      encodeRle(new Uint8Array(35)),
      encodeSliceMaskRle({
        box: heat.subarray(0, 6),
        bounds: { x0: 1, y0: 2, x1: 3, y1: 3 },
        columns: 7,
        rows: 5,
        foreground: 0,
      }),
    ]) {
      expect(isGridHeatMap(stored)).toBe(false);
      expect(decodeHeatMap(stored, 7, 5).length).toBe(35);
    }
    expect([...decodeHeatMap(encodeRle(heat), 7, 5)]).toEqual([...heat]);
  });

  it('keeps the grid size in its header and gives the grid back at the same size', () => {
    const grid = Uint8Array.from({ length: 300 * 2 }, (_, k) => k % 256);
    const stored = encodeGridHeatMap(grid, 300, 2);
    expect(isGridHeatMap(stored)).toBe(true);
    expect(gridHeatMapSize(stored)).toEqual({ width: 300, height: 2 });
    expect([...decodeHeatMap(stored, 300, 2)]).toEqual([...grid]);
  });

  it('resamples a grid map bilinearly between pixel centres, rounding to the nearest level', () => {
    // 2×1 grid [0, 255] shown on 4×1: centres at −¼, ¼, ¾, 1¼ of the grid (edge-clamped)
    expect([...decodeHeatMap(encodeGridHeatMap(Uint8Array.from([0, 255]), 2, 1), 4, 1)]).toEqual([0, 64, 191, 255]);
    // a constant grid stays constant at any size
    expect(new Set(decodeHeatMap(encodeGridHeatMap(new Uint8Array(6).fill(77), 3, 2), 51, 17))).toEqual(new Set([77]));
  });

  it('refuses a grid map that does not hold the size it claims, or an unknown format version', () => {
    const stored = encodeGridHeatMap(new Uint8Array(4).fill(9), 2, 2);
    expect(() => decodeHeatMap(stored.subarray(0, stored.length - 1), 8, 8)).toThrow();
    const wrong = stored.slice();
    wrong[6] = 3; // claims 2×3
    expect(() => decodeHeatMap(wrong, 8, 8)).toThrow(/expected 6/);
    const future = stored.slice();
    future[3] = 2;
    expect(() => decodeHeatMap(future, 8, 8)).toThrow(/version 2/);
  });
});
