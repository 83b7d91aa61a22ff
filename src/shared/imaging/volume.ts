// The volume side of 3D inference (issue 25), pure: resampling a volume to the model's spacing and
// back, intensity normalisation per modality, and the memory a volume's inference needs.
//
// Layout everywhere: a volume is a Float32Array of D×H×W voxels (slice-major: index
// (z·H + y)·W + x, z = slice, y = row, x = column); C classes are C such volumes one after the
// other (C×D×H×W). Spacing is [slice spacing, row spacing, column spacing] in mm, as the DICOM
// series gives it (spacing between slices along the normal, Pixel Spacing (0028,0030)).
import { normalize, resampleAxis } from './preprocess';

/** Voxels along [slices (D), rows (H), columns (W)]. */
export type Shape3 = readonly [number, number, number];
/** Millimetres between voxel centres along [slices, rows, columns]. */
export type Spacing3 = readonly [number, number, number];

export const voxelCount = (s: Shape3): number => s[0] * s[1] * s[2];

/**
 * The grid that covers the same field as `shape` at `spacing` with voxels of about `target` mm:
 * n_a = max(1, round(shape_a × spacing_a / target_a)) per axis. The extent is kept, so the
 * spacing actually reached is shape_a × spacing_a / n_a (within half a voxel of the target).
 */
export function shapeAtSpacing(shape: Shape3, spacing: Spacing3, target: Spacing3): [number, number, number] {
  return [0, 1, 2].map((a) => Math.max(1, Math.round((shape[a]! * spacing[a]!) / target[a]!))) as [number, number, number];
}

/** Linear resampling of [outer, n, inner] values to [outer, m, inner] along the middle axis, half-voxel-centred (`resampleAxis`). */
function resampleAlong(src: Float32Array, outer: number, n: number, inner: number, m: number): Float32Array {
  const ax = resampleAxis(n, m);
  const out = new Float32Array(outer * m * inner);
  for (let a = 0; a < outer; a++) {
    const sb = a * n * inner;
    const ob = a * m * inner;
    for (let i = 0; i < m; i++) {
      const lo = sb + ax.lo[i]! * inner;
      const hi = sb + ax.hi[i]! * inner;
      const w = ax.weight[i]!;
      const o = ob + i * inner;
      if (w === 0) out.set(src.subarray(lo, lo + inner), o);
      else
        for (let b = 0; b < inner; b++) {
          const v = src[lo + b]!;
          out[o + b] = v + (src[hi + b]! - v) * w;
        }
    }
  }
  return out;
}

/**
 * Trilinear resampling of `channels` volumes (C×D×H×W, `shape` = [D, H, W]) to C×D'×H'×W'
 * (`to`), separable (columns, then rows, then slices, each pass linear), voxel centres aligned
 * as in `resampleAxis`: output voxel i samples the input at (i + ½)·n/m − ½, clamped to the
 * grid, so the field of view is kept. An axis whose size does not change is copied. Peak memory:
 * the input, the output and one intermediate (the input after the first passes). Used for
 * intensities (to the model's spacing) and for class probabilities (back to the series' grid,
 * where the argmax then gives the label map; see `VolumeLabeler`). RangeError on a size mismatch.
 */
export function resampleTrilinear(data: Float32Array, shape: Shape3, to: Shape3, channels = 1): Float32Array {
  const [d, h, w] = shape;
  if (data.length !== channels * d * h * w)
    throw new RangeError(`expected ${channels}×${d}×${h}×${w} values, got ${data.length}`);
  let v = data;
  if (to[2] !== w) v = resampleAlong(v, channels * d * h, w, 1, to[2]);
  if (to[1] !== h) v = resampleAlong(v, channels * d, h, to[2], to[1]);
  if (to[0] !== d) v = resampleAlong(v, channels, d, to[1] * to[2], to[0]);
  return v === data ? data.slice() : v;
}

/**
 * Nearest-neighbour resampling of a label map (D×H×W label values) to `to`, with the same voxel
 * centre convention as `resampleTrilinear` (round half up of (i + ½)·n/m − ½). For label maps
 * only (labels cannot be averaged); the pipeline itself resamples probabilities, not labels.
 */
export function resampleNearest(labels: Uint8Array, shape: Shape3, to: Shape3): Uint8Array {
  const idx = (n: number, m: number) =>
    Int32Array.from({ length: m }, (_, i) => Math.min(n - 1, Math.max(0, Math.floor((i + 0.5) * (n / m)))));
  const [iz, iy, ix] = [idx(shape[0], to[0]), idx(shape[1], to[1]), idx(shape[2], to[2])];
  const out = new Uint8Array(voxelCount(to));
  let o = 0;
  for (let z = 0; z < to[0]; z++)
    for (let y = 0; y < to[1]; y++) {
      const row = (iz[z]! * shape[1] + iy[y]!) * shape[2];
      for (let x = 0; x < to[2]; x++) out[o++] = labels[row + ix[x]!]!;
    }
  return out;
}

/**
 * CT intensity normalisation: the abdominal soft-tissue window, level 40 HU, width 400 HU, i.e.
 * [−160, 240] HU clipped and mapped linearly to [0, 1] ((HU + 160) / 400). Liver, spleen, kidney
 * (unenhanced and portal venous), fat (−100) and blood lie inside; air and bone saturate at 0 and
 * 1. A fixed window (not per-volume statistics) so that the same HU always gives the same input,
 * as nnU-Net does for CT (it clips to dataset percentiles of the foreground; we state a window).
 */
export const CT_WINDOW = { type: 'window', center: 40, width: 400 } as const;

/**
 * MR intensity normalisation: per volume, the 0.5th and 99.5th percentiles of all voxels
 * (nearest rank: sorted[round(p/100 · (n − 1))]) map linearly to 0 and 1, clipped, so that a
 * few bright voxels (vessels, fat) cannot compress the rest. To [0, 1] (not a z-score) as the 2D
 * pipeline's 'percentile' rule does (preprocess.ts `normalize`), so both kinds of model see the
 * same range.
 */
export const MR_PERCENTILES = { type: 'percentile', low: 0.5, high: 99.5 } as const;

/**
 * Normalises a volume's intensities (CT: HU; MR: stored values after the modality LUT) to the
 * model's [0, 1] input by the modality's rule (`CT_WINDOW`, `MR_PERCENTILES`), into `out`
 * (may be `values` itself). The MR percentiles sort a Float64 copy of the volume: 8 bytes per
 * voxel for the call, so normalise at the model's spacing (after resampling), not the series'.
 * RangeError on another modality (the caller decides what a model for it expects).
 */
export function normalizeVolume(
  values: Float32Array,
  modality: string,
  out: Float32Array = new Float32Array(values.length),
): Float32Array {
  if (modality === 'CT') return normalize(values, CT_WINDOW, 1, 0, 1, 0, out);
  if (modality === 'MR') return normalize(values, MR_PERCENTILES, 1, 0, 1, 0, out);
  throw new RangeError(`no volume normalisation for modality ${modality}`);
}

/**
 * Bytes held at the peak of a volume's 3D inference, for `classes` classes: the series'
 * intensities (Float32, 4 B per series voxel), the model-grid input (4 B) plus the class
 * probability accumulator (4·C B; the Gaussian weight sum is separable, so no per-voxel weight
 * map) plus the uncertainty (4 B) per model-grid voxel, the label map and heat map kept for the
 * whole series (1 + 1 B per series voxel), and the per-window buffers (input, flips' logits and
 * their mean: (1 + 2C) × 4 B per patch voxel). Accumulating at the series' own grid instead
 * would cost (8 + 4C) B per series voxel: for a 512×512×300 CT (78.6 M voxels) and 5 classes,
 * 2.2 GB before anything else, over the ~2 GB bound, which is why scores are accumulated at
 * the model's (coarser) spacing and resampled back one slice at a time.
 */
export function volumeInferenceBytes(series: Shape3, model: Shape3, classes: number, patch: Shape3): number {
  return voxelCount(series) * (4 + 2) + voxelCount(model) * (4 + 4 * classes + 4) + voxelCount(patch) * (1 + 2 * classes) * 4;
}
