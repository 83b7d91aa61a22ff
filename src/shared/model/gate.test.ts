import { describe, expect, it } from 'vitest';
import { bootstrapMean, gateComparison, independentOfParent, MIN_INDEPENDENT_CASES, pairedBootstrap } from './gate';

describe('paired bootstrap gate', () => {
  it('calls a consistent gain better, a consistent loss worse, and noise around 0 no evidence', () => {
    const parent = Array.from({ length: 40 }, (_, i) => 0.7 + 0.005 * (i % 7));
    const better = pairedBootstrap(
      parent.map((p, i) => p + 0.05 + 0.01 * ((i % 3) - 1)),
      parent,
    );
    expect(better.verdict).toBe('better');
    expect(better.meanDifference).toBeCloseTo(0.05, 2);
    expect(better.ci95[0]).toBeGreaterThan(0);
    expect(better.ci95[0]).toBeLessThanOrEqual(better.meanDifference);
    expect(better.ci95[1]).toBeGreaterThanOrEqual(better.meanDifference);
    expect(
      pairedBootstrap(
        parent.map((p) => p - 0.02),
        parent,
      ).verdict,
    ).toBe('worse');
    const noise = pairedBootstrap(
      parent.map((p, i) => p + (i % 2 === 0 ? 0.03 : -0.03)),
      parent,
    );
    expect(noise.verdict).toBe('no-evidence');
    expect(noise.ci95[0]).toBeLessThan(0);
    expect(noise.ci95[1]).toBeGreaterThan(0);
  });

  it('matches the exact bootstrap distribution on a tiny case and is deterministic', () => {
    // Two cases with differences 0 and 1: resampled means are 0, 0.5, 1 with weights 1/4, 1/2, 1/4,
    // so the 2.5th and 97.5th percentiles are 0 and 1.
    const r = pairedBootstrap([1, 1], [1, 0], 4000, 7);
    expect(r.ci95).toEqual([0, 1]);
    expect(r.meanDifference).toBe(0.5);
    expect(r.verdict).toBe('no-evidence');
    expect(pairedBootstrap([0.9, 0.8, 0.7], [0.8, 0.8, 0.6], 500, 3)).toEqual(
      pairedBootstrap([0.9, 0.8, 0.7], [0.8, 0.8, 0.6], 500, 3),
    );
  });

  it('refuses unpaired or empty input', () => {
    expect(() => pairedBootstrap([1], [1, 2])).toThrow(RangeError);
    expect(() => pairedBootstrap([], [])).toThrow(RangeError);
  });

  it('does not grade a parent on its own accepted predictions: only independent labels decide', () => {
    const parentId = 7;
    expect(independentOfParent({ origin: 'accepted', modelVersionId: parentId }, parentId)).toBe(false);
    expect(independentOfParent({ origin: 'accepted', modelVersionId: 3 }, parentId)).toBe(true); // another version's
    for (const origin of ['edited', 'drawn', 'imported'])
      expect(independentOfParent({ origin, modelVersionId: parentId }, parentId)).toBe(true);
    // 25 of the parent's predictions accepted unchanged (parent 1.0 by construction, candidate 0.98)
    // and 6 edited labels on which the candidate gains: the verdict is the edited labels'.
    const own = Array.from({ length: 25 }, () => ({ candidateDice: 0.98, parentDice: 1, independent: false }));
    const edited = Array.from({ length: 6 }, (_, i) => ({
      candidateDice: 0.85 + 0.01 * (i % 3),
      parentDice: 0.75,
      independent: true,
    }));
    const all = gateComparison([...own, ...edited]);
    expect(all).toMatchObject({ n: 31, independent: 6, verdict: 'better' });
    expect(all.meanParent).toBeCloseTo(0.75, 12);
    // Every case accepted unchanged, or too few independent ones: no verdict, said as such.
    expect(gateComparison(own)).toMatchObject({ n: 25, independent: 0, verdict: 'too-few', meanParent: 1 });
    const few = gateComparison([...own, ...edited.slice(0, MIN_INDEPENDENT_CASES - 1)]);
    expect(few).toMatchObject({ independent: MIN_INDEPENDENT_CASES - 1, verdict: 'too-few' });
    expect(few.meanParent).toBeCloseTo(0.75, 12);
  });
});

describe('bootstrapMean', () => {
  it('gives the mean with a percentile interval around it, deterministically', () => {
    const xs = [0.7, 0.8, 0.75, 0.9, 0.6, 0.85, 0.8, 0.65];
    const a = bootstrapMean(xs);
    expect(a.n).toBe(8);
    expect(a.mean).toBeCloseTo(0.75625, 12);
    expect(a.ci95[0]).toBeLessThan(a.mean);
    expect(a.ci95[1]).toBeGreaterThan(a.mean);
    expect(a.ci95[0]).toBeGreaterThan(0.6);
    expect(bootstrapMean(xs)).toEqual(a);
    expect(bootstrapMean([0.5]).ci95).toEqual([0.5, 0.5]);
    expect(() => bootstrapMean([])).toThrow(RangeError);
  });
});
