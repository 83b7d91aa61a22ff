// What an export reads from the study database: a series' images in display order, their
// current labels (or the active model's predictions when a series has none), and the patient
// and study the series belongs to.
import { decodeRle } from '../../shared/imaging/rle';
import type { Database } from '../db/database';
import { STARTER_TASK_ID } from '../db/migrations/0130-tasks';

export interface SeriesRow {
  id: number;
  seriesUid: string;
  studyUid: string;
  modality: string;
  sourceFormat: string;
  seriesNumber: number | null;
  description: string;
  rows: number;
  columns: number;
  patientKey: string;
  patientId: string;
  patientName: string;
  birthDate: string;
  sex: string;
  studyDate: string;
  studyTime: string;
  accession: string;
  studyDescription: string;
}

export interface ImageRow {
  id: number;
  fileId: number;
  frameIndex: number;
  sopInstanceUid: string | null;
  rows: number;
  columns: number;
  position: [number, number, number] | null;
  orientation: [number, number, number, number, number, number] | null;
  pixelSpacing: [number, number] | null;
  storePath: string;
  packOffset: number | null;
  size: number;
  format: string;
}

export type LabelOrigin = 'accepted' | 'edited' | 'drawn' | 'imported';

/** The label map of one image and where it came from. */
export interface ImageLabel {
  imageId: number;
  map: Uint8Array;
  origin: LabelOrigin | 'prediction';
  modelVersionId: number | null;
  author: string;
}

export interface ModelVersionRow {
  id: number;
  modelId: string;
  name: string;
  version: string;
  labels: string[];
}

export function seriesByUid(db: Database, seriesUid: string): SeriesRow | undefined {
  return db.prepare(`${SERIES_SELECT} WHERE se.series_uid = ?`).get(seriesUid) as SeriesRow | undefined;
}

export function seriesById(db: Database, id: number): SeriesRow | undefined {
  return db.prepare(`${SERIES_SELECT} WHERE se.id = ?`).get(id) as SeriesRow | undefined;
}

export function seriesOfStudy(db: Database, studyUid: string): SeriesRow[] {
  return db.prepare(`${SERIES_SELECT} WHERE st.study_uid = ? ORDER BY se.series_number, se.id`).all(studyUid) as SeriesRow[];
}

/** Series with at least one current label of the task (the nnU-Net dataset's cases). */
export function labelledSeries(db: Database, taskId: number = STARTER_TASK_ID): SeriesRow[] {
  return db
    .prepare(
      `${SERIES_SELECT} WHERE EXISTS (SELECT 1 FROM labels l WHERE l.series_id = se.id AND l.task_id = ? AND l.superseded_at IS NULL) ORDER BY se.id`,
    )
    .all(taskId) as SeriesRow[];
}

const SERIES_SELECT = `
  SELECT se.id, se.series_uid AS seriesUid, st.study_uid AS studyUid, se.modality, se.source_format AS sourceFormat,
         se.series_number AS seriesNumber, se.description, se.rows, se.columns,
         p.patient_key AS patientKey, p.patient_id AS patientId, p.name AS patientName, p.birth_date AS birthDate, p.sex,
         st.study_date AS studyDate, st.study_time AS studyTime, st.accession, st.description AS studyDescription
  FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id`;

export function seriesImages(db: Database, seriesId: number): ImageRow[] {
  const rows = db
    .prepare(
      `SELECT i.id, i.file_id AS fileId, i.frame_index AS frameIndex, i.sop_instance_uid AS sopInstanceUid, i.rows, i.columns,
              i.image_position AS position, i.image_orientation AS orientation, i.pixel_spacing_row AS psr, i.pixel_spacing_col AS psc,
              f.store_path AS storePath, f.pack_offset AS packOffset, f.size, f.format
       FROM images i JOIN files f ON f.id = i.file_id WHERE i.series_id = ? ORDER BY i.position_index, i.id`,
    )
    .all(seriesId) as (Omit<ImageRow, 'position' | 'orientation' | 'pixelSpacing'> & {
    position: string | null;
    orientation: string | null;
    psr: number | null;
    psc: number | null;
  })[];
  return rows.map(({ psr, psc, position, orientation, ...r }) => ({
    ...r,
    position: position ? (JSON.parse(position) as ImageRow['position']) : null,
    orientation: orientation ? (JSON.parse(orientation) as ImageRow['orientation']) : null,
    pixelSpacing: psr && psc ? [psr, psc] : null,
  }));
}

/**
 * The current label of every image of the series that has one; for images without, the active
 * model's prediction when `fallBackToPredictions`. Images with neither are absent.
 */
export function seriesLabels(
  db: Database,
  seriesId: number,
  fallBackToPredictions: boolean,
  taskId: number = STARTER_TASK_ID,
): Map<number, ImageLabel> {
  const out = new Map<number, ImageLabel>();
  const labels = db
    .prepare(
      `SELECT l.image_id AS imageId, l.mask, l.origin, l.model_version_id AS modelVersionId, l.author, i.rows * i.columns AS pixels
       FROM labels l JOIN images i ON i.id = l.image_id WHERE l.series_id = ? AND l.task_id = ? AND l.superseded_at IS NULL`,
    )
    .all(seriesId, taskId) as {
    imageId: number;
    mask: Uint8Array;
    origin: LabelOrigin;
    modelVersionId: number | null;
    author: string;
    pixels: number;
  }[];
  for (const l of labels)
    out.set(l.imageId, {
      imageId: l.imageId,
      map: decodeRle(l.mask, l.pixels),
      origin: l.origin,
      modelVersionId: l.modelVersionId,
      author: l.author,
    });
  if (!fallBackToPredictions || out.size > 0) return out;
  const predictions = db
    .prepare(
      `SELECT p.image_id AS imageId, p.mask, p.model_version_id AS modelVersionId, i.rows * i.columns AS pixels
       FROM predictions p JOIN images i ON i.id = p.image_id JOIN model_versions m ON m.id = p.model_version_id AND m.status = 'active' AND m.task_id = ?
       WHERE i.series_id = ?`,
    )
    .all(taskId, seriesId) as { imageId: number; mask: Uint8Array; modelVersionId: number; pixels: number }[];
  for (const p of predictions)
    out.set(p.imageId, {
      imageId: p.imageId,
      map: decodeRle(p.mask, p.pixels),
      origin: 'prediction',
      modelVersionId: p.modelVersionId,
      author: '',
    });
  return out;
}

export function modelVersion(db: Database, id: number): ModelVersionRow | undefined {
  const row = db.prepare('SELECT id, model_id AS modelId, name, version, manifest FROM model_versions WHERE id = ?').get(id) as
    (Omit<ModelVersionRow, 'labels'> & { manifest: string }) | undefined;
  if (!row) return undefined;
  const manifest = JSON.parse(row.manifest) as { output?: { labels?: string[] } };
  return { id: row.id, modelId: row.modelId, name: row.name, version: row.version, labels: manifest.output?.labels ?? [] };
}

/** The frozen split of a series' patient (or study), when one was decided. */
export function splitOf(db: Database, series: SeriesRow): 'training' | 'validation' | null {
  const row = db
    .prepare('SELECT split FROM splits WHERE split_key IN (?, ?) ORDER BY split_key LIKE ? DESC')
    .get(`patient:${series.patientKey}`, `study:${series.studyUid}`, 'patient:%') as
    { split: 'training' | 'validation' } | undefined;
  return row?.split ?? null;
}
