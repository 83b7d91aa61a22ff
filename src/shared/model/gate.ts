// The registry gate's statistics: a candidate and its parent segment the same cases, and the
// per-case Dice differences (candidate − parent) decide. The interval is the percentile paired
// bootstrap (Efron & Tibshirani 1993, "An Introduction to the Bootstrap", ch. 13): resample the
// cases with replacement, keep each case's pair together, take the 2.5th and 97.5th percentiles
// of the resampled mean difference. Deterministic: the resampling uses a seeded PRNG.
import { mulberry32 } from '../random';

export type GateVerdict = 'better' | 'no-evidence' | 'worse';
/** The registry gate's verdict: a paired comparison's, or `too-few` independent cases to give one. */
export type GateDecision = GateVerdict | 'too-few';

/**
 * Fewer independent cases than this give no verdict. With 4 or fewer the percentile bootstrap
 * can only resample a handful of distinct means, and one case moves the interval across 0.
 */
export const MIN_INDEPENDENT_CASES = 5;

/**
 * Whether a validation label can grade the parent: every label but the parent's own prediction
 * accepted unchanged (which scores the parent 100 % by construction, issue 21). Edited, drawn and
 * imported labels are, and so is a prediction of another version accepted unchanged.
 */
export function independentOfParent(label: { origin: string; modelVersionId: number | null }, parentVersionId: number): boolean {
  return !(label.origin === 'accepted' && label.modelVersionId === parentVersionId);
}

export interface GateComparison extends Omit<PairedComparison, 'verdict'> {
  /** Every case compared (independent or not). */
  n: number;
  verdict: GateDecision;
  /** Cases independent of the parent: the means, interval and verdict are theirs when there is one. */
  independent: number;
}

/**
 * The gate on one set: the paired comparison of the cases independent of the parent. With fewer
 * than MIN_INDEPENDENT_CASES of them the verdict is `too-few`, and the figures are those of the
 * independent cases when there is one, else of all cases (the parent grading itself, shown as such).
 * Throws RangeError when there are no cases at all.
 */
export function gateComparison(
  cases: readonly { candidateDice: number; parentDice: number; independent: boolean }[],
): GateComparison {
  const independent = cases.filter((c) => c.independent);
  const basis = independent.length > 0 ? independent : cases;
  const stats = pairedBootstrap(
    basis.map((c) => c.candidateDice),
    basis.map((c) => c.parentDice),
  );
  return {
    ...stats,
    n: cases.length,
    verdict: independent.length < MIN_INDEPENDENT_CASES ? 'too-few' : stats.verdict,
    independent: independent.length,
  };
}

export interface PairedComparison {
  n: number;
  meanCandidate: number;
  meanParent: number;
  /** Mean of candidate − parent over the cases. */
  meanDifference: number;
  /** Percentile bootstrap 95 % interval of the mean difference. */
  ci95: [number, number];
  /** better: the interval lies above 0; worse: below 0; otherwise no evidence either way. */
  verdict: GateVerdict;
}

/**
 * Compares per-case Dice of candidate and parent on the same cases (same order).
 * Throws RangeError for unequal lengths or no cases. `resamples` defaults to 10,000.
 */
export function pairedBootstrap(
  candidate: readonly number[],
  parent: readonly number[],
  resamples = 10_000,
  seed = 1,
): PairedComparison {
  if (candidate.length !== parent.length)
    throw new RangeError(`paired comparison needs equal case counts, got ${candidate.length} and ${parent.length}`);
  const n = candidate.length;
  if (n === 0) throw new RangeError('paired comparison needs at least one case');
  const diff = candidate.map((c, i) => c - parent[i]!);
  const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
  const random = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += diff[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  const ci95: [number, number] = [quantile(means, 0.025), quantile(means, 0.975)];
  const verdict: GateVerdict = ci95[0] > 0 ? 'better' : ci95[1] < 0 ? 'worse' : 'no-evidence';
  return { n, meanCandidate: mean(candidate), meanParent: mean(parent), meanDifference: mean(diff), ci95, verdict };
}

/** Linear interpolation between order statistics (NumPy's default, "type 7"). */
function quantile(sorted: Float64Array, q: number): number {
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(sorted.length - 1, lo + 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}

export interface MeanInterval {
  n: number;
  mean: number;
  /** Percentile bootstrap 95 % interval of the mean. */
  ci95: [number, number];
}

/**
 * The mean of per-case scores with its percentile bootstrap 95 % interval (Efron & Tibshirani
 * 1993, ch. 13): a task's first model has no parent to compare with, so its gate reports each
 * label's validation Dice this way. Throws RangeError for no cases. Deterministic (seeded).
 */
export function bootstrapMean(values: readonly number[], resamples = 10_000, seed = 1): MeanInterval {
  const n = values.length;
  if (n === 0) throw new RangeError('a mean needs at least one case');
  const random = mulberry32(seed);
  const means = new Float64Array(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[Math.floor(random() * n)]!;
    means[r] = sum / n;
  }
  means.sort();
  return { n, mean: values.reduce((a, b) => a + b, 0) / n, ci95: [quantile(means, 0.025), quantile(means, 0.975)] };
}
