import { describe, expect, it } from 'vitest';
import type { GateResult } from '../../../shared/contract/training';
import { curveColumns, differenceColumns, rangeWithZero } from './columns';

describe('chart columns', () => {
  it('aligns losses and validations on their steps, a validation before the first step included', () => {
    expect(
      curveColumns([
        { kind: 'validation', step: 0, dice: 0.7 },
        { kind: 'step', step: 1, loss: 0.9 },
        { kind: 'step', step: 2, loss: 0.8 },
        { kind: 'validation', step: 2, dice: 0.75 },
      ]),
    ).toEqual([
      [0, 1, 2],
      [null, 0.9, 0.8],
      [0.7, null, 0.75],
    ]);
    expect(curveColumns([])).toEqual([[], [], []]);
  });

  it('gives each case its candidate − parent Dice', () => {
    const gate = {
      cases: [
        { labelId: 5, imageId: 1, candidateDice: 0.9, parentDice: 0.7 },
        { labelId: 6, imageId: 2, candidateDice: 0.6, parentDice: 0.8 },
      ],
    } as GateResult;
    const [x, d] = differenceColumns(gate);
    expect(x).toEqual([1, 2]);
    expect(d[0]).toBeCloseTo(0.2, 12);
    expect(d[1]).toBeCloseTo(-0.2, 12);
  });

  it('keeps 0 inside a difference axis', () => {
    const close = (got: [number, number], want: [number, number]) => got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 12));
    close(rangeWithZero(0.05, 0.2), [-0.02, 0.22]);
    close(rangeWithZero(-0.1, -0.1), [-0.11, 0.01]);
    close(rangeWithZero(null, null), [-0.01, 0.01]);
  });
});
