// Stages a 3D task's labelled series for the trainer's `--dims 3` (issue 25, SPEC3D "Staged 3D
// training data"): one `volumes/<case>/` folder per series with image.npy (the series at the
// model's spacing, normalised by modality: exactly what segmentVolume feeds the network),
// labels.npy (the label values on the same grid, 255 on every voxel of a slice nobody labelled,
// so the loss ignores it) and meta.json. A series' labelled slices stay together in its split.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { decodeRle } from '../../shared/imaging/rle';
import {
  CT_WINDOW,
  MR_PERCENTILES,
  normalizeVolume,
  resampleNearest,
  resampleTrilinear,
  shapeAtSpacing,
  type Spacing3,
} from '../../shared/imaging/volume';
import type { Normalization } from '../../shared/model/manifest';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import { readVolume, seriesVolume, VolumeRefused, type SeriesVolume } from '../inference/volume-series';
import { npyFloat32, npyUint8, type LabelForTraining, type Split } from './stage';

/** The value of every voxel of a slice nobody labelled: the trainer's loss ignores it. */
export const UNLABELLED = 255;

/**
 * A 3D task's first model on this kind of machine (no parent): patches of 32×64×64 voxels, two a
 * step, the network at width 8 (8, 16, 32, 64, 64 channels; 1.58 M parameters) — the recipe the
 * trainer's measurements found to learn in ten minutes on a 2-core CPU, where the authors'
 * width 16 made 29 steps in 300 s before the FFT kernels and still scores below width 8 in ten
 * minutes (docs/model-card.md, "Training on this CPU"; docs/benchmarks.md, train3d and the fourth
 * and fifth sessions). AdamW at 0.01 (poly decay) and a validation every fourth epoch (200
 * steps). Each chosen on the MR benchmark's tuning split, which never scores the benchmark's
 * scored slices (tests/bench/volume.ts --tune): lr 0.01 0.838 against 0.789 at 0.003; 32×64×64
 * × 2 0.840 against 32³ × 4 0.837, 32×128×128 × 1 0.822 and width 16 0.790 — and on the
 * benchmark proper 32×64×64 scored 0.837 and 0.824 in two runs where 32³ had scored 0.816 in
 * one (0.835 and 0.832 since the trainer leaves a volume's intensities as staged, sixth session).
 * A fine-tune keeps its parent's patch and width and the fine-tune's own learning rate.
 */
export const DEFAULT_VOLUME_PATCH: [number, number, number] = [32, 64, 64];
export const FIRST_VOLUME_MODEL = { width: 8, batchSize: 2, lr: 0.01, valEvery: 4 } as const;

/** meta.json of one staged volume (SPEC3D). */
export interface StagedVolumeMeta {
  spacing: [number, number, number];
  modality: string;
  normalization: Normalization;
  /** Model-grid slice indices whose nearest series slice is labelled. */
  labelledSlices: number[];
  series: string;
  seriesInstanceUid: string;
}

/** The model input's normalisation of a modality, as model.json states it (`CT_WINDOW`, `MR_PERCENTILES`). */
export function volumeNormalization(modality: string): Normalization {
  return modality === 'MR' ? { ...MR_PERCENTILES } : { ...CT_WINDOW };
}

/** The series of a run's labels as volumes; ServiceError('conflict') naming a series that is not one. */
export function labelledVolumes(db: Database, labels: readonly LabelForTraining[]): SeriesVolume[] {
  const ids = [...new Set(labels.map((l) => l.seriesId))];
  return ids.map((id) => {
    try {
      return seriesVolume(db, id);
    } catch (e) {
      if (!(e instanceof VolumeRefused)) throw e;
      const l = labels.find((x) => x.seriesId === id)!;
      throw new ServiceError(
        'conflict',
        `Series ${id} (${[l.modality, l.seriesDescription].filter(Boolean).join(' ')}) cannot train a 3D model: ${e.message}`,
      );
    }
  });
}

/**
 * The model spacing of a 3D task's first model: per axis, the median spacing of its training
 * series (the lower middle value for an even count), as nnU-Net picks its target spacing.
 */
export function medianSpacing(volumes: readonly Pick<SeriesVolume, 'spacing'>[]): [number, number, number] {
  if (volumes.length === 0) throw new RangeError('no series to take a spacing from');
  return [0, 1, 2].map((a) => {
    const xs = volumes.map((v) => v.spacing[a]!).sort((p, q) => p - q);
    return xs[Math.floor((xs.length - 1) / 2)]!;
  }) as [number, number, number];
}

/** Model-grid slice indices whose nearest series slice (`resampleNearest`'s mapping) is labelled. */
function labelledModelSlices(labelled: ReadonlySet<number>, d: number, md: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < md; i++) if (labelled.has(Math.min(d - 1, Math.max(0, Math.floor((i + 0.5) * (d / md)))))) out.push(i);
  return out;
}

/**
 * Writes `<dir>/{training,validation}/volumes/series-<id>/` for each series with labels: the
 * series read with the modality LUT (HU for CT), resampled trilinearly to `spacing` and
 * normalised (`normalizeVolume`) as image.npy float32 (D, H, W); its label maps on the series'
 * slices, 255 on slices without a label, resampled nearest to the same grid as labels.npy uint8;
 * meta.json. A series goes to the split of its labels (decided per patient, so one split per
 * series). Returns the labels by split. Throws ServiceError('conflict') for a series that is not
 * a regular stack, a run mixing modalities, or a series whose labels sit in both splits.
 */
export async function stageVolumes(
  db: Database,
  frames: FrameLoader,
  dir: string,
  labels: readonly LabelForTraining[],
  spacing: Spacing3,
  volumes: readonly SeriesVolume[] = labelledVolumes(db, labels),
): Promise<Record<Split, LabelForTraining[]>> {
  const modalities = new Set(volumes.map((v) => v.modality));
  if (modalities.size > 1)
    throw new ServiceError(
      'conflict',
      `A 3D model learns one modality, but the labels come from ${[...modalities].join(' and ')} series.`,
    );
  const mask = db.prepare('SELECT mask FROM labels WHERE id = ?').pluck();
  const uid = db.prepare('SELECT series_uid FROM series WHERE id = ?').pluck();
  const bySplit: Record<Split, LabelForTraining[]> = { training: [], validation: [] };
  for (const v of volumes) {
    const own = labels.filter((l) => l.seriesId === v.seriesId);
    const split = own[0]!.split;
    if (own.some((l) => l.split !== split))
      throw new ServiceError('conflict', `Series ${v.seriesId} has labels in both the training and the validation split.`);
    const [d, h, w] = v.shape;
    const plane = h * w;
    const modelShape = shapeAtSpacing(v.shape, v.spacing, spacing);
    const image = normalizeVolume(resampleTrilinear(await readVolume(frames, v), v.shape, modelShape), v.modality);
    const source = new Uint8Array(d * plane).fill(UNLABELLED);
    const slice = new Map(v.images.map((im, k) => [im.id, k]));
    const labelled = new Set<number>();
    for (const l of own) {
      const k = slice.get(l.imageId)!;
      source.set(decodeRle(mask.get(l.labelId) as Uint8Array, plane), k * plane);
      labelled.add(k);
    }
    const target = resampleNearest(source, v.shape, modelShape);
    const folder = path.join(dir, split, 'volumes', `series-${v.seriesId}`);
    mkdirSync(folder, { recursive: true });
    writeFileSync(path.join(folder, 'image.npy'), npyFloat32(image, [...modelShape]));
    writeFileSync(path.join(folder, 'labels.npy'), npyUint8(target, [...modelShape]));
    const meta: StagedVolumeMeta = {
      spacing: [...spacing],
      modality: v.modality,
      normalization: volumeNormalization(v.modality),
      labelledSlices: labelledModelSlices(labelled, d, modelShape[0]),
      series: v.description,
      seriesInstanceUid: uid.get(v.seriesId) as string,
    };
    writeFileSync(path.join(folder, 'meta.json'), JSON.stringify(meta, null, 2));
    bySplit[split].push(...own);
  }
  return bySplit;
}
