import { describe, expect, it } from 'vitest';
import { describeInput } from './kind';

describe("a version's kind and input in the Models view", () => {
  it('gives 2D and 2.5D their in-plane size, 3D its patch and spacing', () => {
    expect(describeInput({ kind: '2d', inputSize: [256, 320] })).toEqual({ kind: '2D', input: '320×256 pixels' });
    expect(describeInput({ kind: '2.5d', inputSize: [256, 256] })).toEqual({
      kind: '2.5D',
      input: '256×256 pixels, a slice and its two neighbours',
    });
    expect(describeInput({ kind: '3d', inputSize: [128, 128], patch: [32, 128, 128], spacing: [2.5, 1.5, 1.4999999] })).toEqual({
      kind: '3D',
      input: 'patch 32×128×128 voxels (slices × rows × columns) at 2.5 × 1.5 × 1.5 mm',
    });
    expect(describeInput({ kind: '3d', inputSize: [128, 128] }).input).toBe('patch or spacing not stated in its model.json');
  });
});
