// Sliding-window inference of a 3D model over a volume (issue 25), pure and independent of the
// runtime: the caller passes `runPatch`, which runs the network on one patch (onnxruntime in the
// inference worker, anything in tests). As nnU-Net does it (Isensee et al., Nature Methods 2021;
// nnunetv2/inference/sliding_window_prediction.py): windows of the patch size with overlap ½,
// the last window of each axis against the border, a Gaussian importance map with σ = patch/8
// weighting each window's prediction, mirroring (flip) test-time augmentation averaged after
// un-flipping. Unlike nnU-Net we average softmax probabilities, not logits, over flips and
// windows, as the 2D pipeline averages probabilities over its flips (multiclass.ts).
//
// Layout: volumes D×H×W Float32 (index (z·H + y)·W + x), class scores C×D×H×W (volume.ts).
import { entropyPlane, softmaxWhole } from './multiclass';
import type { Letterbox } from './preprocess';
import { resampleTrilinear, voxelCount, type Shape3 } from './volume';

/** A spatial axis of a volume: 0 = slices (D), 1 = rows (H), 2 = columns (W). */
export type Axis = 0 | 1 | 2;

/**
 * Runs the network on one patch: `patch` is 1×d×h×w (one channel, `shape` = [d, h, w], always
 * the window's patch size); resolves to the logits C×d×h×w. The caller owns batching and the
 * session; it may keep `patch` only until its promise settles (the buffer is reused). The
 * returned logits are overwritten in place (softmax), so return a buffer nobody else reads.
 */
export type RunPatch = (patch: Float32Array, shape: Shape3) => Promise<Float32Array>;

/** Thrown by `slidingWindow` when its signal is aborted; no result is returned. */
export class VolumeInferenceCancelled extends Error {
  constructor() {
    super('The segmentation of this volume was cancelled.');
    this.name = 'VolumeInferenceCancelled';
  }
}

/**
 * The 1D Gaussian importance along a patch axis of `size` voxels: exp(−(i − c)² / 2σ²) with
 * c = (size − 1)/2 and σ = size/8, scaled so its largest value is 1. nnU-Net puts the centre at
 * size//2 (half a voxel off for an even size); the exact centre keeps the map symmetric, so a
 * flipped window is weighted as the unflipped one. Never 0: at the border it is exp(−8) ≈ 3e-4.
 */
export function gaussian1d(size: number): Float32Array {
  const c = (size - 1) / 2;
  const sigma = size / 8;
  const g = new Float32Array(size);
  let max = 0;
  for (let i = 0; i < size; i++) {
    g[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
    if (g[i]! > max) max = g[i]!;
  }
  for (let i = 0; i < size; i++) g[i]! /= max;
  return g;
}

/**
 * The Gaussian importance map of a d×h×w patch (nnU-Net's `compute_gaussian`, σ = 1/8 of the
 * patch per axis): the product of the three `gaussian1d`, so its peak (the centre voxels) is 1.
 * Only the scale of the weights' ratios matters: blending divides by their sum.
 */
export function gaussianImportance(patch: Shape3): Float32Array {
  const [gz, gy, gx] = patch.map(gaussian1d) as [Float32Array, Float32Array, Float32Array];
  const out = new Float32Array(voxelCount(patch));
  let o = 0;
  for (let z = 0; z < patch[0]; z++)
    for (let y = 0; y < patch[1]; y++) for (let x = 0; x < patch[2]; x++) out[o++] = gz[z]! * gy[y]! * gx[x]!;
  return out;
}

/** Round half to even, as numpy's `np.round` (nnU-Net's window starts). */
function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/**
 * Window starts along one axis of `size` voxels for a patch of `patch` (nnU-Net's
 * `compute_steps_for_sliding_window`): n = ⌈(size − patch) / (patch · (1 − overlap))⌉ + 1
 * windows spread evenly, the first at 0 and the last at size − patch (against the border),
 * rounded half to even. A size below the patch gives [0] (the caller pads). Overlap in [0, 1).
 */
export function windowStarts(size: number, patch: number, overlap = 0.5): number[] {
  if (size <= patch) return [0];
  const step = patch * (1 - overlap);
  const n = Math.ceil((size - patch) / step) + 1;
  const actual = (size - patch) / (n - 1);
  return Array.from({ length: n }, (_, i) => roundHalfEven(actual * i));
}

/** All 2^k combinations of the mirror axes (the empty one first: the unflipped run). */
export function mirrorCombinations(axes: readonly Axis[]): Axis[][] {
  let out: Axis[][] = [[]];
  for (const a of axes) out = out.concat(out.map((c) => [...c, a]));
  return out;
}

/** `src` (C×d×h×w) flipped along `axes` into `dst` (its own inverse); dst ≠ src. */
export function flipVolume(src: Float32Array, dst: Float32Array, channels: number, shape: Shape3, axes: readonly Axis[]): void {
  const [d, h, w] = shape;
  const fz = axes.includes(0);
  const fy = axes.includes(1);
  const fx = axes.includes(2);
  for (let c = 0; c < channels; c++)
    for (let z = 0; z < d; z++)
      for (let y = 0; y < h; y++) {
        const o = ((c * d + z) * h + y) * w;
        const s = ((c * d + (fz ? d - 1 - z : z)) * h + (fy ? h - 1 - y : y)) * w;
        if (fx) for (let x = 0; x < w; x++) dst[o + x] = src[s + w - 1 - x]!;
        else dst.set(src.subarray(s, s + w), o);
      }
}

export interface SlidingWindowOptions {
  /** Patch size [d, h, w] in voxels (the model's training patch; multiples of 32 for LGMSNet). */
  patch: Shape3;
  /** Number of output channels C of the network (background included). */
  classes: number;
  /** Fraction of a patch shared by neighbouring windows (default ½, as nnU-Net and the authors). */
  overlap?: number;
  /** Mirror axes for test-time augmentation: every combination is run (2^k runs per window); [] = none (default). */
  mirrorAxes?: readonly Axis[];
  /** Value of the voxels that pad a volume smaller than the patch (default 0, the bottom of the normalised range). */
  padValue?: number;
  /** Called with (0, total) before the first window and (k, total) after the k-th. */
  onProgress?: (done: number, total: number) => void;
  /** Checked before each window: once aborted, no other window starts and `VolumeInferenceCancelled` is thrown. */
  signal?: { readonly aborted: boolean };
}

interface AxisPlan {
  /** Window starts in the padded axis. */
  starts: number[];
  /** Voxels of padding before the volume (the padded axis is max(size, patch), centred as nnU-Net's pad_nd_image). */
  before: number;
  /** The Gaussian along the patch. */
  g: Float32Array;
  /** 1 / Σ over windows of the Gaussian, per volume voxel of this axis. */
  inverseSum: Float64Array;
}

function planAxis(size: number, patch: number, overlap: number): AxisPlan {
  const padded = Math.max(size, patch);
  const before = Math.floor((padded - size) / 2);
  const starts = windowStarts(padded, patch, overlap);
  const g = gaussian1d(patch);
  const sum = new Float64Array(size);
  for (const s of starts)
    for (let i = 0; i < patch; i++) {
      const v = s + i - before;
      if (v >= 0 && v < size) sum[v]! += g[i]!;
    }
  return { starts, before, g, inverseSum: sum.map((s) => 1 / s) };
}

/**
 * Segments a volume in sliding windows and returns its class probabilities, C×D×H×W Float32 on
 * the volume's own grid (each voxel's C values sum to 1 within float rounding).
 *
 * `volume` is the normalised input, D×H×W at the model's spacing (`shape`). Each window's patch
 * (padded with `padValue` where the volume is smaller than the patch) is run once per mirror
 * combination; each run's logits go through a softmax, are un-flipped and averaged; the mean is
 * weighted by the Gaussian importance map and added to the accumulator; at the end each voxel is
 * divided by its total weight. Weights are products of per-axis Gaussians and the windows form a
 * grid, so the total weight is the product of three per-axis sums: blending is an exact
 * partition of unity without a per-voxel weight map.
 *
 * Memory: the accumulator, 4·C bytes per voxel (20 B for 5 classes: 17.1 M voxels, 343 MB, for
 * a 512×512×300 CT at 0.7×0.7×2.5 mm resampled to 1.5×1.5×2.5 mm), plus per-window buffers of
 * (1 + 2C) × 4 B per patch voxel; see `volumeInferenceBytes`.
 *
 * Errors: RangeError when `runPatch` returns other than C×d×h×w values;
 * `VolumeInferenceCancelled` when `signal` is aborted (checked between windows, so at most the
 * window in progress completes); whatever `runPatch` rejects with.
 */
export async function slidingWindow(
  volume: Float32Array,
  shape: Shape3,
  runPatch: RunPatch,
  opts: SlidingWindowOptions,
): Promise<Float32Array> {
  const { patch, classes } = opts;
  const overlap = opts.overlap ?? 0.5;
  const flips = mirrorCombinations(opts.mirrorAxes ?? []);
  const [D, H, W] = shape;
  const [pd, ph, pw] = patch;
  if (volume.length !== D * H * W) throw new RangeError(`expected ${D}×${H}×${W} voxels, got ${volume.length}`);
  const plans = [planAxis(D, pd, overlap), planAxis(H, ph, overlap), planAxis(W, pw, overlap)] as const;
  const [az, ay, ax] = plans;
  const pn = pd * ph * pw;
  const acc = new Float32Array(classes * D * H * W);
  const input = new Float32Array(pn);
  const flipped = new Float32Array(pn);
  const mean = new Float32Array(classes * pn);
  const unflipped = new Float32Array(classes * pn);
  const total = az.starts.length * ay.starts.length * ax.starts.length;
  let done = 0;
  opts.onProgress?.(0, total);
  for (const sz of az.starts)
    for (const sy of ay.starts)
      for (const sx of ax.starts) {
        if (opts.signal?.aborted) throw new VolumeInferenceCancelled();
        // Volume coordinates of the window's first voxel (negative inside the padding).
        const oz = sz - az.before;
        const oy = sy - ay.before;
        const ox = sx - ax.before;
        extractPatch(volume, shape, [oz, oy, ox], patch, opts.padValue ?? 0, input);
        for (const [f, axes] of flips.entries()) {
          let feed = input;
          if (axes.length > 0) {
            flipVolume(input, flipped, 1, patch, axes);
            feed = flipped;
          }
          const logits = await runPatch(feed, patch);
          if (logits.length !== classes * pn)
            throw new RangeError(
              `the model returned ${logits.length} values for a ${pd}×${ph}×${pw} patch, expected ${classes}× that`,
            );
          softmaxWhole(logits, 0, classes, pn);
          let probs = logits;
          if (axes.length > 0) {
            flipVolume(logits, unflipped, classes, patch, axes);
            probs = unflipped;
          }
          if (f === 0) mean.set(probs);
          else for (let i = 0; i < mean.length; i++) mean[i]! += probs[i]!;
        }
        addWeighted(acc, shape, mean, classes, [oz, oy, ox], patch, plans, 1 / flips.length);
        opts.onProgress?.(++done, total);
      }
  normalizeWeights(acc, shape, classes, plans);
  return acc;
}

/** Copies the patch at volume coordinates `origin` (may reach outside) into `out`, `pad` outside the volume. */
function extractPatch(volume: Float32Array, shape: Shape3, origin: Shape3, patch: Shape3, pad: number, out: Float32Array): void {
  const [D, H, W] = shape;
  const [oz, oy, ox] = origin;
  const [pd, ph, pw] = patch;
  const x0 = Math.max(0, -ox);
  const x1 = Math.min(pw, W - ox);
  for (let z = 0; z < pd; z++)
    for (let y = 0; y < ph; y++) {
      const o = (z * ph + y) * pw;
      const vz = oz + z;
      const vy = oy + y;
      if (vz < 0 || vz >= D || vy < 0 || vy >= H || x1 <= x0) {
        out.fill(pad, o, o + pw);
        continue;
      }
      if (x0 > 0) out.fill(pad, o, o + x0);
      const s = (vz * H + vy) * W + ox;
      out.set(volume.subarray(s + x0, s + x1), o + x0);
      if (x1 < pw) out.fill(pad, o + x1, o + pw);
    }
}

/** acc += scale · g_z g_y g_x · mean over the window's voxels that lie inside the volume. */
function addWeighted(
  acc: Float32Array,
  shape: Shape3,
  mean: Float32Array,
  classes: number,
  origin: Shape3,
  patch: Shape3,
  plans: readonly [AxisPlan, AxisPlan, AxisPlan],
  scale: number,
): void {
  const [D, H, W] = shape;
  const [oz, oy, ox] = origin;
  const [pd, ph, pw] = patch;
  const [gz, gy, gx] = [plans[0].g, plans[1].g, plans[2].g];
  const N = D * H * W;
  const pn = pd * ph * pw;
  const x0 = Math.max(0, -ox);
  const x1 = Math.min(pw, W - ox);
  for (let z = Math.max(0, -oz); z < Math.min(pd, D - oz); z++)
    for (let y = Math.max(0, -oy); y < Math.min(ph, H - oy); y++) {
      const wzy = scale * gz[z]! * gy[y]!;
      const p = (z * ph + y) * pw;
      const v = ((oz + z) * H + (oy + y)) * W + ox;
      for (let c = 0; c < classes; c++) {
        const pc = p + c * pn;
        const vc = v + c * N;
        for (let x = x0; x < x1; x++) acc[vc + x]! += wzy * gx[x]! * mean[pc + x]!;
      }
    }
}

/** Divides each voxel of each class by its total Gaussian weight (the product of the per-axis sums). */
function normalizeWeights(
  acc: Float32Array,
  shape: Shape3,
  classes: number,
  plans: readonly [AxisPlan, AxisPlan, AxisPlan],
): void {
  const [D, H, W] = shape;
  const N = D * H * W;
  const [iz, iy, ix] = [plans[0].inverseSum, plans[1].inverseSum, plans[2].inverseSum];
  for (let z = 0; z < D; z++)
    for (let y = 0; y < H; y++) {
      const wzy = iz[z]! * iy[y]!;
      const v = (z * H + y) * W;
      for (let c = 0; c < classes; c++) for (let x = 0; x < W; x++) acc[c * N + v + x]! *= wzy * ix[x]!;
    }
}

/**
 * Per-voxel uncertainty of class probabilities (C×N, any grid): the normalised entropy
 * −Σ p_k log p_k / log C (0 = one class certain, 1 = all equally likely), the definition the 2D
 * softmax pipeline uses (multiclass.ts `entropyPlane`, same tables). N Float32 (4 B per voxel).
 */
export function entropyVolume(probabilities: Float32Array, classes: number): Float32Array {
  const n = probabilities.length / classes;
  const out = new Float32Array(n);
  if (classes < 2) return out;
  const whole: Letterbox = { width: n, height: 1, scale: 1, scaledWidth: n, scaledHeight: 1, offsetX: 0, offsetY: 0 };
  entropyPlane(probabilities, 0, classes, whole, out);
  return out;
}

/** One slice of the series' grid: label values and the heat map. */
export interface VolumeLabelSlice {
  /** Label values (class k paints values[k−1], 0 = background), rows × columns (H×W). */
  labels: Uint8Array;
  /** round(normalised entropy × 255), rows × columns: the 2D pipeline's heat map scale; null without uncertainty. */
  heat: Uint8Array | null;
}

/**
 * Brings the model-grid result back to the series' grid one slice at a time (the full-resolution
 * class probabilities are never held: for a 512×512×300 series and 5 classes they would take
 * 1.6 GB). For slice k: the class probabilities are interpolated trilinearly (linear between the
 * two nearest model slices, then bilinear in the plane, `resampleTrilinear`'s voxel centres) and
 * the argmax taken (ties: the lower class). Probabilities, not labels, are resampled — nnU-Net
 * does the same — because nearest-neighbour labels from a grid 2–3× coarser leave staircase
 * borders, while the argmax of interpolated probabilities places each border where the classes'
 * probabilities cross, between model voxels. The uncertainty (normalised entropy on the model
 * grid) is interpolated the same way, as the 2D pipeline resamples its entropy plane.
 */
export class VolumeLabeler {
  private readonly z: { lo: Int32Array; hi: Int32Array; weight: Float64Array };

  constructor(
    private readonly probabilities: Float32Array,
    private readonly entropy: Float32Array | null,
    private readonly classes: number,
    private readonly model: Shape3,
    readonly series: Shape3,
    private readonly values: readonly number[] = Array.from({ length: classes - 1 }, (_, k) => k + 1),
  ) {
    if (probabilities.length !== classes * voxelCount(model)) throw new RangeError('probabilities do not match the model grid');
    const [md] = model;
    const [sd] = series;
    const lo = new Int32Array(sd);
    const hi = new Int32Array(sd);
    const weight = new Float64Array(sd);
    for (let k = 0; k < sd; k++) {
      const f = Math.max(0, (k + 0.5) * (md / sd) - 0.5);
      lo[k] = Math.min(md - 1, Math.floor(f));
      hi[k] = Math.min(md - 1, lo[k]! + 1);
      weight[k] = f - lo[k]!;
    }
    this.z = { lo, hi, weight };
  }

  /**
   * Slice k (0-based, along the series' slices) of the label map and heat map; `withHeat` false
   * leaves the heat map out (null) for a caller that takes it on the model's grid
   * (`entropyPlane`). RangeError outside 0…D−1.
   */
  slice(k: number, withHeat = true): VolumeLabelSlice {
    const [, mh, mw] = this.model;
    const [, sh, sw] = this.series;
    this.check(k);
    const prob = resampleTrilinear(this.planeAt(k, this.probabilities, this.classes), [1, mh, mw], [1, sh, sw], this.classes);
    const n = sh * sw;
    const labels = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      let best = 0;
      let max = prob[i]!;
      for (let c = 1; c < this.classes; c++)
        if (prob[c * n + i]! > max) {
          max = prob[c * n + i]!;
          best = c;
        }
      labels[i] = best === 0 ? 0 : this.values[best - 1]!;
    }
    let heat: Uint8Array | null = null;
    if (this.entropy && withHeat) {
      const e = resampleTrilinear(this.planeAt(k, this.entropy, 1), [1, mh, mw], [1, sh, sw]);
      heat = new Uint8Array(n);
      for (let i = 0; i < n; i++) heat[i] = Math.min(255, Math.max(0, Math.round(e[i]! * 255)));
    }
    return { labels, heat };
  }

  /**
   * The normalised entropy (0…1) at series slice k on the model's in-plane grid (H'×W' of the
   * model shape, linear between the two nearest model slices, as `slice`): what a stored
   * model-grid heat map holds (heat-map.ts), resampled to the slice only when shown. Null
   * without uncertainty. RangeError outside 0…D−1.
   */
  entropyPlane(k: number): Float32Array | null {
    this.check(k);
    return this.entropy ? this.planeAt(k, this.entropy, 1) : null;
  }

  private check(k: number): void {
    const sd = this.series[0];
    if (!Number.isInteger(k) || k < 0 || k >= sd) throw new RangeError(`slice ${k} is outside 0–${sd - 1}`);
  }

  /** `channels` planes of the model grid at series slice k, linear between the two nearest model slices. */
  private planeAt(k: number, src: Float32Array, channels: number): Float32Array {
    const [, mh, mw] = this.model;
    const plane = mh * mw;
    const stride = voxelCount(this.model);
    const out = new Float32Array(channels * plane);
    const a = this.z.lo[k]! * plane;
    const b = this.z.hi[k]! * plane;
    const w = this.z.weight[k]!;
    for (let c = 0; c < channels; c++)
      for (let i = 0; i < plane; i++) {
        const v = src[c * stride + a + i]!;
        out[c * plane + i] = v + (src[c * stride + b + i]! - v) * w;
      }
    return out;
  }
}
