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
  channelMode: 'replicate' | 'rgb';
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

/** Writes one slice as a C×H×W input into `out` at `offset` (for batching); returns its letterbox. */
export function toModelInput(slice: SliceSource, spec: ModelInputSpec, out: Float32Array, offset = 0): Letterbox {
  const [height, width] = spec.size;
  const box = letterbox(slice.columns, slice.rows, width, height);
  const plane = width * height;
  out.fill(0, offset, offset + plane * spec.channels);
  const sourceChannels = spec.channelMode === 'rgb' && slice.samplesPerPixel === 3 ? 3 : 1;
  const norm = scratch(slice.rows * slice.columns);
  for (let c = 0; c < sourceChannels; c++) {
    if (slice.samplesPerPixel === 3 && sourceChannels === 1) luminance(slice.pixels, norm, spec.normalization);
    else normalize(slice.pixels, spec.normalization, slice.slope, slice.intercept, slice.samplesPerPixel, c, norm);
    if (slice.invert) for (let i = 0; i < norm.length; i++) norm[i] = 1 - norm[i]!;
    resizeBilinear(
      norm,
      slice.columns,
      slice.rows,
      box.scaledWidth,
      box.scaledHeight,
      out,
      width,
      offset + c * plane + box.offsetY * width + box.offsetX,
    );
  }
  // Grey input to a 3-channel model: the same plane in every channel.
  for (let c = sourceChannels; c < spec.channels; c++) out.copyWithin(offset + c * plane, offset, offset + plane);
  return box;
}

// One normalisation buffer reused across slices: a fresh 256 KB array per slice was
// measurable in the inference pipeline (allocation and GC).
let scratchBuffer = new Float32Array(0);
function scratch(length: number): Float32Array {
  if (scratchBuffer.length < length) scratchBuffer = new Float32Array(length);
  return scratchBuffer.subarray(0, length);
}

function luminance(rgb: ArrayLike<number>, out: Float32Array, rule: Normalization): void {
  const grey = new Float32Array(out.length);
  for (let i = 0; i < out.length; i++) grey[i] = 0.299 * rgb[i * 3]! + 0.587 * rgb[i * 3 + 1]! + 0.114 * rgb[i * 3 + 2]!;
  normalize(grey, rule, 1, 0, 1, 0, out);
}
