import { describe, expect, it } from 'vitest';
import { sliceSpacing, type Orientation, type Vec3 } from './geometry';

describe('slice spacing', () => {
  it('projects position differences on the slice normal, and is null without a neighbour or a position', () => {
    const axial: Orientation = [1, 0, 0, 0, 1, 0];
    const images = [0, 2.5, 5].map((z) => ({ position: [10, -3, z] as Vec3, orientation: axial }));
    expect(sliceSpacing(images, 0)).toBe(2.5);
    expect(sliceSpacing(images, 2)).toBe(2.5); // the last slice looks back
    // A sagittal stack: the normal is x, so a shift in y does not count.
    const sagittal: Orientation = [0, 1, 0, 0, 0, -1];
    expect(sliceSpacing([{ position: [0, 0, 0], orientation: sagittal }, { position: [1.2, 9, 0], orientation: sagittal }], 0)).toBeCloseTo(1.2, 10);
    expect(sliceSpacing([images[0]!], 0)).toBeNull();
    expect(sliceSpacing([{ position: null, orientation: null }, images[1]!], 0)).toBeNull();
  });
});
