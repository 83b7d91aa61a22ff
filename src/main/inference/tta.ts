// Which test-time flips a segmentation runs (issue: lateral labels). The setting (or a job's own
// number) asks; the task's labels and the model's kind decide what runs, and what runs is what
// is stored (predictions.tta_flips, the job's result, the gate's ttaFlips).
import { ttaFlipsForTask, type LabelForLaterality } from '../../shared/model/laterality';
import { VOLUME_TTA_FLIPS } from './volume-series';

/**
 * The flips a job asks the worker for and the flips that run (stored in predictions.tta_flips and
 * the job's result), from the requested number (the job's, else the setting): a 2D model uses
 * none for a task whose labels have a side (laterality.ts: a mirror swaps right and left), the
 * requested number otherwise; a 3D model is asked for the requested number (it asks for the heat
 * map) and mirrors along no axis (volume-series.ts VOLUME_MIRROR_AXES).
 */
export function ttaFlipsOfJob(
  requested: 0 | 2 | 4,
  dims: 2 | 3,
  labels: readonly LabelForLaterality[],
): { request: 0 | 2 | 4; used: 0 | 2 | 4 } {
  if (dims === 3) return { request: requested, used: VOLUME_TTA_FLIPS };
  const flips = ttaFlipsForTask(requested, labels);
  return { request: flips, used: flips };
}
