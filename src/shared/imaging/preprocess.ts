// The model's input from a slice, and the slice's mask from the model's output — the pure,
// measured parts of the inference pipeline (architecture.md: pre- and post-processing must
// not dominate a 2D network's time). Shared so tests and any worker can use them.
import type { Normalization } from '../model/manifest';

export interface Letterbox {
  /** Model input size. */
  width: number;
  height: number;
  /** The slice, scaled by `scale` to (scaledWidth × scaledHeight), sits at (offsetX, offsetY). */
  scale: number;
  scaledWidth: number;
  scaledHeight: number;
  offsetX: number;
  offsetY: number;
}

export function letterbox(sourceWidth: number, sourceHeight: number, width: number, height: number): Letterbox {
  const scale = Math.min(width / sourceWidth, height / sourceHeight);
  const scaledWidth = Math.max(1, Math.round(sourceWidth * scale));
  const scaledHeight = Math.max(1, Math.round(sourceHeight * scale));
  return {
    width,
    height,
    scale,
    scaledWidth,
    scaledHeight,
    offsetX: Math.floor((width - scaledWidth) / 2),
    offsetY: Math.floor((height - scaledHeight) / 2),
  };
}

/** Maps modality values to [0, 1] by the model's rule; one channel of `samples` interleaved. */
export function normalize(
  values: ArrayLike<number>,
  rule: Normalization,
  slope = 1,
  intercept = 0,
  samples = 1,
  channel = 0,
  out: Float32Array = new Float32Array(values.length / samples),
): Float32Array {
  let lo: number;
  let hi: number;
  switch (rule.type) {
    case 'scale':
      lo = rule.min;
      hi = rule.max;
      break;
    case 'window':
      lo = rule.center - rule.width / 2;
      hi = rule.center + rule.width / 2;
      break;
    case 'percentile':
      [lo, hi] = percentiles(values, slope, intercept, samples, channel, rule.low, rule.high);
      break;
  }
  const range = hi - lo || 1;
  for (let i = 0, j = channel; i < out.length; i++, j += samples) {
    const v = (values[j]! * slope + intercept - lo) / range;
    out[i] = v < 0 ? 0 : v > 1 ? 1 : v;
  }
  return out;
}

function percentiles(
  values: ArrayLike<number>,
  slope: number,
  intercept: number,
  samples: number,
  channel: number,
  low: number,
  high: number,
): [number, number] {
  const n = values.length / samples;
  const sorted = new Float64Array(n);
  for (let i = 0, j = channel; i < n; i++, j += samples) sorted[i] = values[j]! * slope + intercept;
  sorted.sort();
  const at = (p: number) => sorted[Math.min(n - 1, Math.max(0, Math.round((p / 100) * (n - 1))))]!;
  return [at(low), at(high)];
}

/**
 * Bilinear resample of a single-channel image (half-pixel centres, as the model's own Resize),
 * written into `out` at an offset: used for the letterbox in and for the probabilities out.
 * With `threshold`, writes 1 where the resampled value exceeds it and 0 elsewhere instead (a
 * mask straight from the probabilities, without a full-size float image in between).
 */
export function resizeBilinear<T extends Float32Array | Uint8Array = Float32Array>(
  src: ArrayLike<number>,
  srcWidth: number,
  srcHeight: number,
  dstWidth: number,
  dstHeight: number,
  out: T = new Float32Array(dstWidth * dstHeight) as T,
  outStride = dstWidth,
  outOffset = 0,
  threshold?: number,
  /** The source may be a window of a larger image: its row stride and first pixel. */
  srcStride = srcWidth,
  srcOffset = 0,
): T {
  const sx = srcWidth / dstWidth;
  const sy = srcHeight / dstHeight;
  for (let y = 0; y < dstHeight; y++) {
    let fy = (y + 0.5) * sy - 0.5;
    if (fy < 0) fy = 0;
    const y0 = Math.min(srcHeight - 1, Math.floor(fy));
    const y1 = Math.min(srcHeight - 1, y0 + 1);
    const wy = fy - y0;
    const row0 = srcOffset + y0 * srcStride;
    const row1 = srcOffset + y1 * srcStride;
    const o = outOffset + y * outStride;
    for (let x = 0; x < dstWidth; x++) {
      let fx = (x + 0.5) * sx - 0.5;
      if (fx < 0) fx = 0;
      const x0 = Math.min(srcWidth - 1, Math.floor(fx));
      const x1 = Math.min(srcWidth - 1, x0 + 1);
      const wx = fx - x0;
      const top = src[row0 + x0]! + (src[row0 + x1]! - src[row0 + x0]!) * wx;
      const bottom = src[row1 + x0]! + (src[row1 + x1]! - src[row1 + x0]!) * wx;
      const v = top + (bottom - top) * wy;
      out[o + x] = threshold === undefined ? v : v > threshold ? 1 : 0;
    }
  }
  return out;
}

export interface ModelInputSpec {
  size: [number, number]; // [height, width]
  channels: number;
  channelMode: 'replicate' | 'rgb' | 'adjacent';
  normalization: Normalization;
}

export interface SliceSource {
  pixels: ArrayLike<number>;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  slope: number;
  intercept: number;
  /** MONOCHROME1: higher values are darker; inverted so the model always sees MONOCHROME2. */
  invert?: boolean;
}

/**
 * Writes one slice as a C×H×W input into `out` at `offset` (for batching); returns its letterbox.
 * One pass per channel: each bilinear tap is normalised (and inverted) as it is read, in float32
 * as the separate passes stored it, so the input is bit for bit what normalise → invert →
 * `resizeBilinear` gave, without a slice-sized buffer or touching pixels the resample skips.
 */
export function toModelInput(slice: SliceSource, spec: ModelInputSpec, out: Float32Array, offset = 0): Letterbox {
  const [height, width] = spec.size;
  const box = letterbox(slice.columns, slice.rows, width, height);
  const plane = width * height;
  const sourceChannels = spec.channelMode === 'rgb' && slice.samplesPerPixel === 3 ? 3 : 1;
  const ax = resampleAxis(slice.columns, box.scaledWidth);
  const ay = resampleAxis(slice.rows, box.scaledHeight);
  for (let c = 0; c < sourceChannels; c++) {
    const base = offset + c * plane;
    zeroOutsideLetterbox(out, base, box);
    // Grey from RGB: converted as each tap is read, except where a percentile rule needs the whole slice first.
    const grey = slice.samplesPerPixel === 3 && sourceChannels === 1;
    const rgb = slice.pixels;
    const source = grey && spec.normalization.type === 'percentile' ? luminance(rgb, slice.rows * slice.columns) : rgb;
    const lum = grey && source === rgb;
    const samples = grey ? 1 : slice.samplesPerPixel;
    const channel = grey ? 0 : c;
    const slope = grey ? 1 : slice.slope;
    const intercept = grey ? 0 : slice.intercept;
    const [lo, hi] = lum
      ? normalizationRange([], spec.normalization, slope, intercept, samples, channel)
      : normalizationRange(source, spec.normalization, slope, intercept, samples, channel);
    const range = hi - lo || 1;
    const invert = slice.invert === true;
    const table = lum ? null : tapTable(source, slope, intercept, lo, range, invert);
    const bias = table?.bias ?? 0;
    const values = table?.values;
    const tap = (i: number): number => {
      const raw = lum
        ? Math.fround(0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!)
        : source[i * samples + channel]!;
      const v = (raw * slope + intercept - lo) / range;
      const f = Math.fround(v < 0 ? 0 : v > 1 ? 1 : v);
      return invert ? Math.fround(1 - f) : f;
    };
    const o = base + box.offsetY * width + box.offsetX;
    if (values) resampleTable(source, samples, channel, values, bias, slice.columns, ax, ay, box, out, o, width);
    else {
      for (let y = 0; y < box.scaledHeight; y++) {
        const wy = ay.weight[y]!;
        const row0 = ay.lo[y]! * slice.columns;
        const row1 = ay.hi[y]! * slice.columns;
        const oy = o + y * width;
        for (let x = 0; x < box.scaledWidth; x++) {
          const x0 = ax.lo[x]!;
          const x1 = ax.hi[x]!;
          const wx = ax.weight[x]!;
          const a = tap(row0 + x0);
          const b = tap(row0 + x1);
          const d = tap(row1 + x0);
          const e = tap(row1 + x1);
          const top = a + (b - a) * wx;
          const bottom = d + (e - d) * wx;
          out[oy + x] = top + (bottom - top) * wy;
        }
      }
    }
  }
  // Grey input to a 3-channel model: the same plane in every channel.
  for (let c = sourceChannels; c < spec.channels; c++) out.copyWithin(offset + c * plane, offset, offset + plane);
  return box;
}

/**
 * Positions of the slices that fill a 2.5D input (channelMode `adjacent`) for slice `index` of
 * `count` slices in position order: [z−1, z, z+1], the edge slice repeated at either end.
 */
export function adjacentIndices(index: number, count: number): [number, number, number] {
  return [Math.max(0, index - 1), index, Math.min(count - 1, index + 1)];
}

/**
 * The 2.5D input (channelMode `adjacent`): channel c is slice c of [z−1, z, z+1], each
 * normalised and letterboxed as a grey slice on its own (`toModelInput` with one channel). A
 * neighbour of another size than the slice (not one volume) is replaced by the slice itself.
 * Returns the slice's letterbox; `out` holds spec.channels (3) planes at `offset`.
 */
export function toAdjacentModelInput(
  slices: [SliceSource, SliceSource, SliceSource],
  spec: ModelInputSpec,
  out: Float32Array,
  offset = 0,
): Letterbox {
  const [height, width] = spec.size;
  const plane = width * height;
  const centre = slices[1];
  const one: ModelInputSpec = { ...spec, channels: 1, channelMode: 'replicate' };
  let box: Letterbox | undefined;
  for (let c = 0; c < spec.channels; c++) {
    const s = slices[Math.min(c, 2)]!;
    const source = s.rows === centre.rows && s.columns === centre.columns ? s : centre;
    const b = toModelInput(source, one, out, offset + c * plane);
    if (c === 1) box = b;
  }
  return box ?? letterbox(centre.columns, centre.rows, width, height);
}

/** The resample loop for integer pixels, each tap a table look-up (the common case, kept monomorphic). */
function resampleTable(
  source: ArrayLike<number>,
  samples: number,
  channel: number,
  values: Float32Array,
  bias: number,
  columns: number,
  ax: ResampleAxis,
  ay: ResampleAxis,
  box: Letterbox,
  out: Float32Array,
  o: number,
  stride: number,
): void {
  for (let y = 0; y < box.scaledHeight; y++) {
    const wy = ay.weight[y]!;
    const row0 = ay.lo[y]! * columns;
    const row1 = ay.hi[y]! * columns;
    const oy = o + y * stride;
    for (let x = 0; x < box.scaledWidth; x++) {
      const x0 = ax.lo[x]!;
      const x1 = ax.hi[x]!;
      const wx = ax.weight[x]!;
      const a = values[source[(row0 + x0) * samples + channel]! + bias]!;
      const b = values[source[(row0 + x1) * samples + channel]! + bias]!;
      const d = values[source[(row1 + x0) * samples + channel]! + bias]!;
      const e = values[source[(row1 + x1) * samples + channel]! + bias]!;
      const top = a + (b - a) * wx;
      const bottom = d + (e - d) * wx;
      out[oy + x] = top + (bottom - top) * wy;
    }
  }
}

/**
 * Normalised (and inverted) float32 value of every possible 8- or 16-bit integer pixel, computed
 * with the tap's own expression: a look-up instead of a division per tap. Kept while a series'
 * rescale and rule stay the same; null for other pixel types.
 */
function tapTable(
  pixels: ArrayLike<number>,
  slope: number,
  intercept: number,
  lo: number,
  range: number,
  invert: boolean,
): { values: Float32Array; bias: number } | null {
  const kind =
    pixels instanceof Uint8Array || pixels instanceof Uint8ClampedArray
      ? { size: 256, bias: 0 }
      : pixels instanceof Int8Array
        ? { size: 256, bias: 128 }
        : pixels instanceof Uint16Array
          ? { size: 65536, bias: 0 }
          : pixels instanceof Int16Array
            ? { size: 65536, bias: 32768 }
            : null;
  if (!kind) return null;
  const key = `${kind.size}:${kind.bias}:${slope}:${intercept}:${lo}:${range}:${invert}`;
  if (lastTable?.key === key) return lastTable;
  const values = new Float32Array(kind.size);
  for (let k = 0; k < kind.size; k++) {
    const v = ((k - kind.bias) * slope + intercept - lo) / range;
    const f = Math.fround(v < 0 ? 0 : v > 1 ? 1 : v);
    values[k] = invert ? 1 - f : f;
  }
  lastTable = { key, values, bias: kind.bias };
  return lastTable;
}
let lastTable: { key: string; values: Float32Array; bias: number } | undefined;

function zeroOutsideLetterbox(out: Float32Array, base: number, box: Letterbox): void {
  const { width, height, offsetX, offsetY, scaledWidth, scaledHeight } = box;
  out.fill(0, base, base + offsetY * width + offsetX);
  for (let y = offsetY; y < offsetY + scaledHeight - 1; y++) {
    const from = base + y * width + offsetX + scaledWidth;
    out.fill(0, from, from + width - scaledWidth);
  }
  out.fill(0, base + (offsetY + scaledHeight - 1) * width + offsetX + scaledWidth, base + width * height);
}

function normalizationRange(
  values: ArrayLike<number>,
  rule: Normalization,
  slope: number,
  intercept: number,
  samples: number,
  channel: number,
): [number, number] {
  switch (rule.type) {
    case 'scale':
      return [rule.min, rule.max];
    case 'window':
      return [rule.center - rule.width / 2, rule.center + rule.width / 2];
    case 'percentile':
      return percentiles(values, slope, intercept, samples, channel, rule.low, rule.high);
  }
}

/** The taps of a half-pixel-centred bilinear resample along one axis, as `resizeBilinear` computes them. */
export interface ResampleAxis {
  lo: Int32Array;
  hi: Int32Array;
  weight: Float64Array;
}

const axes = new Map<string, ResampleAxis>();
export function resampleAxis(src: number, dst: number): ResampleAxis {
  const key = `${src}:${dst}`;
  let a = axes.get(key);
  if (a) return a;
  a = { lo: new Int32Array(dst), hi: new Int32Array(dst), weight: new Float64Array(dst) };
  const s = src / dst;
  for (let i = 0; i < dst; i++) {
    let f = (i + 0.5) * s - 0.5;
    if (f < 0) f = 0;
    const i0 = Math.min(src - 1, Math.floor(f));
    a.lo[i] = i0;
    a.hi[i] = Math.min(src - 1, i0 + 1);
    a.weight[i] = f - i0;
  }
  // A series has one or two geometries; a handful kept covers mixed batches.
  if (axes.size > 32) axes.clear();
  axes.set(key, a);
  return a;
}

/** Grey (ITU-R BT.601 luma weights) of interleaved RGB. */
function luminance(rgb: ArrayLike<number>, n: number): Float32Array {
  const grey = new Float32Array(n);
  for (let i = 0; i < n; i++) grey[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  return grey;
}
