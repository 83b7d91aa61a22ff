// Final labels from a decision: the prediction's maps (accept) or the saved draft (submit) become
// rows of `labels` with their provenance. Runs inside the decision's transaction, so a decision
// and its labels are written together or not at all.
import type { DraftState, LabelOrigin, LabelProvenance, SeriesLabels } from '../../shared/contract';
import { dice } from '../../shared/imaging/postprocess';
import { diceByLabel } from '../../shared/imaging/label-dice';
import { decodeRle, encodeRle } from '../../shared/imaging/rle';
import { splitFor, splitKey, type Split } from '../../shared/review/split';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';

export interface LabelContext {
  seriesId: number;
  /** The task the labels belong to (their values mean its labels). */
  taskId: number;
  modelVersionId: number | null;
  author: string;
  /** Reviewer's time on the series (seconds), shared out over its images. */
  seconds: number;
  /** One instant for every row of the decision (also the audit row's time). */
  at: string;
}

interface ImageRow {
  id: number;
  pixels: number;
}

/** A summary of the rows written, for the audit row. */
export interface WrittenLabels {
  labels: LabelProvenance[];
  split: { key: string; split: Split; decidedNow: boolean };
}

function images(db: Database, seriesId: number): ImageRow[] {
  return db
    .prepare('SELECT id, rows * columns AS pixels FROM images WHERE series_id = ? ORDER BY position_index, id')
    .all(seriesId) as ImageRow[];
}

/**
 * Accept (A) decides on what the reader sees: a series with a saved draft that has any labelled
 * slice is decided from the draft, by the same rule as submit (edited labels keep their edit
 * Dice), never replaced by the bare prediction behind the reader's back (issue 21). A draft with
 * nothing drawn in it (every stroke erased) is discarded and the prediction accepted unchanged.
 */
export function labelsForAccept(db: Database, c: LabelContext): WrittenLabels & { fromDraft: boolean } {
  // The task's own draft only: another task's drawing of the series is neither used nor discarded.
  if (db.prepare('SELECT 1 FROM draft_slices WHERE series_id = ? AND task_id = ? LIMIT 1').get(c.seriesId, c.taskId))
    return { ...labelsFromDraft(db, c), fromDraft: true };
  db.prepare('DELETE FROM drafts WHERE series_id = ? AND task_id = ?').run(c.seriesId, c.taskId);
  return { ...labelsFromPrediction(db, c), fromDraft: false };
}

/** Every image's prediction of the item's version, unchanged. */
export function labelsFromPrediction(db: Database, c: LabelContext): WrittenLabels {
  if (c.modelVersionId === null) throw new ServiceError('conflict', 'This series has no prediction to accept yet');
  const rows = db
    .prepare(
      `SELECT i.id AS imageId, p.mask, p.foreground_pixels AS foreground FROM images i
       LEFT JOIN predictions p ON p.image_id = i.id AND p.model_version_id = ? WHERE i.series_id = ? ORDER BY i.position_index, i.id`,
    )
    .all(c.modelVersionId, c.seriesId) as { imageId: number; mask: Buffer | null; foreground: number | null }[];
  const missing = rows.filter((r) => r.mask === null).length;
  if (rows.length === 0 || missing > 0)
    throw new ServiceError(
      'conflict',
      `The prediction is missing for ${missing} of ${rows.length} images: segment the series again`,
    );
  supersede(db, c.seriesId, c.at, c.taskId);
  const share = c.seconds / rows.length;
  const labels = rows.map((r) => insert(db, c, r.imageId, r.mask!, r.foreground!, 'accepted', share, null, null));
  return { labels, split: decideSplit(db, c.seriesId) };
}

/**
 * Submit: the saved draft becomes the label of every image (a slice without a draft row is
 * empty). Per image: a map equal to the image's current stored label keeps that label's
 * provenance (origin, author, model version, edit Dice: the viewer starts a draft from the stored
 * label, and a slice left as it was is no one's edit now); else, against the item's prediction
 * when there is one: identical → `accepted`, else `edited` with Dice(prediction, label) and the
 * pixels whose value changed; no prediction → `drawn`. The draft is consumed.
 */
export function labelsFromDraft(db: Database, c: LabelContext): WrittenLabels {
  if (!db.prepare('SELECT 1 FROM drafts WHERE series_id = ? AND task_id = ?').get(c.seriesId, c.taskId)) {
    throw new ServiceError('conflict', 'Nothing to submit: edit the label first (E), it is saved as a draft as you draw');
  }
  const drafts = new Map(
    (
      db
        .prepare('SELECT image_id AS imageId, labels FROM draft_slices WHERE series_id = ? AND task_id = ?')
        .all(c.seriesId, c.taskId) as {
        imageId: number;
        labels: Buffer;
      }[]
    ).map((r) => [r.imageId, r.labels]),
  );
  const predictions = new Map(
    c.modelVersionId === null
      ? []
      : (
          db
            .prepare(
              'SELECT p.image_id AS imageId, p.mask FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.series_id = ? AND p.model_version_id = ?',
            )
            .all(c.seriesId, c.modelVersionId) as { imageId: number; mask: Buffer }[]
        ).map((r) => [r.imageId, r.mask]),
  );
  const all = images(db, c.seriesId);
  const current = currentLabels(db, c.seriesId, c.taskId);
  supersede(db, c.seriesId, c.at, c.taskId);
  const share = c.seconds / Math.max(1, all.length);
  const labels = all.map((image) => {
    const stored = drafts.get(image.id);
    const map = stored ? decodeRle(stored, image.pixels) : new Uint8Array(image.pixels);
    const rle = stored ?? Buffer.from(encodeRle(map));
    let foreground = 0;
    for (let i = 0; i < map.length; i++) if (map[i] !== 0) foreground++;
    // A slice the draft left as its stored label was (the viewer starts from it) keeps that
    // label's provenance: nobody edited it now.
    const kept = current.get(image.id);
    if (kept && sameMap(decodeRle(kept.mask, image.pixels), map)) {
      const byLabel = kept.editDiceByLabel === null ? null : (JSON.parse(kept.editDiceByLabel) as Record<number, number>);
      const from = { ...c, modelVersionId: kept.modelVersionId, author: kept.author };
      return insert(db, from, image.id, rle, foreground, kept.origin, share, kept.editDice, kept.pixelsChanged, byLabel);
    }
    const predicted = predictions.get(image.id);
    if (!predicted) return insert(db, { ...c, modelVersionId: null }, image.id, rle, foreground, 'drawn', share, null, null);
    const p = decodeRle(predicted, image.pixels);
    let changed = 0;
    for (let i = 0; i < map.length; i++) if (map[i] !== p[i]) changed++;
    if (changed === 0) return insert(db, c, image.id, rle, foreground, 'accepted', share, null, null);
    return insert(db, c, image.id, rle, foreground, 'edited', share, dice(p, map), changed, diceByLabel(p, map));
  });
  db.prepare('DELETE FROM drafts WHERE series_id = ? AND task_id = ?').run(c.seriesId, c.taskId);
  return { labels, split: decideSplit(db, c.seriesId) };
}

interface CurrentLabel {
  mask: Buffer;
  origin: LabelOrigin;
  modelVersionId: number | null;
  author: string;
  editDice: number | null;
  pixelsChanged: number | null;
  editDiceByLabel: string | null;
}

/**
 * Puts a series' patient in `split`, replacing a decided one: for set-ups that must know which
 * side each patient is on (the 3D starter's script, tests), never called by the product, whose
 * split is decided once by decideSplit.
 */
export function setSeriesSplit(db: Database, seriesId: number, split: Split): void {
  db.prepare('INSERT OR REPLACE INTO splits (split_key, split) VALUES (?, ?)').run(seriesSplitKey(db, seriesId), split);
}

/** The series' current labels of one task by image id, with their provenance. */
function currentLabels(db: Database, seriesId: number, taskId: number): Map<number, CurrentLabel> {
  const rows = db
    .prepare(
      `SELECT image_id AS imageId, mask, origin, model_version_id AS modelVersionId, author, edit_dice AS editDice,
              pixels_changed AS pixelsChanged, edit_dice_by_label AS editDiceByLabel
       FROM labels WHERE series_id = ? AND task_id = ? AND superseded_at IS NULL`,
    )
    .all(seriesId, taskId) as (CurrentLabel & { imageId: number })[];
  return new Map(rows.map((r) => [r.imageId, r]));
}

function sameMap(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Marks the series' current labels of one task superseded (other tasks' stay); returns how many. */
export function supersede(db: Database, seriesId: number, at: string, taskId: number): number {
  return db
    .prepare('UPDATE labels SET superseded_at = ? WHERE series_id = ? AND task_id = ? AND superseded_at IS NULL')
    .run(at, seriesId, taskId).changes;
}

function insert(
  db: Database,
  c: LabelContext,
  imageId: number,
  mask: Uint8Array,
  foreground: number,
  origin: LabelOrigin,
  seconds: number,
  editDice: number | null,
  pixelsChanged: number | null,
  editDiceByLabel: Record<number, number> | null = null,
): LabelProvenance {
  const id = db
    .prepare(
      `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, model_version_id, author, seconds, edit_dice, pixels_changed, created_at,
         task_id, edit_dice_by_label)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id`,
    )
    .pluck()
    .get(
      imageId,
      c.seriesId,
      mask,
      foreground,
      origin,
      c.modelVersionId,
      c.author,
      seconds,
      editDice,
      pixelsChanged,
      c.at,
      c.taskId,
      editDiceByLabel ? JSON.stringify(editDiceByLabel) : null,
    ) as number;
  return {
    labelId: id,
    taskId: c.taskId,
    imageId,
    origin,
    modelVersionId: c.modelVersionId,
    author: c.author,
    seconds,
    editDice,
    editDiceByLabel,
    pixelsChanged,
    foregroundPixels: foreground,
    createdAt: c.at,
    excluded: false,
  };
}

/** The split key of a series' patient (src/shared/review/split.ts `splitKey`). */
export function seriesSplitKey(db: Database, seriesId: number): string {
  const row = db
    .prepare(
      `SELECT p.patient_key AS patientKey, p.patient_id AS patientId, st.study_uid AS studyUid
       FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id WHERE se.id = ?`,
    )
    .get(seriesId) as { patientKey: string; patientId: string; studyUid: string };
  return splitKey(row, row.studyUid);
}

/**
 * The series' patient gets its split when its first label is submitted (or pulled from the PACS,
 * dicomweb/pull.ts), by the rule in src/shared/review/split.ts, and keeps it: an existing row is
 * never rewritten.
 */
export function decideSplit(db: Database, seriesId: number): WrittenLabels['split'] {
  const key = seriesSplitKey(db, seriesId);
  const decidedNow =
    db.prepare('INSERT INTO splits (split_key, split) VALUES (?, ?) ON CONFLICT DO NOTHING').run(key, splitFor(key)).changes > 0;
  const split = db.prepare('SELECT split FROM splits WHERE split_key = ?').pluck().get(key) as Split;
  return { key, split, decidedNow };
}

/** The series' current labels of one task (default: the starter task) with their provenance. */
export function seriesLabels(db: Database, seriesId: number, taskId = 1): SeriesLabels {
  const key = seriesSplitKey(db, seriesId);
  const split = (db.prepare('SELECT split FROM splits WHERE split_key = ?').pluck().get(key) as Split | undefined) ?? null;
  const rows = db
    .prepare(
      `SELECT l.id AS labelId, l.task_id AS taskId, l.image_id AS imageId, l.origin, l.model_version_id AS modelVersionId, l.author, l.seconds,
              l.edit_dice AS editDice, l.edit_dice_by_label AS editDiceByLabel, l.pixels_changed AS pixelsChanged, l.foreground_pixels AS foregroundPixels, l.created_at AS createdAt,
              EXISTS (SELECT 1 FROM training_exclusions x WHERE x.image_id = l.image_id) AS excluded
       FROM labels l JOIN images i ON i.id = l.image_id WHERE l.series_id = ? AND l.task_id = ? AND l.superseded_at IS NULL
       ORDER BY i.position_index, i.id`,
    )
    .all(seriesId, taskId) as (Omit<LabelProvenance, 'excluded' | 'editDiceByLabel'> & {
    excluded: number;
    editDiceByLabel: string | null;
  })[];
  return {
    seriesId,
    taskId,
    split,
    splitKey: key,
    labels: rows.map((r) => ({
      ...r,
      editDiceByLabel: r.editDiceByLabel === null ? null : (JSON.parse(r.editDiceByLabel) as Record<number, number>),
      excluded: r.excluded === 1,
    })),
    draft: draftState(db, seriesId, taskId),
  };
}

/**
 * The saved draft of a task (what the viewer shows as the working label) against the task's
 * current label, slice by slice (a slice without a draft row or without a label is empty): so the
 * viewer can say when what it shows is not what is stored.
 */
export function draftState(db: Database, seriesId: number, taskId: number): DraftState {
  if (!db.prepare('SELECT 1 FROM drafts WHERE series_id = ? AND task_id = ?').get(seriesId, taskId)) return 'none';
  const rows = db
    .prepare(
      `SELECT i.rows * i.columns AS pixels, d.labels AS draft, l.mask AS label FROM images i
       LEFT JOIN draft_slices d ON d.series_id = i.series_id AND d.task_id = @task AND d.image_id = i.id
       LEFT JOIN labels l ON l.image_id = i.id AND l.task_id = @task AND l.superseded_at IS NULL
       WHERE i.series_id = @series`,
    )
    .all({ series: seriesId, task: taskId }) as { pixels: number; draft: Buffer | null; label: Buffer | null }[];
  if (rows.every((r) => r.label === null)) return 'unsubmitted';
  for (const r of rows) {
    if (r.draft === null && r.label === null) continue;
    const a = r.draft ? decodeRle(r.draft, r.pixels) : new Uint8Array(r.pixels);
    const b = r.label ? decodeRle(r.label, r.pixels) : new Uint8Array(r.pixels);
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return 'differs';
  }
  return 'matches';
}

/** The stored map of one image's current label of a task (default: the starter task), for tests and exports. */
export function labelMap(db: Database, imageId: number, taskId = 1): Uint8Array | null {
  const row = db
    .prepare(
      `SELECT l.mask, i.rows * i.columns AS pixels FROM labels l JOIN images i ON i.id = l.image_id
       WHERE l.image_id = ? AND l.task_id = ? AND l.superseded_at IS NULL`,
    )
    .get(imageId, taskId) as { mask: Buffer; pixels: number } | undefined;
  return row ? decodeRle(row.mask, row.pixels) : null;
}
