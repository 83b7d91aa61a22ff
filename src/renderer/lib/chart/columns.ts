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
