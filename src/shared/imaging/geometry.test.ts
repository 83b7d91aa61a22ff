import { describe, expect, it } from 'vitest';
import { repeatedPositionsNote, sliceOrder, sliceSpacing, type Orderable, type Orientation, type Vec3 } from './geometry';

describe('slice spacing', () => {
  it('projects position differences on the slice normal, and is null without a neighbour or a position', () => {
    const axial: Orientation = [1, 0, 0, 0, 1, 0];
    const images = [0, 2.5, 5].map((z) => ({ position: [10, -3, z] as Vec3, orientation: axial }));
    expect(sliceSpacing(images, 0)).toBe(2.5);
    expect(sliceSpacing(images, 2)).toBe(2.5); // the last slice looks back
    // A sagittal stack: the normal is x, so a shift in y does not count.
    const sagittal: Orientation = [0, 1, 0, 0, 0, -1];
    expect(
      sliceSpacing(
        [
          { position: [0, 0, 0], orientation: sagittal },
          { position: [1.2, 9, 0], orientation: sagittal },
        ],
        0,
      ),
    ).toBeCloseTo(1.2, 10);
    expect(sliceSpacing([images[0]!], 0)).toBeNull();
    expect(sliceSpacing([{ position: null, orientation: null }, images[1]!], 0)).toBeNull();
  });
});

const AXIAL: Orientation = [1, 0, 0, 0, 1, 0];
const at = (z: number, instanceNumber: number, stack?: (number | null)[]): Orderable => ({
  position: [0, 0, z],
  orientation: AXIAL,
  instanceNumber,
  frameIndex: 0,
  stack,
});

describe('sliceOrder with several images at one position', () => {
  it('orders echo after echo when only the echo tells them apart, in any input order', () => {
    // Two echoes at z 0 and 5, given interleaved and reversed.
    const items = [at(5, 4, [null, 2, 1]), at(0, 1, [null, 1, 1]), at(0, 3, [null, 2, 1]), at(5, 2, [null, 1, 1])];
    expect(sliceOrder(items).map((i) => items[i]!.instanceNumber)).toEqual([1, 2, 3, 4]);
    expect(repeatedPositionsNote(items)).toBe('4 images at 2 positions: shown echo after echo, each in position order');
  });

  it('leaves a plain stack in position order and says nothing', () => {
    const items = [at(10, 3, [1, null, 1]), at(0, 1, [1, null, 1]), at(5, 2, [2, null, 2])];
    expect(sliceOrder(items)).toEqual([1, 2, 0]);
    expect(repeatedPositionsNote(items)).toBeNull();
  });

  it('says when images share a position with nothing to tell them apart', () => {
    const items = [at(0, 2), at(0, 1)];
    expect(sliceOrder(items)).toEqual([1, 0]);
    expect(repeatedPositionsNote(items)).toMatch(/2 images at 1 positions, with nothing .* to tell them apart/);
  });
});
