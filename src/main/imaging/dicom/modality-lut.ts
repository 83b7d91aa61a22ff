// Stored values → modality values (Hounsfield units for CT), and MONOCHROME1 inversion. Kept
// apart from decoding so callers that need stored values (export, re-encoding, SEG) get them.
import type { DecodedFrame, PixelArray } from './types';

export interface ModalityLut {
  rescaleSlope: number;
  rescaleIntercept: number;
}

/**
 * Applies slope/intercept. Integer slope and intercept give an integer array (Int16 when the
 * result fits, else Int32), so a CT slice stays 2 bytes a voxel; anything else gives Float32.
 * The identity returns the input array itself.
 */
export function applyModalityLut(pixels: PixelArray, lut: ModalityLut): PixelArray {
  const { rescaleSlope: m, rescaleIntercept: b } = lut;
  if (m === 1 && b === 0) return pixels;
  if (Number.isInteger(m) && Number.isInteger(b) && !(pixels instanceof Float32Array || pixels instanceof Float64Array)) {
    let min = Infinity;
    let max = -Infinity;
    for (let i = 0; i < pixels.length; i++) {
      const v = pixels[i] ?? 0;
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const lo = Math.min(min * m + b, max * m + b);
    const hi = Math.max(min * m + b, max * m + b);
    if (pixels.length === 0 || (lo >= -32768 && hi <= 32767)) return mapInto(new Int16Array(pixels.length), pixels, m, b);
    if (lo >= -2147483648 && hi <= 2147483647) return mapInto(new Int32Array(pixels.length), pixels, m, b);
  }
  return mapInto(new Float32Array(pixels.length), pixels, m, b);
}

function mapInto<T extends PixelArray>(out: T, src: PixelArray, m: number, b: number): T {
  for (let i = 0; i < src.length; i++) out[i] = (src[i] ?? 0) * m + b;
  return out;
}

/**
 * MONOCHROME1 (higher values darker) → MONOCHROME2, mirroring values within the stored range
 * (0 … 2^bits−1, or −2^(bits−1) … 2^(bits−1)−1 when signed), so the result still fits its
 * array type and the same window maps to the mirrored grey. Other frames are returned as is.
 */
export function invertMonochrome1(frame: DecodedFrame): DecodedFrame {
  if (frame.photometric !== 'MONOCHROME1') return frame;
  const { pixels } = frame;
  if (pixels instanceof Float32Array || pixels instanceof Float64Array) {
    let min = Infinity;
    let max = -Infinity;
    for (const v of pixels) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    const out = new (pixels.constructor as new (n: number) => typeof pixels)(pixels.length);
    for (let i = 0; i < pixels.length; i++) out[i] = max + min - (pixels[i] ?? 0);
    return { ...frame, pixels: out, photometric: 'MONOCHROME2' };
  }
  const lo = frame.signed ? -(2 ** (frame.bitsStored - 1)) : 0;
  const hi = frame.signed ? 2 ** (frame.bitsStored - 1) - 1 : 2 ** frame.bitsStored - 1;
  const out = new (pixels.constructor as new (n: number) => PixelArray)(pixels.length);
  for (let i = 0; i < pixels.length; i++) out[i] = hi + lo - (pixels[i] ?? 0);
  return { ...frame, pixels: out, photometric: 'MONOCHROME2' };
}
