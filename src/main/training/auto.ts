// Fine-tuning on its own (Settings → "Fine-tune automatically after N new training labels"): after
// a review decision, a run is queued once the new training labels reach N. Off at 0; the
// settings schema keeps N ≥ 4, so a run never follows every single label. One run trains at a
// time; while one waits in the queue, a further request adds nothing (that run will take every
// label there is when it starts).
import type { TrainingRun } from '../../shared/contract/training';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { hasQueuedRun, newLabelCounts } from './queue';

export interface AutoFineTuneDeps {
  db: Database;
  /** The task whose new labels count (default: the starter task); `start` queues a run of it. */
  taskId?: number;
  /** The training service's start (queues behind a running run). */
  start: () => Promise<TrainingRun>;
}

/**
 * Queues a run when `threshold` > 0 and the unused, non-excluded training labels number at least
 * `threshold`; returns it, or null when nothing was queued (off, too few, one already queued, or
 * the service refused, e.g. no validation label yet).
 */
export async function autoFineTune(d: AutoFineTuneDeps, threshold: number): Promise<TrainingRun | null> {
  if (threshold <= 0) return null;
  if (newLabelCounts(d.db, d.taskId).training < threshold || hasQueuedRun(d.db, d.taskId)) return null;
  try {
    return await d.start();
  } catch (e) {
    if (e instanceof ServiceError) return null; // the next decision tries again
    throw e;
  }
}
