// The frame cache's call pattern: the frame on screen alone first, then batches, every frame
// asked once, and a frame the backend could not read kept with its reason. The backend side is
// the real viewer service in src/main/viewer/service.test.ts and tests/e2e/viewer.test.ts.
import { describe, expect, it } from 'vitest';
import type { ViewerFrame, ViewerFrameBatch } from '../../../shared/contract';
import { ok, type Result } from '../../../shared/result';
import { FrameCache } from './frames';

function frame(imageId: number): ViewerFrame {
  const data = new Uint8Array(8);
  new Int16Array(data.buffer).set([imageId, -imageId, 0, 1]);
  return {
    imageId,
    rows: 2,
    columns: 2,
    samplesPerPixel: 1,
    photometric: 'MONOCHROME2',
    dtype: 'int16',
    data,
    slope: 1,
    intercept: 0,
    min: -imageId,
    max: imageId,
  };
}

describe('FrameCache', () => {
  it('asks for the frame on screen alone, then in batches, each frame once', async () => {
    const calls: number[][] = [];
    const unreadable = 7;
    const fetchFrames = async (ids: number[]): Promise<Result<ViewerFrameBatch>> => {
      calls.push(ids);
      await new Promise((r) => setTimeout(r, 1));
      return ok({
        frames: ids.filter((id) => id !== unreadable).map(frame),
        failed: ids.includes(unreadable) ? [{ imageId: unreadable, message: 'damaged' }] : [],
      });
    };
    const loaded: number[] = [];
    const cache = new FrameCache(fetchFrames, (id) => loaded.push(id), 1 << 30, 2, 8);
    const ids = Array.from({ length: 40 }, (_, i) => i + 1);
    const shown = await cache.load(20);
    expect(shown?.pixels).toEqual(new Int16Array([20, -20, 0, 1]));
    cache.prefetchAround(ids, 19);
    await expect.poll(() => loaded.length).toBe(40);
    expect(calls[0]).toEqual([20]);
    expect(calls.slice(1).every((c) => c.length >= 1 && c.length <= 8)).toBe(true);
    expect(calls.flat().sort((a, b) => a - b)).toEqual(ids);
    // Nearest first: the second call holds the neighbours of slice 20.
    expect(calls[1]!.slice(0, 2)).toEqual([21, 19]);
    expect(cache.size).toBe(39);
    expect(cache.errors.get(unreadable)).toBe('damaged');
  });
});
