// Words and numbers of the Training and Models views, kept out of components so they are tested.
import type { GateResult, TrainingRun } from '../../../shared/contract/training';
import { exhaustive } from '../../../shared/result';

/** "3 min 20 s" for a number of seconds; null when the trainer knows no bound (−1). */
export function formatEta(seconds: number): string | null {
  if (!(seconds >= 0)) return null;
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  return m < 60 ? `${m} min ${s % 60} s` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * A run's status in words a radiologist reads. A queued run waits for another only when an
 * earlier one is queued or running (`runs`: every run known); otherwise it is starting (finding
 * Python, staging the labels), as the first run of a fresh install is (issue 21, item 8).
 */
export function describeStatus(run: TrainingRun, runs: readonly Pick<TrainingRun, 'id' | 'status'>[] = []): string {
  switch (run.status) {
    case 'queued':
      return runs.some((r) => r.id < run.id && (r.status === 'queued' || r.status === 'running'))
        ? 'Waiting for the run before it'
        : 'Starting: preparing the labels';
    case 'running':
      return run.candidateVersionId !== null ? 'Comparing the candidate with its parent' : 'Training';
    case 'done':
      // A version adopted from the shared folder: the row records its local gate, nothing trained here.
      if (run.adoptedFrom) return `Adopted from the shared folder (published by ${run.adoptedFrom.publishedBy})`;
      return run.candidateVersionId !== null ? 'Candidate ready to compare' : 'Finished';
    case 'failed':
      return 'Failed';
    case 'cancelled':
      return 'Cancelled';
    case 'interrupted':
      return 'Interrupted';
    default:
      return exhaustive(run.status, 'run status');
  }
}

/** A Dice (0–1) as a percentage with one decimal: "87.9 %". */
export function pct(v: number | null | undefined): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '—' : `${(v * 100).toFixed(1)} %`;
}

/** A Dice difference in percentage points with its sign: "+15.3 pp". */
export function pp(v: number): string {
  return `${v >= 0 ? '+' : '−'}${Math.abs(v * 100).toFixed(1)} pp`;
}

/** The gate's verdict in words (src/main/training/gate.ts: the 95 % interval against 0). */
export function describeVerdict(verdict: GateResult['verdict']): string {
  switch (verdict) {
    case 'better':
      return 'Better than its parent';
    case 'no-evidence':
      return 'No evidence of a difference';
    case 'worse':
      return 'Worse than its parent';
    case 'too-few':
      return 'No verdict: too few labels independent of the parent';
    default:
      return exhaustive(verdict, 'verdict');
  }
}

/**
 * Which cases of a gate set decide, in words: "3 of 5 independent of the parent (edited, drawn,
 * imported, or accepted from another version)"; gates stored before issue 21 counted every case.
 */
export function describeIndependence(g: GateResult): string | null {
  if (g.set !== 'validation' || g.independent === undefined) return null;
  const why = 'edited, drawn, imported or accepted from another version';
  if (g.independent === 0)
    return `none of the ${g.n} is independent of the parent: each is its own prediction accepted unchanged, which it scores 100 % on by construction`;
  return `${g.independent} of ${g.n} independent of the parent (${why}); the figures are theirs${g.independent < g.n ? `, the ${g.n - g.independent} accepted unchanged from it are left out` : ''}`;
}
