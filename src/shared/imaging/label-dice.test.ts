import { describe, expect, it } from 'vitest';
import { diceByLabel, meanOverLabels } from './label-dice';

describe('Dice per label', () => {
  it('scores each value on its own pixels; a label absent from both maps agrees (1)', () => {
    const truth = Uint8Array.of(0, 1, 1, 2, 2, 0, 4, 4);
    const pred = Uint8Array.of(0, 1, 2, 2, 2, 0, 0, 4);
    const d = diceByLabel(pred, truth);
    expect(d).toEqual({ 1: (2 * 1) / (1 + 2), 2: (2 * 2) / (3 + 2), 4: (2 * 1) / (1 + 2) });
    expect(diceByLabel(pred, truth, [3])).toEqual({ 3: 1 });
    expect(meanOverLabels(d)).toBeCloseTo((2 / 3 + 4 / 5 + 2 / 3) / 3, 12);
    expect(() => diceByLabel(pred, truth.subarray(1))).toThrow(RangeError);
  });
});
