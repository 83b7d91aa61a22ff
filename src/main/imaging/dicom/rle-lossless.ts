// DICOM RLE Lossless (PS3.5 Annex G): a 64-byte header of segment offsets, then one PackBits
// segment per byte plane — for each sample, most significant byte first.
import { DicomError } from './errors';
import { allocate, bytesPerSample, extractBits, type SampleFormat } from './samples';
import type { PixelArray } from './types';

/** Decodes one PackBits segment into exactly `out.length` bytes. Returns the bytes produced. */
export function unpackBitsSegment(src: Uint8Array, out: Uint8Array): number {
  let i = 0;
  let o = 0;
  const end = out.length;
  while (i < src.length && o < end) {
    const n = src[i++] ?? 0;
    if (n < 128) {
      // Literal run of n+1 bytes.
      const count = Math.min(n + 1, end - o, src.length - i);
      out.set(src.subarray(i, i + count), o);
      i += n + 1;
      o += count;
    } else if (n > 128) {
      // Replicate the next byte 257-n times (the header byte is -n as int8).
      if (i >= src.length) break;
      const value = src[i++] ?? 0;
      const count = Math.min(257 - n, end - o);
      out.fill(value, o, o + count);
      o += count;
    }
    // n === 128 (-128) is a no-op.
  }
  return o;
}

/**
 * Decodes one RLE frame (one fragment) to interleaved samples, masked to BitsStored.
 * Throws a DicomError on a malformed header or a short segment, never reads outside `frame`.
 */
export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  f: SampleFormat,
): PixelArray {
  if (frame.length < 64)
    throw new DicomError('decode-failed', `RLE frame is ${frame.length} bytes, shorter than its 64-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segments = view.getUint32(0, true);
  const width = bytesPerSample(f);
  const expected = samplesPerPixel * width;
  if (segments !== expected) {
    throw new DicomError(
      'decode-failed',
      `RLE frame has ${segments} segments, expected ${expected} (${samplesPerPixel} samples × ${width} bytes)`,
    );
  }
  const offsets: number[] = [];
  for (let s = 0; s < segments; s++) offsets.push(view.getUint32(4 + 4 * s, true));
  const pixels = rows * columns;
  const plane = new Uint8Array(pixels);
  const raw =
    width === 1
      ? new Uint8Array(pixels * samplesPerPixel)
      : width === 2
        ? new Uint16Array(pixels * samplesPerPixel)
        : new Uint32Array(pixels * samplesPerPixel);

  for (let s = 0; s < segments; s++) {
    const start = offsets[s] ?? 0;
    const end = s + 1 < segments ? (offsets[s + 1] ?? frame.length) : frame.length;
    if (start < 64 || start > frame.length || end < start) {
      throw new DicomError('decode-failed', `RLE segment ${s + 1} offset ${start} lies outside the ${frame.length}-byte frame`);
    }
    plane.fill(0);
    const produced = unpackBitsSegment(frame.subarray(start, Math.min(end, frame.length)), plane);
    if (produced < pixels)
      throw new DicomError('decode-failed', `RLE segment ${s + 1} decoded to ${produced} of ${pixels} bytes`);
    const sample = Math.floor(s / width);
    // Segment order within a sample is most significant byte first.
    const shift = 8 * (width - 1 - (s % width));
    const mul = 2 ** shift;
    for (let p = 0, o = sample; p < pixels; p++, o += samplesPerPixel) {
      raw[o] = (raw[o] ?? 0) + (plane[p] ?? 0) * mul;
    }
  }
  const out = allocate(f, pixels * samplesPerPixel);
  extractBits(raw, out, f);
  return out;
}
