// Stages the current labels for the trainer exactly as inference feeds images to the model:
// each image goes through the inference worker's own preprocessing (toModelInput: modality
// LUT, MONOCHROME1 inversion, the model's normalisation, letterbox, channel rule) and is written
// as the float32 model input (.npy), which the trainer takes as is (resources/trainer README,
// "staged input"). Masks keep the image's own size; the trainer letterboxes them (nearest).
// A binary (sigmoid) line stages foreground as 255; a task's softmax line stages the label
// values themselves, with the label-map file that says what each value means (issue 22).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { toModelInput, type ModelInputSpec } from '../../shared/imaging/preprocess';
import { decodeRle } from '../../shared/imaging/rle';
import type { Task } from '../../shared/contract/tasks';
import type { ModelManifest } from '../../shared/model/manifest';
import type { Database } from '../db/database';
import { encodeGrayPng } from '../imaging/raster/png-encoder';
import type { FrameLoader } from '../imaging/frames';

export type Split = 'training' | 'validation';

export interface LabelForTraining {
  labelId: number;
  imageId: number;
  rows: number;
  columns: number;
  split: Split;
  seriesId: number;
  /** The series' Modality (0008,0060) and first image's Photometric Interpretation, for the task's applicability. */
  modality: string;
  photometric: string;
  seriesDescription: string;
}

/**
 * Current labels of one task (default: the starter task) that training may use: not
 * superseded, not excluded, with a frozen split (decided per patient, or per study when the
 * patient has no key; migration 0060).
 */
export function labelsForTraining(db: Database, taskId = 1): LabelForTraining[] {
  return db
    .prepare(
      `SELECT l.id AS labelId, l.image_id AS imageId, i.rows, i.columns, coalesce(sp.split, ss.split) AS split,
              l.series_id AS seriesId, se.modality, i.photometric, se.description AS seriesDescription
       ${CURRENT_LABELS_WITH_SPLIT}
         AND l.task_id = ?
         AND NOT EXISTS (SELECT 1 FROM training_exclusions x WHERE x.image_id = l.image_id)
       ORDER BY l.id`,
    )
    .all(taskId) as LabelForTraining[];
}

/**
 * FROM … WHERE of the current (not superseded) labels that have a frozen split, with the label
 * `l`, its image `i`, series `se`, study `st`, patient `p` and the split as
 * `coalesce(sp.split, ss.split)`: callers add conditions with AND.
 */
export const CURRENT_LABELS_WITH_SPLIT = `
  FROM labels l
  JOIN images i ON i.id = l.image_id
  JOIN series se ON se.id = l.series_id
  JOIN studies st ON st.id = se.study_id
  JOIN patients p ON p.id = st.patient_id
  LEFT JOIN splits sp ON sp.split_key = 'patient:' || p.patient_key
  LEFT JOIN splits ss ON ss.split_key = 'study:' || st.study_uid
  WHERE l.superseded_at IS NULL
    AND coalesce(sp.split, ss.split) IS NOT NULL`;

export function modelInputSpec(manifest: ModelManifest): ModelInputSpec {
  const i = manifest.input;
  return { size: i.size, channels: i.channels, channelMode: i.channelMode, normalization: i.normalization };
}

/** Planes the trainer keeps per image: one grey plane for 'replicate', three for 'rgb'. */
export function stagedPlanes(spec: ModelInputSpec): number {
  return spec.channelMode === 'replicate' ? 1 : 3;
}

/** The model input of one image, as the inference worker computes it. Shape (planes, H, W). */
export async function stagedInput(frames: FrameLoader, imageId: number, spec: ModelInputSpec): Promise<Float32Array> {
  const frame = await frames.load(imageId);
  const [h, w] = spec.size;
  const full = new Float32Array(spec.channels * h * w);
  toModelInput({ ...frame, invert: frame.photometric === 'MONOCHROME1' }, spec, full);
  return full.slice(0, stagedPlanes(spec) * h * w);
}

/**
 * Writes `<dir>/{training,validation}/{images,masks}`: `label-<id>.npy` (float32 model input)
 * and `label-<id>.png` (foreground 255; with `labelValues`, each pixel's label value as stored,
 * for a task's multi-class line). Returns the labels by split; throws nothing for an empty split
 * (the caller decides whether a run can start). `size` overrides the manifest's input size.
 */
export async function stageLabels(
  db: Database,
  frames: FrameLoader,
  manifest: ModelManifest,
  dir: string,
  labels: LabelForTraining[] = labelsForTraining(db),
  opts: { labelValues?: boolean; size?: [number, number] } = {},
): Promise<Record<Split, LabelForTraining[]>> {
  const spec = { ...modelInputSpec(manifest), ...(opts.size ? { size: opts.size } : {}) };
  const [h, w] = spec.size;
  const planes = stagedPlanes(spec);
  const mask = db.prepare('SELECT mask FROM labels WHERE id = ?').pluck();
  const bySplit: Record<Split, LabelForTraining[]> = { training: [], validation: [] };
  for (const split of ['training', 'validation'] as const) {
    mkdirSync(path.join(dir, split, 'images'), { recursive: true });
    mkdirSync(path.join(dir, split, 'masks'), { recursive: true });
  }
  for (const label of labels) {
    const input = await stagedInput(frames, label.imageId, spec);
    const name = `label-${label.labelId}`;
    writeFileSync(path.join(dir, label.split, 'images', `${name}.npy`), npyFloat32(input, [planes, h, w]));
    const map = decodeRle(mask.get(label.labelId) as Uint8Array, label.rows * label.columns);
    const fg = new Uint8Array(map.length);
    if (opts.labelValues) fg.set(map);
    else for (let i = 0; i < map.length; i++) fg[i] = map[i]! > 0 ? 255 : 0;
    writeFileSync(path.join(dir, label.split, 'masks', `${name}.png`), encodeGrayPng(label.columns, label.rows, fg));
    bySplit[label.split].push(label);
  }
  return bySplit;
}

/** NumPy's .npy format, version 1.0 (little-endian float32, C order). */
export function npyFloat32(data: Float32Array, shape: number[]): Uint8Array {
  const out = npyHeader('<f4', shape, data.byteLength);
  const at = out.length - data.byteLength;
  const body = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1) out.set(body, at);
  else for (let i = 0; i < data.length; i++) new DataView(out.buffer).setFloat32(at + i * 4, data[i]!, true);
  return out;
}

/** NumPy's .npy format, version 1.0, of uint8 values (C order): a 3D training volume's labels. */
export function npyUint8(data: Uint8Array, shape: number[]): Uint8Array {
  const out = npyHeader('|u1', shape, data.byteLength);
  out.set(data, out.length - data.byteLength);
  return out;
}

/** An .npy file's bytes with its header written and room for `bodyBytes` after it. */
function npyHeader(descr: string, shape: number[], bodyBytes: number): Uint8Array {
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  // Magic (6) + version (2) + length (2) + header + '\n' is padded to a multiple of 64.
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const out = new Uint8Array(10 + header.length + bodyBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  return out;
}

/**
 * The trainer's `--label-map` file of a task (resources/trainer README): the labels in use, in
 * value order (output channel k+1 ↔ labels[k].value), the retired values the loss ignores, and
 * the task as model.json will carry it (name, labels with colours and SEG codes, domain).
 */
export function labelMapFile(task: Task): {
  labels: { value: number; name: string }[];
  ignoreValues: number[];
  task: Record<string, unknown>;
} {
  const active = task.labels.filter((l) => l.retiredAt === null);
  return {
    labels: active.map((l) => ({ value: l.value, name: l.name })),
    ignoreValues: task.labels.filter((l) => l.retiredAt !== null).map((l) => l.value),
    task: {
      id: task.id,
      name: task.name,
      domain: task.domain,
      labels: active.map((l) => ({ value: l.value, name: l.name, colour: l.colour, category: l.category, type: l.type })),
    },
  };
}
