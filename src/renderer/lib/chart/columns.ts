// uPlot's aligned columns from the contract's training curve and gate, kept out of components so
// they are tested without a DOM.
import type { GateResult, TrainingCurvePoint } from '../../../shared/contract/training';

export interface ChartSeries {
  label: string;
  color: string;
  /** Right-hand axis (e.g. Dice beside a loss). */
  right?: boolean;
  /** Points only (e.g. per-case differences), no line. */
  points?: boolean;
  /** A value range for its axis (e.g. [0, 1] for Dice). */
  range?: [number, number];
  /** The axis title when shorter than the legend's label. */
  axis?: string;
}

/** Whole-number tick steps for an axis of counts (steps, images): never a tick at 1.5. */
export const WHOLE_STEPS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000];

/** A value range that always shows 0 (a difference axis), with a margin: [min, max]. */
export function rangeWithZero(min: number | null, max: number | null): [number, number] {
  const lo = Math.min(min ?? 0, 0);
  const hi = Math.max(max ?? 0, 0);
  const pad = Math.max((hi - lo) * 0.1, 0.01);
  return [lo - pad, hi + pad];
}

/**
 * A run's curve as [steps, loss, validation Dice]: one row per optimiser step that has a loss
 * or a validation, in step order; null where a step has no value of that kind. A validation at
 * step 0 (before the first step: the parent's own Dice) gets its own row.
 */
export function curveColumns(curve: readonly TrainingCurvePoint[]): [number[], (number | null)[], (number | null)[]] {
  const rows = new Map<number, { loss: number | null; dice: number | null }>();
  for (const p of curve) {
    const row = rows.get(p.step) ?? { loss: null, dice: null };
    if (p.kind === 'step') row.loss = p.loss;
    else row.dice = p.dice;
    rows.set(p.step, row);
  }
  const steps = [...rows.keys()].sort((a, b) => a - b);
  return [steps, steps.map((s) => rows.get(s)!.loss), steps.map((s) => rows.get(s)!.dice)];
}

/** Per-case Dice difference (candidate − parent) against the case's rank, in the gate's case order. */
export function differenceColumns(gate: GateResult): [number[], number[]] {
  return [gate.cases.map((_, i) => i + 1), gate.cases.map((c) => c.candidateDice - c.parentDice)];
}
