// Uncompressed pixel data (Implicit/Explicit VR Little Endian, Explicit VR Big Endian,
// Deflated — dcmjs inflates the whole data set before we see it).
import { DicomError } from './errors';
import { bytesPerSample, extractBits, swapBytes, type SampleFormat, allocate } from './samples';
import type { ImagePixelModule, PixelArray } from './types';

export interface NativeLayout {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  numberOfFrames: number;
  /** YBR_FULL_422 / YBR_PARTIAL_422 are stored subsampled: 2 samples per pixel on average. */
  subsampled422: boolean;
}

/** Samples one frame occupies in the stream (not in the decoded output). */
export function storedSamplesPerFrame(l: NativeLayout): number {
  if (l.subsampled422 && l.samplesPerPixel === 3) return l.rows * Math.ceil(l.columns / 2) * 4;
  return l.rows * l.columns * l.samplesPerPixel;
}

export function layoutOf(h: ImagePixelModule): NativeLayout {
  const subsampled = h.photometricInterpretation === 'YBR_FULL_422' || h.photometricInterpretation === 'YBR_PARTIAL_422';
  return {
    rows: h.rows,
    columns: h.columns,
    samplesPerPixel: h.samplesPerPixel,
    numberOfFrames: h.numberOfFrames,
    subsampled422: subsampled,
  };
}

/** Bytes the uncompressed pixel data of `h` occupies (what Pixel Data should declare, unpadded). */
export function nativeByteLength(h: ImagePixelModule, kind: ImagePixelModule['pixelDataKind']): number {
  const samples = storedSamplesPerFrame(layoutOf(h)) * h.numberOfFrames;
  const bits = kind === 'float32' ? 32 : kind === 'float64' ? 64 : h.bitsAllocated;
  return bits === 1 ? Math.ceil(samples / 8) : samples * Math.ceil(bits / 8);
}

/** Bytes all frames need; throws the truncation error when the element is shorter. */
export function checkNativeLength(l: NativeLayout, f: SampleFormat, available: number): void {
  const samples = storedSamplesPerFrame(l);
  const expected =
    f.bitsAllocated === 1 ? Math.ceil((samples * l.numberOfFrames) / 8) : samples * bytesPerSample(f) * l.numberOfFrames;
  if (available < expected) {
    throw new DicomError(
      'truncated-pixel-data',
      `truncated pixel data: expected ${expected} bytes for ${l.numberOfFrames} frame(s) of ${l.rows}×${l.columns}×${l.samplesPerPixel} at ${f.bitsAllocated} bits, got ${available}`,
    );
  }
}

function unpackBits(data: Uint8Array, bitOffset: number, count: number): Uint8Array {
  const out = new Uint8Array(count);
  for (let i = 0; i < count; i++) {
    const bit = bitOffset + i;
    out[i] = ((data[bit >>> 3] ?? 0) >>> (bit & 7)) & 1;
  }
  return out;
}

/**
 * The stored samples of one frame as a typed array (still planar or subsampled if the stream
 * is), masked to BitsStored and sign-extended. `data` is the whole Pixel Data value.
 */
export function readNativeFrame(
  data: Uint8Array,
  frame: number,
  l: NativeLayout,
  f: SampleFormat,
  littleEndian: boolean,
  vr: string,
): PixelArray {
  const samples = storedSamplesPerFrame(l);
  if (f.bitsAllocated === 1) return unpackBits(data, frame * samples, samples);
  const width = bytesPerSample(f);
  const start = frame * samples * width;
  const out = allocate(f, samples);
  const outBytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  outBytes.set(data.subarray(start, start + samples * width));
  if (!littleEndian) {
    // OW in big endian swaps 16-bit words even when the samples are bytes (PS3.5 7.3).
    if (width > 1) swapBytes(outBytes, width as 2 | 4 | 8);
    else if (vr === 'OW' && start % 2 === 0) swapBytes(outBytes, 2);
  }
  if (!f.float && (f.bitsStored !== f.bitsAllocated || f.highBit !== f.bitsStored - 1)) {
    const raw =
      width === 1
        ? outBytes
        : width === 2
          ? new Uint16Array(out.buffer, out.byteOffset, samples)
          : new Uint32Array(out.buffer, out.byteOffset, samples);
    extractBits(raw, out, f);
  }
  return out;
}
