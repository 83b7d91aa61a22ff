import { describe, expect, it } from 'vitest';
import type { PredictionView } from '../../../shared/contract';
import { encodeGridHeatMap } from '../../../shared/imaging/heat-map';
import { encodeRle } from '../../../shared/imaging/rle';
import { ok } from '../../../shared/result';
import { PredictionCache } from './predictions';

function view(imageId: number, uncertainty: Uint8Array | null): PredictionView {
  return {
    imageId,
    modelVersionId: 1,
    rows: 4,
    columns: 6,
    mask: encodeRle(new Uint8Array(24).fill(1)),
    uncertainty,
    foregroundPixels: 24,
    entropy: 0.1,
    ttaDice: uncertainty ? 1 : null,
  };
}

describe('the viewer’s prediction cache', () => {
  it('shows a heat map stored at the slice size and one stored on the model grid, both at the slice size', async () => {
    const old = Uint8Array.from({ length: 24 }, (_, k) => k * 10);
    const views = new Map([
      [1, view(1, encodeRle(old))],
      // a 3×2 grid under a 6×4 slice: the same level everywhere shows that level
      [2, view(2, encodeGridHeatMap(new Uint8Array(6).fill(200), 3, 2))],
      [3, view(3, null)],
    ]);
    const cache = new PredictionCache(
      (id) => Promise.resolve(ok(views.get(id) ?? null)),
      () => undefined,
    );
    expect([...(await cache.load(1))!.uncertainty!]).toEqual([...old]);
    const grid = (await cache.load(2))!.uncertainty!;
    expect(grid.length).toBe(24);
    expect(new Set(grid)).toEqual(new Set([200]));
    expect((await cache.load(3))!.uncertainty).toBeNull();
    expect(await cache.load(4)).toBeNull();
  });
});
