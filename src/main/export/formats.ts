// Writes one series in each export format into a staging folder. nnU-Net's dataset (nnU-Net
// v2 documentation, dataset_format.md) is built case by case here and finished by `nnunetDatasetJson`.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { FrameLoader } from '../imaging/frames';
import type { ExportFormat } from '../../shared/contract/export';
import { seriesImages, seriesLabels, type SeriesRow } from './queries';
import type { Database } from '../db/database';
import type { ContentStore } from '../store/content-store';
import { seriesToSeg } from './series-seg';
import { stack, stackGeometry, volumeProblem, writeLabelPng, writeNifti } from './volume-files';
import type { CodedConcept } from '../../shared/model/codes';
import { STARTER_TASK_ID } from '../db/migrations/0130-tasks';
import { readTask } from '../tasks/queries';

export interface FormatDeps {
  db: Database;
  store: ContentStore;
  frames: FrameLoader;
  softwareVersion: string;
}

export interface SeriesExport {
  used: 'labels' | 'predictions';
  /** Paths relative to the staging folder. */
  files: string[];
  modelVersionIds: number[];
  /** The nnU-Net cases (one per series, or one per image when the images do not form a volume): identifier and label values. */
  nnunetCases?: { id: string; labelValues: number[] }[];
  /** What the reader must know about how the series was written (ExportResult.notes). */
  note?: string;
}

export class NothingToExport extends Error {}

/** A file-name stem a file system and a PACS user both accept: patient, date, series number. */
export function seriesStem(s: SeriesRow): string {
  const clean = (t: string) => t.replace(/[^A-Za-z0-9.-]+/g, '-').replace(/^-+|-+$/g, '');
  return [clean(s.patientId) || 'patient', clean(s.studyDate) || 'nodate', `S${s.seriesNumber ?? s.id}`, clean(s.modality)]
    .filter(Boolean)
    .join('_');
}

export async function exportSeries(
  deps: FormatDeps,
  s: SeriesRow,
  format: Exclude<ExportFormat, 'nnunet'>,
  stagingDir: string,
  fallBackToPredictions: boolean,
  taskId: number = STARTER_TASK_ID,
): Promise<SeriesExport> {
  const stem = seriesStem(s);
  if (format === 'seg') {
    const r = await seriesToSeg(deps, s, { fallBackToPredictions, taskId });
    const files = [`${stem}_SEG.dcm`];
    writeFileSync(path.join(stagingDir, files[0]!), r.seg.bytes);
    r.secondaryCaptures.forEach((sc, i) => {
      const name = path.join(`${stem}_SC`, `IM${String(i + 1).padStart(4, '0')}.dcm`);
      files.push(name);
      writeAt(stagingDir, name, sc.bytes);
    });
    return { used: r.used, files, modelVersionIds: r.modelVersionIds };
  }
  const { images, maps, labelled, used, modelVersionIds } = labelMaps(deps.db, s, fallBackToPredictions, taskId);
  const sidecar = JSON.stringify(labelSidecar(deps.db, taskId, maps, labelled), null, 2) + '\n';
  const unlabelled = unlabelledNote(s, labelled, images.length, format);
  if (format === 'png') {
    const files = images.map((_, i) => path.join(stem, `slice_${String(i + 1).padStart(4, '0')}.png`));
    files.forEach((f, i) => writeLabelPng(path.join(stagingDir, f), maps[i]!, s.rows, s.columns));
    files.push(path.join(stem, 'labels.json'));
    writeAt(stagingDir, files[files.length - 1]!, Buffer.from(sidecar));
    return { used, files, modelVersionIds, ...(unlabelled ? { note: unlabelled } : {}) };
  }
  // Images that are not slices of one volume (ultrasound frames of several spacings, photographs)
  // are never stacked as if they were: one 2D file each, in its own spacing and position.
  const problem = volumeProblem(images);
  if (problem) {
    const files = images.map((_, i) => path.join(`${stem}_labels`, `slice_${String(i + 1).padStart(4, '0')}.nii.gz`));
    for (const [i, im] of images.entries())
      await writeNifti(path.join(stagingDir, files[i]!), maps[i]!, [im.columns, im.rows, 1], stackGeometry([im]));
    return { used, files, modelVersionIds, note: [notAVolume(s, problem, images.length), unlabelled].filter(Boolean).join('; ') };
  }
  const file = `${stem}_labels.nii.gz`;
  writeFileSync(path.join(stagingDir, `${stem}_labels.json`), sidecar);
  await writeNifti(
    path.join(stagingDir, file),
    stack(maps, (n) => new Uint8Array(n)),
    [s.columns, s.rows, images.length],
    stackGeometry(images),
  );
  return { used, files: [file, `${stem}_labels.json`], modelVersionIds, ...(unlabelled ? { note: unlabelled } : {}) };
}

function notAVolume(s: SeriesRow, problem: string, count: number): string {
  return `${s.description || s.seriesUid}: ${problem}; not stacked into one volume, written as ${count} separate 2D files`;
}

/**
 * A series as nnU-Net cases: imagesTr/<case>_0000.nii.gz (modality values, float32; colour as
 * luminance) and labelsTr/<case>.nii.gz with the same geometry; one case for a volume, one 2D case
 * per image (<case>_001 …) when its images do not form one (volumeProblem). With `ignoreValue`
 * (nnunetIgnoreValue), a slice nobody labelled is written as that value, nnU-Net's ignore label.
 */
export async function exportNnunetCase(
  deps: FormatDeps,
  s: SeriesRow,
  caseId: string,
  stagingDir: string,
  fallBackToPredictions: boolean,
  taskId: number = STARTER_TASK_ID,
  ignoreValue: number | null = null,
): Promise<SeriesExport> {
  const { images, maps, labelled, used, modelVersionIds } = labelMaps(deps.db, s, fallBackToPredictions, taskId);
  const isLabelled = new Set(labelled);
  const unlabelled =
    ignoreValue === null
      ? unlabelledNote(s, labelled, images.length, 'nnunet')
      : labelled.length < images.length
        ? `${s.description || s.seriesUid}: ${images.length - labelled.length} of ${images.length} slices have no label and are written as nnU-Net's ignore label (value ${ignoreValue}), left out of its training and evaluation`
        : null;
  const slices: Float32Array[] = [];
  for (const im of images) {
    const f = await deps.frames.load(im.id);
    const n = f.rows * f.columns;
    const out = new Float32Array(n);
    if (f.samplesPerPixel === 3)
      for (let p = 0; p < n; p++) out[p] = 0.299 * f.pixels[3 * p]! + 0.587 * f.pixels[3 * p + 1]! + 0.114 * f.pixels[3 * p + 2]!;
    else for (let p = 0; p < n; p++) out[p] = f.pixels[p]! * f.slope + f.intercept;
    slices.push(out);
  }
  // Images that do not form a volume are 2D cases of their own (nnU-Net resamples each case by its
  // spacing, so a stack at the first image's spacing would train on wrongly scaled images).
  const problem = volumeProblem(images);
  const groups = problem ? images.map((_, i) => [i]) : [images.map((_, i) => i)];
  const files: string[] = [];
  const nnunetCases: { id: string; labelValues: number[] }[] = [];
  for (const [g, members] of groups.entries()) {
    const id = problem ? `${caseId}_${String(g + 1).padStart(3, '0')}` : caseId;
    const part = members.map((i) => images[i]!);
    const size: [number, number, number] = [part[0]!.columns, part[0]!.rows, part.length];
    const geometry = stackGeometry(part);
    const image = path.join('imagesTr', `${id}_0000.nii.gz`);
    const label = path.join('labelsTr', `${id}.nii.gz`);
    await writeNifti(
      path.join(stagingDir, image),
      stack(
        members.map((i) => slices[i]!),
        (n) => new Float32Array(n),
      ),
      size,
      geometry,
    );
    const labelMaps = members.map((i) => maps[i]!);
    const written = members.map((i) =>
      ignoreValue === null || isLabelled.has(i) ? maps[i]! : new Uint8Array(maps[i]!.length).fill(ignoreValue),
    );
    await writeNifti(
      path.join(stagingDir, label),
      stack(written, (n) => new Uint8Array(n)),
      size,
      geometry,
    );
    const values = new Set<number>();
    for (const m of labelMaps) for (const v of new Set(m)) values.add(v);
    files.push(image, label);
    nnunetCases.push({ id, labelValues: [...values].sort((a, b) => a - b) });
  }
  return {
    used,
    files,
    modelVersionIds,
    nnunetCases,
    ...(problem || unlabelled
      ? {
          note: [problem ? notAVolume(s, problem, images.length).replace('2D files', '2D cases') : null, unlabelled]
            .filter(Boolean)
            .join('; '),
        }
      : {}),
  };
}

/**
 * nnU-Net's ignore label for an export where some image has no label map (a volume labelled every
 * k-th slice): one more than the highest label value of the dataset (every label of the task, and
 * every value the maps hold), as nnU-Net v2 requires ("ignore" the highest, labels consecutive;
 * nnU-Net documentation, ignore_label.md). Voxels of that value are left out of its loss and
 * evaluation, so an unlabelled slice is not taught as background. Null when every image of every
 * series has a label map, or when no uint8 value is left (then the note says they are 0).
 */
export function nnunetIgnoreValue(
  db: Database,
  series: readonly SeriesRow[],
  fallBackToPredictions: boolean,
  taskId: number,
): number | null {
  let sparse = false;
  let highest = 1; // the dataset lists label 1 at least (service.ts finishNnunet)
  for (const s of series) {
    const labels = seriesLabels(db, s.id, fallBackToPredictions, taskId);
    if (labels.size === 0) continue; // skipped by the export (nothing to export)
    if (labels.size < seriesImages(db, s.id).length) sparse = true;
    for (const l of labels.values()) for (const v of new Set(l.map)) highest = Math.max(highest, v);
  }
  if (!sparse) return null;
  for (const l of readTask(db, taskId)?.labels ?? []) highest = Math.max(highest, l.value);
  return highest < 255 ? highest + 1 : null;
}

/**
 * dataset.json of an nnU-Net v2 raw dataset: channel_names, labels (background 0, then 1…N
 * consecutive, then `ignore` = N + 1 when given), numTraining and file_ending are the keys
 * nnU-Net requires.
 */
export function nnunetDatasetJson(o: {
  name: string;
  channel: string;
  labelNames: string[];
  /** The task's labels by name → value; when given, used instead of labelNames' 1…N. */
  labels?: { name: string; value: number }[];
  /** nnU-Net's ignore label (nnunetIgnoreValue), listed last. */
  ignore?: number | null;
  numTraining: number;
  description: string;
}): unknown {
  return {
    name: o.name,
    description: o.description,
    channel_names: { '0': o.channel },
    labels: Object.fromEntries([
      ['background', 0],
      ...(o.labels ? o.labels.map((l) => [l.name, l.value]) : o.labelNames.map((n, i) => [n, i + 1])),
      ...(o.ignore ? [['ignore', o.ignore]] : []),
    ]),
    numTraining: o.numTraining,
    file_ending: '.nii.gz',
  };
}

function labelMaps(db: Database, s: SeriesRow, fallBackToPredictions: boolean, taskId: number) {
  const images = seriesImages(db, s.id);
  const labels = seriesLabels(db, s.id, fallBackToPredictions, taskId);
  if (labels.size === 0)
    throw new NothingToExport(
      `series ${s.description || s.seriesUid} has no labels${fallBackToPredictions ? ' and no predictions of the active model' : ''}`,
    );
  const maps = images.map((im) => labels.get(im.id)?.map ?? new Uint8Array(im.rows * im.columns));
  /** Indices (in `images`' order) of the images that have a label map; the others are written as 0. */
  const labelled = images.flatMap((im, i) => (labels.has(im.id) ? [i] : []));
  const all = [...labels.values()];
  const used: 'labels' | 'predictions' = all.some((l) => l.origin === 'prediction') ? 'predictions' : 'labels';
  const modelVersionIds = [...new Set(all.map((l) => l.modelVersionId).filter((v): v is number => v !== null))];
  return { images, maps, labelled, used, modelVersionIds };
}

/**
 * What the reader must know when some slices of a series have no label map (a volume labelled
 * every k-th slice, issue 25): a NIfTI volume, PNG set or nnU-Net case has a value for every
 * voxel, so those slices hold 0 — which reads as background, though nobody labelled them.
 * Null when every slice is labelled.
 */
function unlabelledNote(s: SeriesRow, labelled: readonly number[], total: number, format: ExportFormat): string | null {
  if (labelled.length === total) return null;
  const where =
    format === 'nnunet'
      ? 'nnU-Net will train on them as background'
      : `${format === 'png' ? 'labels.json' : 'the .json beside it'} lists the labelled ones (labelledSlices)`;
  return `${s.description || s.seriesUid}: ${total - labelled.length} of ${total} slices have no label and are written as 0 (background); ${where}`;
}

/** The JSON beside a NIfTI or PNG label export (format `lgms-labels/1`): what each pixel value means. */
export interface LabelSidecar {
  format: 'lgms-labels/1';
  task: { id: number; name: string } | null;
  /** Pixel value 0 is background; every other value a label map holds is listed. */
  labels: {
    value: number;
    name: string;
    colour: string | null;
    category: CodedConcept | null;
    type: CodedConcept | null;
    retired: boolean;
  }[];
  /**
   * Present only when some slices have no label map: the 0-based indices (the NIfTI's third axis;
   * the PNG's slice number − 1) of those that have one. The others hold 0 though nobody labelled
   * them: not background (issue 25, sparsely labelled volumes).
   */
  labelledSlices?: number[];
}

/**
 * The sidecar of a task's label maps: every label of the task in value order (retired ones
 * marked), and any value the maps hold that no label names (name "value N", no codes);
 * `labelled`: indices of the maps that are a label (default all), listed when not all are.
 */
export function labelSidecar(
  db: Database,
  taskId: number,
  maps: readonly Uint8Array[],
  labelled: readonly number[] = maps.map((_, i) => i),
): LabelSidecar {
  const task = readTask(db, taskId);
  const labels: LabelSidecar['labels'] = (task?.labels ?? []).map((l) => ({
    value: l.value,
    name: l.name,
    colour: l.colour,
    category: l.category,
    type: l.type,
    retired: l.retiredAt !== null,
  }));
  const named = new Set(labels.map((l) => l.value));
  const extra = new Set<number>();
  for (const m of maps) for (const v of new Set(m)) if (v !== 0 && !named.has(v)) extra.add(v);
  for (const v of [...extra].sort((a, b) => a - b))
    labels.push({ value: v, name: `value ${v}`, colour: null, category: null, type: null, retired: false });
  labels.sort((a, b) => a.value - b.value);
  return {
    format: 'lgms-labels/1',
    task: task ? { id: task.id, name: task.name } : null,
    labels,
    ...(labelled.length < maps.length ? { labelledSlices: [...labelled] } : {}),
  };
}

/**
 * nnU-Net's `labels` of a task: background 0, then every label of the task by name → value
 * (values are never skipped, so they run 1…N as nnU-Net requires; a retired label keeps its
 * value, named "<name> (retired)"); values up to `maxValue` that no label names are `label_<v>`.
 */
export function nnunetTaskLabels(db: Database, taskId: number, maxValue = 0): { name: string; value: number }[] {
  const task = readTask(db, taskId);
  const labels = (task?.labels ?? []).map((l) => ({
    name: l.retiredAt === null ? l.name : `${l.name} (retired)`,
    value: l.value,
  }));
  for (let v = 1; v <= maxValue; v++) if (!labels.some((l) => l.value === v)) labels.push({ name: `label_${v}`, value: v });
  return labels.sort((a, b) => a.value - b.value);
}

function writeAt(root: string, relative: string, bytes: Uint8Array): void {
  const target = path.join(root, relative);
  mkdirSync(path.dirname(target), { recursive: true });
  writeFileSync(target, bytes);
}
