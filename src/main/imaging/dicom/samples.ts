// Sample-level helpers shared by every decoder: choosing the output array type, masking the
// bits above BitsStored (overlays or garbage live there in old files), sign extension, byte
// order, and the allocation guard that keeps a corrupt header from asking for gigabytes.
import { DicomError } from './errors';
import type { PixelArray } from './types';

export interface SampleFormat {
  /** 1, 8, 16, 32 for integers; 32 or 64 for floats. */
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  signed: boolean;
  float: boolean;
}

export const DEFAULT_MAX_OUTPUT_BYTES = 2 * 1024 ** 3;

export function bytesPerSample(f: SampleFormat): number {
  return f.bitsAllocated === 1 ? 1 : f.bitsAllocated / 8;
}

/** Refuses sizes a caller did not agree to before anything of that size is allocated. */
export function checkAllocation(samples: number, bytesEach: number, maxBytes: number, what: string): void {
  const total = samples * bytesEach;
  if (!Number.isSafeInteger(samples) || total > maxBytes) {
    throw new DicomError(
      'too-large',
      `${what} would need ${formatBytes(total)}, more than the limit of ${formatBytes(maxBytes)}`,
    );
  }
}

export function formatBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  return `${n} bytes`;
}

export function allocate(f: SampleFormat, length: number): PixelArray {
  if (f.float) return f.bitsAllocated === 64 ? new Float64Array(length) : new Float32Array(length);
  switch (f.bitsAllocated) {
    case 1:
      return new Uint8Array(length);
    case 8:
      return f.signed ? new Int8Array(length) : new Uint8Array(length);
    case 16:
      return f.signed ? new Int16Array(length) : new Uint16Array(length);
    case 32:
      return f.signed ? new Int32Array(length) : new Uint32Array(length);
    default:
      throw new DicomError('unsupported-pixel-format', `Bits Allocated ${f.bitsAllocated} is not supported (only 1, 8, 16, 32)`);
  }
}

/** Checks BitsStored/HighBit make sense for BitsAllocated. */
export function validateFormat(f: SampleFormat): void {
  if (f.float) {
    if (f.bitsAllocated !== 32 && f.bitsAllocated !== 64)
      throw new DicomError('unsupported-pixel-format', `float pixel data with ${f.bitsAllocated} bits`);
    return;
  }
  if (![1, 8, 16, 32].includes(f.bitsAllocated)) {
    throw new DicomError('unsupported-pixel-format', `Bits Allocated ${f.bitsAllocated} is not supported (only 1, 8, 16, 32)`);
  }
  if (f.bitsStored < 1 || f.bitsStored > f.bitsAllocated) {
    throw new DicomError(
      'unsupported-pixel-format',
      `Bits Stored ${f.bitsStored} does not fit Bits Allocated ${f.bitsAllocated}`,
    );
  }
  if (f.highBit < f.bitsStored - 1 || f.highBit >= f.bitsAllocated) {
    throw new DicomError(
      'unsupported-pixel-format',
      `High Bit ${f.highBit} does not fit Bits Stored ${f.bitsStored} / Allocated ${f.bitsAllocated}`,
    );
  }
}

/**
 * Copies unsigned raw words into `out`, keeping bits [highBit-bitsStored+1 … highBit] and
 * sign-extending them when signed. `raw` holds bit patterns (Uint8/16/32); `out` is the typed
 * array for the format, whose own two's-complement storage does the rest.
 */
export function extractBits(raw: Uint8Array | Uint16Array | Uint32Array, out: PixelArray, f: SampleFormat, start = 0): void {
  const n = Math.min(raw.length, out.length - start);
  const shift = f.highBit + 1 - f.bitsStored;
  const full = f.bitsStored === f.bitsAllocated && shift === 0;
  if (full) {
    // Same width: a plain copy through the bit pattern.
    const view =
      out instanceof Int8Array || out instanceof Uint8Array
        ? new Uint8Array(out.buffer, out.byteOffset, out.length)
        : out instanceof Int16Array || out instanceof Uint16Array
          ? new Uint16Array(out.buffer, out.byteOffset, out.length)
          : new Uint32Array(out.buffer, out.byteOffset, out.length);
    view.set(raw.subarray(0, n), start);
    return;
  }
  const bits = f.bitsStored;
  // bits < 32 here, so int32 bit operations are exact.
  const mask = bits === 31 ? 0x7fffffff : (1 << bits) - 1;
  const up = 32 - bits;
  if (f.signed) {
    for (let i = 0; i < n; i++) out[start + i] = ((((raw[i] ?? 0) >>> shift) & mask) << up) >> up;
  } else {
    for (let i = 0; i < n; i++) out[start + i] = ((raw[i] ?? 0) >>> shift) & mask;
  }
}

/** In-place byte swap of 16- or 32-bit words. */
export function swapBytes(bytes: Uint8Array, width: 2 | 4 | 8): void {
  for (let i = 0; i + width <= bytes.length; i += width) {
    for (let a = i, b = i + width - 1; a < b; a++, b--) {
      const t = bytes[a] ?? 0;
      bytes[a] = bytes[b] ?? 0;
      bytes[b] = t;
    }
  }
}
