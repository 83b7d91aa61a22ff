// Inference queries: which series wait to be segmented, a series' images and status around a
// segmentation job, the job already queued for a request, and a stored prediction; as named
// functions beside the engine, so a test can run EXPLAIN QUERY PLAN on the real statements.
import type { Database } from '../db/database';
import { STARTER_TASK_ID } from '../models/registry';

export type SegmentationStatus = 'new' | 'segmenting' | 'segmented';

/** Studies with a series not segmented yet (imported while no app ran, e.g. by `lgms import`). */
export function studiesWithNewSeries(db: Database): number[] {
  return db.prepare("SELECT DISTINCT study_id FROM series WHERE status = 'new'").pluck().all() as number[];
}

/** The inference job queued or running for the same request (series, TTA flips, task); undefined when none. */
export function pendingInferenceJob(
  db: Database,
  seriesId: number,
  ttaFlips: number | undefined,
  taskId: number,
): number | undefined {
  return db
    .prepare(
      `SELECT id FROM jobs WHERE kind = 'inference' AND status IN ('queued', 'running') AND json_extract(params, '$.seriesId') = ?
         AND coalesce(json_extract(params, '$.ttaFlips'), -1) = ? AND coalesce(json_extract(params, '$.taskId'), ${STARTER_TASK_ID}) = ?`,
    )
    .pluck()
    .get(seriesId, ttaFlips ?? -1, taskId) as number | undefined;
}

/** The series' description and modality (a job's title); undefined when there is no such series. */
export function seriesTitle(db: Database, seriesId: number): { description: string; modality: string } | undefined {
  return db.prepare('SELECT description, modality FROM series WHERE id = ?').get(seriesId) as
    { description: string; modality: string } | undefined;
}

/** Series with an image the version has no prediction of, by id. */
export function seriesMissingPredictions(db: Database, versionId: number): number[] {
  return db
    .prepare(
      `SELECT s.id FROM series s WHERE EXISTS (SELECT 1 FROM images i WHERE i.series_id = s.id
         AND NOT EXISTS (SELECT 1 FROM predictions p WHERE p.image_id = i.id AND p.model_version_id = ?)) ORDER BY s.id`,
    )
    .pluck()
    .all(versionId) as number[];
}

/** The task's series waiting for review with another version's prediction than `versionId`, by id. */
export function reviewSeriesOfOtherVersions(db: Database, taskId: number, versionId: number): number[] {
  return db
    .prepare(
      `SELECT series_id FROM review_items WHERE task_id = ? AND state = 'to-review' AND model_version_id IS NOT NULL AND model_version_id != ?
       ORDER BY series_id`,
    )
    .pluck()
    .all(taskId, versionId) as number[];
}

/** A stored prediction of one image by one version, with the image's size. */
export interface PredictionRow {
  mask: Buffer;
  uncertainty: Buffer | null;
  foreground_pixels: number;
  entropy: number;
  tta_dice: number | null;
  rows: number;
  columns: number;
}

export function predictionRow(db: Database, imageId: number, versionId: number): PredictionRow | undefined {
  return db
    .prepare(
      `SELECT p.mask, p.uncertainty, p.foreground_pixels, p.entropy, p.tta_dice, i.rows, i.columns
       FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.image_id = ? AND p.model_version_id = ?`,
    )
    .get(imageId, versionId) as PredictionRow | undefined;
}

/** The series of some studies not segmented yet, with what applicability reads (modality, photometric) and their image count. */
export function newSeriesOfStudies(
  db: Database,
  studyIds: number[],
): { id: number; modality: string; photometric: string; images: number }[] {
  return db
    .prepare(
      `SELECT se.id, se.modality, coalesce((SELECT photometric FROM images WHERE series_id = se.id LIMIT 1), '') AS photometric,
              se.image_count AS images
       FROM series se WHERE se.status = 'new' AND se.study_id IN (${studyIds.map(() => '?').join(',')})`,
    )
    .all(...studyIds) as { id: number; modality: string; photometric: string; images: number }[];
}

/** The task's name; undefined when there is no such task. */
export function taskName(db: Database, taskId: number): string | undefined {
  return db.prepare('SELECT name FROM tasks WHERE id = ?').pluck().get(taskId) as string | undefined;
}

/** The series' images in display order. */
export function seriesImageIds(db: Database, seriesId: number): number[] {
  return db.prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index').pluck().all(seriesId) as number[];
}

/**
 * Sets every series a stopped process left "segmenting" back to "new": a series "segmenting" with
 * no inference job running (after jobs/store.ts recoverInterrupted, only another live process's
 * jobs still run) was being segmented by a job the app quit or died in the middle of. "new" is
 * what the worklist then shows, and what the next start's automatic segmentation picks up.
 * Returns the number of series. Call once at start, after recoverInterrupted.
 */
export function resetInterruptedSegmentations(db: Database): number {
  return db
    .prepare(
      `UPDATE series SET status = 'new' WHERE status = 'segmenting' AND NOT EXISTS (SELECT 1 FROM jobs j
         WHERE j.kind = 'inference' AND j.status = 'running' AND json_extract(j.params, '$.seriesId') = series.id)`,
    )
    .run().changes;
}

export function setSeriesStatus(db: Database, seriesId: number, status: SegmentationStatus): void {
  db.prepare('UPDATE series SET status = ? WHERE id = ?').run(status, seriesId);
}

/** The study a series belongs to. */
export function studyOfSeries(db: Database, seriesId: number): number {
  return db.prepare('SELECT study_id FROM series WHERE id = ?').pluck().get(seriesId) as number;
}
