import { describe, expect, it } from 'vitest';
import { DicomError } from './errors';
import { decodeRleFrame, unpackBitsSegment } from './rle-lossless';
import type { SampleFormat } from './samples';

const u8: SampleFormat = { bitsAllocated: 8, bitsStored: 8, highBit: 7, signed: false, float: false };
const s16: SampleFormat = { bitsAllocated: 16, bitsStored: 16, highBit: 15, signed: true, float: false };

/** A frame: 64-byte header with the segment offsets, then the segments. */
function frame(...segments: number[][]): Uint8Array {
  const header = new Uint8Array(64);
  const view = new DataView(header.buffer);
  view.setUint32(0, segments.length, true);
  let offset = 64;
  segments.forEach((s, i) => {
    view.setUint32(4 + 4 * i, offset, true);
    offset += s.length;
  });
  return Uint8Array.from([...header, ...segments.flat()]);
}

describe('PackBits segments (PS3.5 G.3.1)', () => {
  it('copies literal runs and replicates repeat runs', () => {
    const out = new Uint8Array(7);
    // literal of 3 (n=2), repeat 0x09 four times (n=-3 → 0xfd)
    expect(unpackBitsSegment(Uint8Array.of(2, 1, 2, 3, 0xfd, 9), out)).toBe(7);
    expect(Array.from(out)).toEqual([1, 2, 3, 9, 9, 9, 9]);
  });

  it('treats -128 as a no-op', () => {
    const out = new Uint8Array(2);
    expect(unpackBitsSegment(Uint8Array.of(0x80, 1, 5, 6), out)).toBe(2);
    expect(Array.from(out)).toEqual([5, 6]);
  });

  it('never writes past the output, even when the segment asks to', () => {
    const out = new Uint8Array(3);
    expect(unpackBitsSegment(Uint8Array.of(0x81, 7), out)).toBe(3); // repeat 128 times
    expect(Array.from(out)).toEqual([7, 7, 7]);
  });

  it('reports how little a truncated segment produced', () => {
    expect(unpackBitsSegment(Uint8Array.of(5, 1, 2), new Uint8Array(6))).toBe(2);
  });
});

describe('decodeRleFrame', () => {
  it('decodes an 8-bit frame', () => {
    const px = decodeRleFrame(frame([3, 1, 2, 3, 4]), 2, 2, 1, u8);
    expect(Array.from(px)).toEqual([1, 2, 3, 4]);
  });

  it('composes 16-bit samples from high-byte then low-byte segments, signed', () => {
    // values: -2 (0xfffe), 258 (0x0102)
    const px = decodeRleFrame(frame([1, 0xff, 0x01], [1, 0xfe, 0x02]), 1, 2, 1, s16);
    expect(px).toBeInstanceOf(Int16Array);
    expect(Array.from(px)).toEqual([-2, 258]);
  });

  it('interleaves the planes of a colour frame', () => {
    const px = decodeRleFrame(frame([1, 10, 11], [1, 20, 21], [1, 30, 31]), 1, 2, 3, u8);
    expect(Array.from(px)).toEqual([10, 20, 30, 11, 21, 31]);
  });

  it('masks to Bits Stored and sign-extends', () => {
    const s12: SampleFormat = { bitsAllocated: 16, bitsStored: 12, highBit: 11, signed: true, float: false };
    // 0xf800: bits above 11 are garbage; the low 12 bits 0x800 are −2048
    const px = decodeRleFrame(frame([0, 0xf8], [0, 0x00]), 1, 1, 1, s12);
    expect(Array.from(px)).toEqual([-2048]);
  });

  it.each([
    ['a header shorter than 64 bytes', new Uint8Array(10), /shorter than its 64-byte header/],
    ['the wrong number of segments', frame([0, 1], [0, 2]), /2 segments, expected 1/],
    [
      'a segment offset outside the frame',
      (() => {
        const f = frame([1, 1, 2]);
        new DataView(f.buffer).setUint32(4, 9999, true);
        return f;
      })(),
      /outside the/,
    ],
    ['a segment that decodes short', frame([0, 1]), /decoded to 1 of 4 bytes/],
  ])('refuses %s', (_what, bytes, message) => {
    expect(() => decodeRleFrame(bytes, 2, 2, 1, u8)).toThrow(DicomError);
    expect(() => decodeRleFrame(bytes, 2, 2, 1, u8)).toThrow(message);
  });
});
