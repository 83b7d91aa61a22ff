// A label map from another tool becomes labels of a task (issue 22): a DICOM SEG kept on import
// (table label_sets) or a NIfTI label map. Each has a proposal (segments → the task's labels, and
// what the reader must decide) and an apply step that takes the reader's choices; an import
// attaches a SEG by itself only when nothing is left to decide and no label would be replaced.
// A SEG whose series is not imported yet stays pending and is tried again after every import.
import { createRequire } from 'node:module';
import { existsSync, readFileSync } from 'node:fs';
import type { LabelMappingApplied, LabelMappingProposal, LabelSetSummary, Task } from '../../shared/contract';
import type { CodedConcept } from '../../shared/model/codes';
import type { Database } from '../db/database';
import { seriesById, seriesByUid, seriesImages, seriesOfStudy, type ImageRow, type SeriesRow } from '../export/queries';
import type { Dataset } from '../export/write-part10';
import { readSegDocument, refusedSegSyntax, SegReadError, type SegDocument, type SegFrame } from '../export/seg-read';
import { axialLayout, axialSlices, readVolume } from '../imaging/volume/read';
import type { ContentStore } from '../store/content-store';
import { readTask } from '../tasks/queries';
import {
  composeLabelMaps,
  MappingError,
  placeFrames,
  proposeMapping,
  resolveMapping,
  type ForeignSegment,
  type MappingChoice,
} from './label-mapping';
import { labelledImages, writeTaskLabels } from './task-labels';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean },
      ): { dict: Dataset };
    };
    DicomMetaDictionary: { naturalizeDataset(dict: Dataset): Dataset };
  };
};

export type LabelSetStatus = LabelSetSummary['status'];

export class LabelImportError extends Error {}

interface Source {
  segments: ForeignSegment[];
  frames: SegFrame[];
  rows: number;
  columns: number;
  series: SeriesRow | undefined;
  seriesUid: string;
  frameOfReferenceUid: string;
  author: string;
  notes: string[];
}

function taskOf(db: Database, taskId: number): Task {
  const task = readTask(db, taskId);
  if (!task) throw new LabelImportError(`there is no task ${taskId}`);
  return task;
}

// --- DICOM SEG kept in label_sets ---------------------------------------------------------

interface LabelSetRow {
  id: number;
  sopInstanceUid: string;
  referencedSeriesUid: string;
  taskId: number;
  status: LabelSetStatus;
  storePath: string;
  packOffset: number | null;
  size: number;
  originalPath: string;
  jobId: number | null;
}

function labelSetRow(db: Database, id: number): LabelSetRow {
  const row = db
    .prepare(
      `SELECT l.id, l.sop_instance_uid AS sopInstanceUid, l.referenced_series_uid AS referencedSeriesUid, l.task_id AS taskId, l.status,
              f.store_path AS storePath, f.pack_offset AS packOffset, f.size, f.original_path AS originalPath, l.job_id AS jobId
       FROM label_sets l JOIN files f ON f.id = l.file_id WHERE l.id = ?`,
    )
    .get(id) as LabelSetRow | undefined;
  if (!row) throw new LabelImportError(`there is no imported DICOM SEG ${id}`);
  return row;
}

/**
 * The series a SEG waits for without being read: the one it names (Referenced Series Sequence)
 * when that series is not imported. Such a SEG is read whole (dcmjs, every functional group: 4-15
 * ms a SEG, cold) when its series comes, not at every import in between (issue 24's import
 * regression). Null for any other SEG, and for one in an encoding read nowhere, which the
 * caller's read refuses now, as before.
 */
function waitsUnread(db: Database, store: ContentStore, row: LabelSetRow): string | null {
  if (!row.referencedSeriesUid || seriesByUid(db, row.referencedSeriesUid)) return null;
  if (refusedSegSyntax(store.read({ relative: row.storePath, offset: row.packOffset }, row.size))) return null;
  return row.referencedSeriesUid;
}

function segSource(db: Database, store: ContentStore, row: LabelSetRow): Source {
  return segSourceOf(db, store.read({ relative: row.storePath, offset: row.packOffset }, row.size), store);
}

/**
 * The series a SEG without a Referenced Series Sequence lies on: a series of its study (else of
 * any study) whose Frame of Reference is the SEG's and on whose images every frame with pixels
 * lies by Plane Position (Patient). Undefined when none is imported (yet).
 */
function seriesByFrameOfReference(db: Database, store: ContentStore | null, doc: SegDocument): SeriesRow | undefined {
  if (!store || !doc.frameOfReferenceUid) return undefined;
  const inStudy = doc.studyInstanceUid ? seriesOfStudy(db, doc.studyInstanceUid) : [];
  const candidates =
    inStudy.length > 0
      ? inStudy
      : (db.prepare('SELECT series_uid FROM series ORDER BY id').pluck().all() as string[]).map((uid) => seriesByUid(db, uid)!);
  for (const s of candidates) {
    if (s.rows !== doc.rows || s.columns !== doc.columns) continue;
    const images = seriesImages(db, s.id);
    if (!images.every((im) => im.position) || seriesFrameOfReference(store, images) !== doc.frameOfReferenceUid) continue;
    try {
      placeFrames(doc.frames, images, {
        segFrameOfReference: doc.frameOfReferenceUid,
        seriesFrameOfReference: doc.frameOfReferenceUid,
      });
      return s;
    } catch (e) {
      if (!(e instanceof MappingError)) throw e;
    }
  }
  return undefined;
}

function segSourceOf(db: Database, bytes: Uint8Array, store: ContentStore | null): Source {
  let doc: SegDocument;
  try {
    doc = readSegDocument(bytes);
  } catch (e) {
    if (e instanceof SegReadError) throw new LabelImportError(`the DICOM SEG cannot be read: ${e.message}`);
    throw e;
  }
  const notes: string[] = [];
  if (doc.segmentationType === 'FRACTIONAL')
    notes.push(
      `FRACTIONAL SEG: a pixel belongs to a segment where its value is at least half the Maximum Fractional Value (${doc.maximumFractionalValue})` +
        (doc.fractionalAboveMaximum ? `; ${doc.fractionalAboveMaximum} pixels above that maximum were read as 1.0` : ''),
    );
  const declared = new Set(doc.segments.map((s) => s.number));
  const undeclared = [...new Set(doc.frames.map((f) => f.segment))].filter((n) => !declared.has(n));
  if (undeclared.length)
    throw new LabelImportError(`frames refer to segments ${undeclared.join(', ')}, which the SEG does not describe`);
  const series = doc.referencedSeriesUid ? seriesByUid(db, doc.referencedSeriesUid) : seriesByFrameOfReference(db, store, doc);
  const numbers = doc.segments.map((s) => s.number).sort((a, b) => a - b);
  if (numbers.some((n, i) => n !== i + 1))
    notes.push(`segment numbers ${numbers.join(', ')} are not 1…${numbers.length}: read as they are`);
  return {
    segments: doc.segments.map((s) => ({ number: s.number, label: s.label, category: s.category, type: s.type })),
    frames: doc.frames,
    rows: doc.rows,
    columns: doc.columns,
    series,
    seriesUid: doc.referencedSeriesUid || series?.seriesUid || `in Frame of Reference ${doc.frameOfReferenceUid}`,
    frameOfReferenceUid: doc.frameOfReferenceUid,
    author: doc.contentCreatorName.replace(/\^+$/, ''),
    notes,
  };
}

/** The proposal for an imported SEG under a task: nothing is written. */
export function proposeLabelSet(db: Database, store: ContentStore, labelSetId: number, taskId: number): LabelMappingProposal {
  const row = labelSetRow(db, labelSetId);
  return propose(db, store, segSource(db, store, row), taskOf(db, taskId));
}

/**
 * Makes an imported SEG's segments labels of the task with the reader's choices (see
 * resolveMapping); the label set becomes `attached`. Throws LabelImportError / MappingError.
 */
export function applyLabelSet(
  db: Database,
  store: ContentStore,
  labelSetId: number,
  taskId: number,
  choices: readonly MappingChoice[],
): LabelMappingApplied {
  const row = labelSetRow(db, labelSetId);
  const task = taskOf(db, taskId);
  const source = segSource(db, store, row);
  const applied = apply(db, store, source, task, choices, 'a DICOM SEG');
  setStatus(db, labelSetId, 'attached', applied, applied.seriesId, taskId);
  return applied;
}

/**
 * A SEG's bytes straight to labels of the task (the proposal plus `choices`), without keeping it
 * as a label set: for callers that hold the file (tests, tools). Throws LabelImportError / MappingError.
 */
export function importSegBytes(
  db: Database,
  store: ContentStore | null,
  bytes: Uint8Array,
  taskId: number,
  choices: readonly MappingChoice[] = [],
  fallbackAuthor = '',
): LabelMappingApplied {
  const source = segSourceOf(db, bytes, store);
  return apply(db, store, { ...source, author: source.author || fallbackAuthor }, taskOf(db, taskId), choices, 'a DICOM SEG');
}

/** The proposal for a SEG's bytes under a task (see proposeLabelSet). */
export function proposeSegBytes(
  db: Database,
  store: ContentStore | null,
  bytes: Uint8Array,
  taskId: number,
): LabelMappingProposal {
  return propose(db, store, segSourceOf(db, bytes, store), taskOf(db, taskId));
}

function setStatus(
  db: Database,
  id: number,
  status: LabelSetStatus,
  detail: unknown,
  seriesId: number | null,
  taskId?: number,
): void {
  db.prepare('UPDATE label_sets SET status = ?, detail = ?, series_id = ?, task_id = coalesce(?, task_id) WHERE id = ?').run(
    status,
    JSON.stringify(detail),
    seriesId,
    taskId ?? null,
    id,
  );
}

/** One pending SEG's outcome after an import: for the import report. */
export interface PendingOutcome {
  labelSetId: number;
  path: string;
  jobId: number | null;
  seriesUid: string | null;
  status: LabelSetStatus;
  message: string;
}

/**
 * Tries every pending SEG (status `pending`): still pending while its series is not imported;
 * attached when every segment maps to a label and no current label would be replaced;
 * `needs-mapping` (with the proposal) when the reader must decide; `failed` when it cannot be
 * placed. Run after every import (run-import.ts) and safe to run any time.
 */
export function resolvePendingLabelSets(db: Database, store: ContentStore): PendingOutcome[] {
  const ids = db.prepare("SELECT id FROM label_sets WHERE status = 'pending' ORDER BY id").pluck().all() as number[];
  const out: PendingOutcome[] = [];
  for (const id of ids) {
    const row = labelSetRow(db, id);
    const base = { labelSetId: id, path: row.originalPath, jobId: row.jobId, seriesUid: row.referencedSeriesUid || null };
    try {
      const task = taskOf(db, row.taskId);
      const waitingFor = waitsUnread(db, store, row);
      const source = waitingFor === null ? segSource(db, store, row) : null;
      if (!source?.series) {
        const message = `DICOM SEG waiting for its series ${waitingFor ?? source?.seriesUid}, which is not imported yet: it becomes labels of task ${task.name} when that series is imported`;
        setStatus(db, id, 'pending', { message }, null);
        out.push({ ...base, status: 'pending', message });
        continue;
      }
      const proposal = propose(db, store, source, task);
      if (proposal.blocked) {
        // It lies on no image of its series (sizes, positions, frame of reference): nothing to choose.
        const message = `DICOM SEG not attached to series ${source.series.seriesUid}: ${proposal.blocked}`;
        setStatus(db, id, 'failed', { message, proposal }, source.series.id);
        out.push({ ...base, status: 'failed', message });
        continue;
      }
      if (proposal.unresolved.length > 0 || proposal.wouldReplace > 0) {
        const why =
          proposal.unresolved.length > 0
            ? proposal.segments
                .filter((s) => s.value === null)
                .map((s) => `segment ${s.number} "${s.label}": ${s.problem}`)
                .join('; ')
            : `${proposal.wouldReplace} images already have labels of task ${task.name}: confirm to replace them`;
        const message = `DICOM SEG for series ${source.series.seriesUid} needs the reader's choice before it becomes labels of task ${task.name}: ${why}`;
        setStatus(db, id, 'needs-mapping', { message, proposal }, source.series.id);
        out.push({ ...base, status: 'needs-mapping', message });
        continue;
      }
      const applied = apply(db, store, source, task, [], 'a DICOM SEG');
      setStatus(db, id, 'attached', applied, applied.seriesId);
      out.push({ ...base, status: 'attached', message: applied.message });
    } catch (e) {
      if (!(e instanceof LabelImportError || e instanceof MappingError)) throw e;
      const message = `DICOM SEG not attached: ${e.message}`;
      setStatus(db, id, 'failed', { message }, null);
      out.push({ ...base, status: 'failed', message });
    }
  }
  return out;
}

// --- shared steps ----------------------------------------------------------------------------

function propose(db: Database, store: ContentStore | null, source: Source, task: Task): LabelMappingProposal {
  const mapping = proposeMapping(task, source.segments);
  const base = { ...mapping, seriesId: source.series?.id ?? null, seriesUid: source.seriesUid, wouldReplace: 0 };
  if (!source.series) return { ...base, blocked: `its series ${source.seriesUid} is not imported yet` };
  try {
    const images = seriesImages(db, source.series.id);
    const placement = place(store, source, images);
    return { ...base, wouldReplace: labelledImages(db, task.id, [...new Set(placement.frames.values())]).length, blocked: null };
  } catch (e) {
    if (e instanceof MappingError || e instanceof LabelImportError) return { ...base, blocked: e.message };
    throw e;
  }
}

function place(store: ContentStore | null, source: Source, images: ImageRow[]) {
  const wrongSize = images.find((im) => im.rows !== source.rows || im.columns !== source.columns);
  if (wrongSize)
    throw new LabelImportError(
      `the label map's frames are ${source.rows} × ${source.columns} pixels, the series' images ${wrongSize.rows} × ${wrongSize.columns}`,
    );
  const needsPosition = source.frames.some((f) => f.sourceKey === null);
  return placeFrames(source.frames, images, {
    segFrameOfReference: source.frameOfReferenceUid,
    seriesFrameOfReference: needsPosition && source.frameOfReferenceUid && store ? seriesFrameOfReference(store, images) : null,
  });
}

function apply(
  db: Database,
  store: ContentStore | null,
  source: Source,
  task: Task,
  choices: readonly MappingChoice[],
  what: string,
): LabelMappingApplied {
  if (!source.series) throw new LabelImportError(`its series ${source.seriesUid} is not imported yet`);
  const proposal = proposeMapping(task, source.segments);
  const mapping = resolveMapping(task, proposal, choices);
  const images = seriesImages(db, source.series.id);
  const placement = place(store, source, images);
  const { maps, conflicts, leftOutPixels } = composeLabelMaps(source.frames, placement, mapping, source.rows, source.columns);
  const author = source.author;
  const { replaced } = writeTaskLabels(
    db,
    task.id,
    source.series.id,
    [...maps].map(([imageId, map]) => ({ imageId, map })),
    'imported',
    author,
  );
  const names = new Map(task.labels.map((l) => [l.value, l.name]));
  const mapped = source.segments.map((s) => {
    const value = mapping.get(s.number) ?? null;
    return { segment: s.number, label: s.label, value, name: value === null ? null : (names.get(value) ?? null) };
  });
  const position = new Map(images.map((im, i) => [im.id, i + 1]));
  const parts = [
    `${what} became labels of task ${task.name} on ${maps.size} of ${images.length} images of series ${source.series.description || source.series.seriesUid}`,
    `segments ${mapped.map((m) => `${m.segment} "${m.label}" → ${m.name ?? 'left out'}`).join(', ')}`,
  ];
  if (placement.by !== 'reference')
    parts.push(`frames placed by Plane Position (Patient)${placement.by === 'both' ? ' where they name no source image' : ''}`);
  if (placement.emptyUnplaced.length)
    parts.push(`${placement.emptyUnplaced.length} empty frames lie on no image and were ignored`);
  if (maps.size < images.length) parts.push(`${images.length - maps.size} images have no frame in it and keep their labels`);
  if (replaced) parts.push(`replaced ${replaced} earlier labels`);
  if (leftOutPixels) parts.push(`${leftOutPixels} pixels of segments left out were not imported`);
  for (const c of conflicts)
    parts.push(
      `segments ${c.segments[0]} and ${c.segments[1]} overlap on ${c.pixels} pixels of image ${position.get(c.imageId)} (rows ${c.box.rowMin}–${c.box.rowMax}, columns ${c.box.columnMin}–${c.box.columnMax}): they keep segment ${c.kept}'s label (the higher segment number)`,
    );
  parts.push(...source.notes);
  return {
    seriesId: source.series.id,
    taskId: task.id,
    imagesLabelled: maps.size,
    replaced,
    mapping: mapped,
    placedBy: placement.by,
    conflicts,
    leftOutPixels,
    author,
    message: parts.join('; '),
  };
}

/** The Frame of Reference UID of a DICOM series (its first image's header), or null. */
function seriesFrameOfReference(store: ContentStore, images: ImageRow[]): string | null {
  const first = images[0];
  if (!first || first.format !== 'dicom') return null;
  try {
    const bytes = store.read({ relative: first.storePath, offset: first.packOffset }, first.size);
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
      dcmjs.data.DicomMessage.readFile(buffer, { untilTag: '7FE00010', includeUntilTagValue: false, ignoreErrors: true }).dict,
    );
    return typeof ds.FrameOfReferenceUID === 'string' && ds.FrameOfReferenceUID ? ds.FrameOfReferenceUID : null;
  } catch {
    return null;
  }
}

// --- NIfTI label maps --------------------------------------------------------------------------

/** The sidecar of a NIfTI label map: ours (`lgms-labels/1`) or nnU-Net's dataset.json `labels`. */
export function sidecarPath(file: string): string | null {
  const candidates = [file.replace(/\.nii(\.gz)?$/i, '.json'), file.replace(/\.nii(\.gz)?$/i, '') + '.labels.json'];
  return candidates.find((c) => c !== file && existsSync(c)) ?? null;
}

function readSidecar(
  file: string | null,
): Map<number, { name: string; category: CodedConcept | null; type: CodedConcept | null }> {
  const out = new Map<number, { name: string; category: CodedConcept | null; type: CodedConcept | null }>();
  if (!file) return out;
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new LabelImportError(`the label names beside the label map (${file}) are not readable JSON`);
  }
  const labels = (json as { labels?: unknown }).labels;
  if (Array.isArray(labels)) {
    for (const l of labels as { value?: unknown; name?: unknown; category?: CodedConcept | null; type?: CodedConcept | null }[])
      if (Number.isInteger(l.value) && typeof l.name === 'string')
        out.set(l.value as number, { name: l.name, category: l.category ?? null, type: l.type ?? null });
  } else if (labels && typeof labels === 'object') {
    for (const [name, value] of Object.entries(labels as Record<string, unknown>))
      if (Number.isInteger(value) && value !== 0) out.set(value as number, { name, category: null, type: null });
  }
  return out;
}

/**
 * The `labelledSlices` of our sidecar (src/main/export/formats.ts labelSidecar): 0-based indices
 * along the file's third axis of the slices that are labels; null when it lists none (every
 * slice is a label). Issue 25: a sparsely labelled volume's other slices hold 0, not background.
 */
function readLabelledSlices(file: string | null): number[] | null {
  if (!file) return null;
  const listed = (JSON.parse(readFileSync(file, 'utf8')) as { labelledSlices?: unknown }).labelledSlices;
  if (listed === undefined) return null;
  if (!Array.isArray(listed) || !listed.every((k) => Number.isInteger(k) && (k as number) >= 0))
    throw new LabelImportError(`the labelled slices listed beside the label map (${file}) are not slice numbers`);
  return listed as number[];
}

async function niftiSource(db: Database, file: string, seriesId: number): Promise<Source & { images: ImageRow[] }> {
  const series = seriesById(db, seriesId);
  if (!series) throw new LabelImportError(`there is no series ${seriesId}`);
  const images = seriesImages(db, seriesId);
  let slices;
  let layout;
  try {
    const volume = await readVolume(file);
    layout = axialLayout(volume);
    slices = axialSlices(volume);
  } catch (e) {
    throw new LabelImportError(`the label map ${file} cannot be read as a volume: ${(e as Error).message}`);
  }
  if (slices.some((s) => s.samplesPerPixel !== 1))
    throw new LabelImportError('a label map has one value per voxel, this file has colour');
  const sidecar = sidecarPath(file);
  const named = readSidecar(sidecar);
  // Only the slices the sidecar lists as labelled become labels; the others hold 0 without being background.
  const listed = readLabelledSlices(sidecar);
  if (listed && layout.sliceAxis !== 2)
    throw new LabelImportError(
      'the label map is labelled on some of its slices only, and those slices cut across the series’ slices: import it as a SEG instead',
    );
  const labelled = listed ? new Set(listed) : null;
  const isLabelled = (k: number) => labelled === null || labelled.has(layout.flip.slice ? layout.slices - 1 - k : k);
  const values = new Set<number>();
  for (const s of slices)
    for (const v of Array.from(s.pixels as ArrayLike<number>)) {
      if (v === 0) continue;
      if (!Number.isInteger(v) || v < 0 || v > 65535) throw new LabelImportError(`the label map holds ${v}, not a label value`);
      values.add(v);
    }
  // Slices are placed by position where the series has positions in the same orientation, else in order.
  const oriented =
    images.every((im) => im.position && im.orientation) &&
    slices.every((s) => images[0]!.orientation!.every((v, k) => Math.abs(v - s.orientation[k]!) < 1e-3));
  if (!oriented && slices.length !== images.length)
    throw new LabelImportError(
      `the label map has ${slices.length} slices, the series ${images.length} images, and no shared geometry to place them`,
    );
  const frames: SegFrame[] = [];
  let index = 0;
  for (const v of [...values].sort((a, b) => a - b))
    for (const [k, s] of slices.entries()) {
      if (!isLabelled(k)) continue;
      const mask = Uint8Array.from(s.pixels as ArrayLike<number>, (p) => (p === v ? 1 : 0));
      const image = images[k];
      frames.push({
        index: ++index,
        segment: v,
        // Without shared geometry, slice k is image k: named by its key so placeFrames takes it.
        sourceKey: oriented ? null : image ? `image:${image.id}` : null,
        position: oriented ? s.position : null,
        mask,
      });
    }
  const first = slices[0];
  return {
    segments: [...values]
      .sort((a, b) => a - b)
      .map((v) => {
        const n = named.get(v);
        return { number: v, label: n?.name ?? '', category: n?.category ?? null, type: n?.type ?? null };
      }),
    frames,
    rows: first?.rows ?? 0,
    columns: first?.columns ?? 0,
    series,
    seriesUid: series.seriesUid,
    frameOfReferenceUid: '',
    author: '',
    notes: [
      ...(named.size === 0 ? ['no label names beside the file: every value was mapped by the reader'] : []),
      ...(labelled && labelled.size < slices.length
        ? [`${slices.length - labelled.size} of its ${slices.length} slices are marked as not labelled and were left out`]
        : []),
    ],
    images,
  };
}

/** The proposal for a NIfTI label map on a series under a task (values are its "segments"). */
export async function proposeLabelMap(
  db: Database,
  store: ContentStore,
  file: string,
  seriesId: number,
  taskId: number,
): Promise<LabelMappingProposal> {
  const source = await niftiSource(db, file, seriesId);
  return propose(db, store, source, taskOf(db, taskId));
}

/** Writes a NIfTI label map's values as labels of the task with the reader's choices (origin imported). */
export async function applyLabelMap(
  db: Database,
  store: ContentStore,
  file: string,
  seriesId: number,
  taskId: number,
  choices: readonly MappingChoice[],
  author: string,
): Promise<LabelMappingApplied> {
  const source = await niftiSource(db, file, seriesId);
  return apply(db, store, { ...source, author }, taskOf(db, taskId), choices, 'a NIfTI label map');
}
