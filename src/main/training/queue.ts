// The retraining queue: current labels (not superseded, with a frozen split) that no run which
// trained on them — running, or done with a candidate — has used yet. A cancelled, failed or
// interrupted run staged its labels too (training_run_labels), but trained nothing that lasts, so
// its labels stay new. Nor does the gate of a version adopted from the shared folder (adopted_from
// set): it compared on the validation labels, it trained on none. Excluded images are listed (so they can be included again) but not counted.
import type { TrainingQueue, TrainingQueueItem } from '../../shared/contract/training';
import type { Database } from '../db/database';
import { CURRENT_LABELS_WITH_SPLIT } from './stage';

/** Current labels with a frozen split that no running or finished run has trained on. */
const NEW_LABELS = `${CURRENT_LABELS_WITH_SPLIT}
    AND NOT EXISTS (
      SELECT 1 FROM training_run_labels u JOIN training_runs r ON r.id = u.run_id
      WHERE u.label_id = l.id AND r.status IN ('running', 'done') AND r.adopted_from IS NULL)`;

const EXCLUDED = 'EXISTS (SELECT 1 FROM training_exclusions x WHERE x.image_id = l.image_id)';

/** New labels of one task (default: the starter task) per split, excluded images left out (what the task's next run adds). */
export function newLabelCounts(db: Database, taskId = 1): { training: number; validation: number; excluded: number } {
  const rows = db
    .prepare(
      `SELECT coalesce(sp.split, ss.split) AS split, ${EXCLUDED} AS excluded, count(*) AS n ${NEW_LABELS} AND l.task_id = ? GROUP BY 1, 2`,
    )
    .all(taskId) as { split: 'training' | 'validation'; excluded: number; n: number }[];
  const count = (split: string, excluded: number) =>
    rows.filter((r) => (split === '*' || r.split === split) && r.excluded === excluded).reduce((a, r) => a + r.n, 0);
  return { training: count('training', 0), validation: count('validation', 0), excluded: count('*', 1) };
}

/** One task's queue (default: the starter task), newest label first, at most `limit` items. */
export function trainingQueue(db: Database, limit: number, taskId = 1): TrainingQueue {
  const items = (
    db
      .prepare(
        `SELECT l.id AS labelId, l.image_id AS imageId, l.series_id AS seriesId, coalesce(sp.split, ss.split) AS split,
                l.origin, l.created_at AS createdAt, ${EXCLUDED} AS excluded, p.name AS patientName, p.patient_id AS patientId,
                se.modality, se.description AS seriesDescription, i.instance_number AS instanceNumber
         ${NEW_LABELS} AND l.task_id = ?
         ORDER BY l.id DESC LIMIT ?`,
      )
      .all(taskId, limit) as (Omit<TrainingQueueItem, 'excluded'> & { excluded: number })[]
  ).map((r) => ({ ...r, excluded: r.excluded === 1 }));
  const counts = newLabelCounts(db, taskId);
  const lastRunAt =
    (db
      .prepare(
        "SELECT max(created_at) FROM training_runs WHERE status IN ('running', 'done') AND adopted_from IS NULL AND task_id = ?",
      )
      .pluck()
      .get(taskId) as string | null) ?? null;
  return { taskId, items, newTraining: counts.training, newValidation: counts.validation, excluded: counts.excluded, lastRunAt };
}

/** Whether a run of the task is waiting to start (a further automatic request would only repeat it). */
export function hasQueuedRun(db: Database, taskId = 1): boolean {
  return db.prepare("SELECT 1 FROM training_runs WHERE status = 'queued' AND task_id = ? LIMIT 1").get(taskId) !== undefined;
}
