// The 3D path of the inference worker (issue 25): a series read as one D×H×W volume in slice
// order along its normal (HU for CT after the modality LUT), segmented in sliding windows by a
// 3D model (shared/imaging/volume-pipeline.ts), and brought back as one label map per slice,
// stored exactly as the 2D pipeline stores its predictions. A series that is not a regular
// stack, or whose inference would not fit the memory budget, is refused before any pixel is read.
import { cleanLabels } from '../../shared/imaging/multiclass';
import { encodeGridHeatMap } from '../../shared/imaging/heat-map';
import { encodeRle } from '../../shared/imaging/rle';
import { VolumeInferenceCancelled, type Axis, type RunPatch } from '../../shared/imaging/sliding-window';
import { shapeAtSpacing, volumeInferenceBytes, type Shape3, type Spacing3 } from '../../shared/imaging/volume';
import { segmentVolume } from '../../shared/imaging/volume-pipeline';
import type { VolumeModelInput } from '../../shared/model/manifest';
import type { Database } from '../db/database';
import { seriesImages, type ImageRow } from '../export/queries';
import { stackGeometry, volumeProblem } from '../export/volume-files';
import type { FrameLoader } from '../imaging/frames';

/**
 * The memory one series' 3D inference may hold at its peak (`volumeInferenceBytes`), 2 GiB: a
 * 512×512×300 CT at 0.7 mm, resampled to a 1.5×1.5×2.5 mm model grid with 5 classes, needs
 * about 1 GB by that count, so it fits with room for onnxruntime's own buffers.
 */
export const VOLUME_MEMORY_BUDGET = 2 * 1024 ** 3;

/** A series the 3D path will not segment, with the reason in the reader's words. */
export class VolumeRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'VolumeRefused';
  }
}

/** A series as a regular stack: its images in slice order, D×H×W and the spacing [slice, row, column] in mm. */
export interface SeriesVolume {
  seriesId: number;
  modality: string;
  description: string;
  images: ImageRow[];
  shape: Shape3;
  spacing: Spacing3;
}

/**
 * The series' images as one volume (display order = position along the normal), or
 * `VolumeRefused` naming why not: a single image, images that differ in size, spacing or
 * orientation, missing or uneven slices (`volumeProblem`, PS3.3 C.7.6.2.1.1), no Pixel Spacing,
 * colour images, or a modality the volume normalisation does not know (CT and MR).
 */
export function seriesVolume(db: Database, seriesId: number): SeriesVolume {
  const series = db
    .prepare(
      "SELECT modality, description, (SELECT count(*) FROM images WHERE series_id = s.id AND (samples_per_pixel != 1 OR photometric NOT LIKE 'MONOCHROME%')) AS colour FROM series s WHERE id = ?",
    )
    .get(seriesId) as { modality: string; description: string; colour: number } | undefined;
  if (!series) throw new VolumeRefused(`series ${seriesId} no longer exists`);
  const images = seriesImages(db, seriesId);
  const refuse = (why: string) => new VolumeRefused(`A 3D model segments a series as one volume, but ${why}.`);
  if (images.length < 2)
    throw refuse(`this series has ${images.length === 1 ? 'a single image' : 'no images'}, not a stack of slices`);
  if (series.modality !== 'CT' && series.modality !== 'MR')
    throw refuse(`this series is ${series.modality || 'of an unknown modality'}; 3D models here read CT or MR volumes`);
  if (series.colour > 0) throw refuse('this series holds colour images');
  const problem = volumeProblem(images);
  if (problem) throw refuse(`this series is not a regular stack of slices: ${problem}`);
  if (!images[0]!.pixelSpacing) throw refuse('its images carry no Pixel Spacing, so its voxel size is unknown');
  const g = stackGeometry(images);
  return {
    seriesId,
    modality: series.modality,
    description: series.description,
    images,
    shape: [images.length, images[0]!.rows, images[0]!.columns],
    spacing: [g.spacing[2], g.spacing[1], g.spacing[0]],
  };
}

/** Bytes at the peak of the volume's 3D inference (`volumeInferenceBytes`) and the model grid. */
export function volumeMemory(v: Pick<SeriesVolume, 'shape' | 'spacing'>, model: VolumeModelInput, classes: number) {
  const modelShape = shapeAtSpacing(v.shape, v.spacing, model.spacing);
  return { modelShape, bytes: volumeInferenceBytes(v.shape, modelShape, classes, model.patch) };
}

const gb = (bytes: number) => (bytes >= 1e9 ? `${(bytes / 1e9).toFixed(1)} GB` : `${Math.ceil(bytes / 1e6)} MB`);

/** `VolumeRefused` when the series' 3D inference would need more than `budget` bytes. */
export function checkVolumeMemory(v: SeriesVolume, model: VolumeModelInput, classes: number, budget: number): void {
  const { bytes } = volumeMemory(v, model, classes);
  if (bytes <= budget) return;
  const [d, h, w] = v.shape;
  throw new VolumeRefused(
    `This series is too large to segment with this 3D model on this workstation: its ${w}×${h}×${d} voxels would need about ` +
      `${gb(bytes)} of memory at the model's ${model.spacing.map((s) => Number(s.toFixed(2))).join('×')} mm grid, more than the ` +
      `${gb(budget)} allowed.`,
  );
}

/**
 * The mirror axes of a volume's test-time augmentation, whatever the TTA setting: none. A task
 * whose labels have a side trains its 3D model unmirrored (the trainer's --no-flip): a left-right
 * mirror swaps lateral labels (the right and left kidney), so averaging it in paints one kidney
 * with the other's label. Other 3D tasks train mirrored left-right (recipe.ts), but a mirrored
 * pass doubles a volume's minutes of network on a CPU (a 512×512×300 CT: 8–10 minutes a pass
 * here), so no volume is mirrored at inference. The setting still asks for the heat map (the
 * entropy of the one pass).
 */
export const VOLUME_MIRROR_AXES: readonly Axis[] = [];

/**
 * The test-time flips a volume's inference runs, counted as predictions.tta_flips and the job's
 * result count them (postprocess.ts TTA_FLIPS: 0 = the one unmirrored pass, 2 = one mirror axis,
 * 4 = two): what is stored is what ran, not the setting.
 */
export const VOLUME_TTA_FLIPS = ([0, 2, 4] as const)[VOLUME_MIRROR_AXES.length]!;

/** One slice's prediction, as the predictions table stores it (worker.ts `insert`). */
export interface VolumeSlicePrediction {
  imageId: number;
  mask: Uint8Array;
  uncertainty: Uint8Array | null;
  foreground: number;
  entropy: number;
  ttaDice: null;
  inputDistance: null;
}

export interface VolumeRunOptions {
  ttaFlips: 0 | 2 | 4;
  minComponentPixels: number;
  fillHoles: boolean;
  /** Checked between slices read, between windows and between slices labelled. */
  signal: { readonly aborted: boolean };
  /** Phase and counts for the job: slices read (unit 'images'), then windows run (unit 'windows'). */
  onProgress?: (phase: 'reading' | 'segmenting', done: number, total: number) => void;
}

export interface VolumeTimings {
  decode: number;
  preprocess: number;
  model: number;
  postprocess: number;
}

/**
 * Reads the series' slices (modality LUT applied: stored value × Rescale Slope + Rescale
 * Intercept, HU for CT), segments the volume (`segmentVolume` at the model's spacing, TTA by
 * flips), and returns one prediction per slice: the label values after the 2D pipeline's
 * per-label clean-up (`cleanLabels`), RLE; the heat map on the model's in-plane grid
 * (heat-map.ts's grid form) when TTA ran, else none, as the 2D softmax path; the slice's mean
 * normalised entropy as its score. Nothing is stored here: the caller writes the whole series in
 * one transaction. Throws `VolumeInferenceCancelled` when `signal` aborts, `VolumeRefused` for a
 * slice whose pixels do not match its row, and whatever `runPatch` rejects with.
 */
export async function segmentSeriesVolume(
  frames: FrameLoader,
  v: SeriesVolume,
  model: VolumeModelInput & { values: number[] },
  runPatch: RunPatch,
  o: VolumeRunOptions,
): Promise<{ slices: VolumeSlicePrediction[]; timings: VolumeTimings }> {
  const stop = () => {
    if (o.signal.aborted) throw new VolumeInferenceCancelled();
  };
  const t0 = performance.now();
  const [, h, w] = v.shape;
  // Held only by `input`: segmentVolume's resampled copy replaces it (the budget counts both).
  const input = {
    values: await readVolume(frames, v, stop, o.onProgress),
    shape: v.shape,
    spacing: v.spacing,
    modality: v.modality,
  };
  const t1 = performance.now();
  let modelMs = 0;
  const timedRun: RunPatch = async (patch, shape) => {
    const started = performance.now();
    try {
      return await runPatch(patch, shape);
    } finally {
      modelMs += performance.now() - started;
    }
  };
  const result = await segmentVolume(input, { spacing: model.spacing, values: model.values }, timedRun, {
    patch: model.patch,
    mirrorAxes: VOLUME_MIRROR_AXES,
    signal: o.signal,
    onProgress: (done, total) => o.onProgress?.('segmenting', done, total),
  });
  const t2 = performance.now();
  const [, mh, mw] = result.modelShape;
  const heat = new Uint8Array(mh * mw);
  const slices: VolumeSlicePrediction[] = [];
  for (const [k, image] of v.images.entries()) {
    stop();
    const labels = result.labeler.slice(k, false).labels;
    const foreground = cleanLabels(labels, w, h, o.minComponentPixels, o.fillHoles);
    const e = result.labeler.entropyPlane(k)!;
    let sum = 0;
    for (let i = 0; i < e.length; i++) {
      sum += e[i]!;
      heat[i] = Math.min(255, Math.max(0, Math.round(e[i]! * 255)));
    }
    slices.push({
      imageId: image.id,
      mask: encodeRle(labels),
      uncertainty: o.ttaFlips > 0 ? encodeGridHeatMap(heat, mw, mh) : null,
      foreground,
      entropy: sum / e.length,
      ttaDice: null,
      inputDistance: null,
    });
  }
  const t3 = performance.now();
  return { slices, timings: { decode: t1 - t0, preprocess: t2 - t1 - modelMs, model: modelMs, postprocess: t3 - t2 } };
}

/**
 * The series' intensities after the modality LUT (stored value × Rescale Slope + Rescale
 * Intercept: HU for CT), D×H×W Float32 in slice order. `stop` is called before each slice (it
 * throws to stop). `VolumeRefused` for a slice whose pixels do not match its row.
 */
export async function readVolume(
  frames: FrameLoader,
  v: SeriesVolume,
  stop: () => void = () => undefined,
  onProgress?: VolumeRunOptions['onProgress'],
): Promise<Float32Array> {
  const [d, h, w] = v.shape;
  const plane = h * w;
  const values = new Float32Array(d * plane);
  for (const [k, image] of v.images.entries()) {
    stop();
    const f = await frames.load(image.id);
    if (f.rows !== h || f.columns !== w || f.samplesPerPixel !== 1 || f.pixels.length < plane)
      throw new VolumeRefused(`slice ${k + 1} of this series does not hold the ${w}×${h} grey pixels its record says`);
    const base = k * plane;
    const { pixels, slope, intercept } = f;
    for (let i = 0; i < plane; i++) values[base + i] = pixels[i]! * slope + intercept;
    onProgress?.('reading', k + 1, d);
  }
  return values;
}
