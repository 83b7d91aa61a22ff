import { describe, expect, it } from 'vitest';
import type { RunPatch } from './sliding-window';
import { segmentVolume } from './volume-pipeline';
import type { Shape3 } from './volume';

/** A per-voxel "network" on the windowed CT: class 1 above 0.6 (HU > 80), class 2 below 0.3 (HU < −40), else background. */
const threshold: RunPatch = async (p) => {
  const n = p.length;
  const out = new Float32Array(3 * n);
  for (let i = 0; i < n; i++) {
    out[n + i] = 20 * (p[i]! - 0.6);
    out[2 * n + i] = 20 * (0.3 - p[i]!);
  }
  return out;
};

describe('segmentVolume', () => {
  it('resamples, windows, segments and returns labels on the series grid, with progress to the total', async () => {
    // HU ramp along the columns: −200 … 300 over 40 columns, 6 slices of 20 rows.
    const shape: Shape3 = [6, 20, 40];
    const values = Float32Array.from({ length: 6 * 20 * 40 }, (_, i) => -200 + ((i % 40) + 0.5) * 12.5);
    const progress: [number, number][] = [];
    const r = await segmentVolume(
      { values, shape, spacing: [5, 1, 1], modality: 'CT' },
      { spacing: [5, 2, 2], values: [4, 9] },
      threshold,
      { patch: [8, 8, 8], mirrorAxes: [2], onProgress: (d, t) => progress.push([d, t]) },
    );
    expect(r.modelShape).toEqual([6, 10, 20]);
    // 6 slices padded to 8: 1; 10 rows: 0, 2; 20 columns: 0, 4, 8, 12
    expect(progress.at(-1)).toEqual([8, 8]);
    const s = r.labeler.slice(3);
    expect(s.labels.length).toBe(800);
    // Column x: HU = −200 + (x + ½)·12.5. Class 2 below −40 HU (x ≤ 11), class 1 above 80 HU (x ≥ 22),
    // up to a column at each border (the model grid is 2× coarser).
    const row = [...s.labels.subarray(400, 440)];
    expect(row.slice(0, 11).every((v) => v === 9)).toBe(true);
    expect(row.slice(14, 21).every((v) => v === 0)).toBe(true);
    expect(row.slice(23).every((v) => v === 4)).toBe(true);
    expect(r.entropy).toBeGreaterThan(0);
    expect(r.entropy).toBeLessThan(0.5);
  });
});
