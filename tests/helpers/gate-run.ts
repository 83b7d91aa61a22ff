// A done training run recorded straight in the database, as the training service records one
// when its candidate is registered (training_runs, model_version_training, the run's validation
// labels): what the gate (src/main/training/gate.ts) reads, without training a model first.
import type { Database } from '../../src/main/db/database';

/**
 * Records a done run from `parentId` to `candidateId` (replacing the candidate's training record,
 * if any) whose validation set is every current label, or those of `validationSeriesId`. Returns
 * the run's id.
 */
export function recordGateRun(
  db: Database,
  o: { parentId: number; candidateId: number; taskId?: number; validationSeriesId?: number },
): number {
  const runId = db
    .prepare(
      "INSERT INTO training_runs (status, task_id, parent_version_id, candidate_version_id, hyperparameters, out_dir) VALUES ('done', coalesce(?, 1), ?, ?, '{}', '') RETURNING id",
    )
    .pluck()
    .get(o.taskId ?? null, o.parentId, o.candidateId) as number;
  db.prepare('DELETE FROM model_version_training WHERE model_version_id = ?').run(o.candidateId);
  db.prepare(
    "INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics) VALUES (?, ?, ?, '{}', 'test', 'test', '{}')",
  ).run(o.candidateId, runId, o.parentId);
  db.prepare(
    "INSERT INTO training_run_labels (run_id, label_id, split) SELECT ?, id, 'validation' FROM labels WHERE superseded_at IS NULL AND (? IS NULL OR series_id = ?)",
  ).run(runId, o.validationSeriesId ?? null, o.validationSeriesId ?? null);
  return runId;
}
