import { describe, expect, it } from 'vitest';
import { expandYbr422, planarToInterleaved, ybrToRgb } from './color';
import { applyModalityLut, invertMonochrome1 } from './modality-lut';
import { allocate, checkAllocation, extractBits, swapBytes, validateFormat, type SampleFormat } from './samples';
import type { DecodedFrame } from './types';

const fmt = (bitsAllocated: number, bitsStored: number, signed: boolean, highBit = bitsStored - 1): SampleFormat => ({
  bitsAllocated,
  bitsStored,
  highBit,
  signed,
  float: false,
});

describe('extractBits', () => {
  it('drops overlay bits above Bits Stored', () => {
    const out = allocate(fmt(16, 12, false), 2);
    extractBits(Uint16Array.of(0x8fff, 0x1001), out, fmt(16, 12, false));
    expect(Array.from(out)).toEqual([0x0fff, 0x0001]);
  });

  it('sign-extends from Bits Stored', () => {
    const out = allocate(fmt(16, 12, true), 3);
    expect(out).toBeInstanceOf(Int16Array);
    extractBits(Uint16Array.of(0x0800, 0x07ff, 0xffff), out, fmt(16, 12, true));
    expect(Array.from(out)).toEqual([-2048, 2047, -1]);
  });

  it('honours a High Bit that is not Bits Stored − 1', () => {
    const out = allocate(fmt(16, 12, false, 15), 1);
    extractBits(Uint16Array.of(0xabc0), out, fmt(16, 12, false, 15));
    expect(Array.from(out)).toEqual([0xabc]);
  });

  it('keeps full-width 32-bit values, signed and unsigned', () => {
    const u = allocate(fmt(32, 32, false), 1);
    extractBits(Uint32Array.of(0xffffffff), u, fmt(32, 32, false));
    expect(Array.from(u)).toEqual([4294967295]);
    const s = allocate(fmt(32, 32, true), 1);
    extractBits(Uint32Array.of(0xffffffff), s, fmt(32, 32, true));
    expect(Array.from(s)).toEqual([-1]);
  });

  it('handles 31 stored bits', () => {
    const s = allocate(fmt(32, 31, true), 1);
    extractBits(Uint32Array.of(0x40000000), s, fmt(32, 31, true));
    expect(Array.from(s)).toEqual([-(2 ** 30)]);
  });
});

describe('format checks', () => {
  it.each([
    [fmt(12, 12, false), /Bits Allocated 12/],
    [fmt(16, 17, false), /Bits Stored 17 does not fit/],
    [fmt(16, 12, false, 16), /High Bit 16/],
  ])('refuses %o', (f, message) => {
    expect(() => validateFormat(f)).toThrow(message);
  });

  it('refuses allocations over the limit before making them', () => {
    expect(() => checkAllocation(65535 * 65535 * 1000, 2, 2 * 1024 ** 3, 'decoding')).toThrow(/too-large|more than the limit/);
    expect(() => checkAllocation(512 * 512, 2, 2 * 1024 ** 3, 'decoding')).not.toThrow();
  });

  it('swaps bytes of 16- and 32-bit words', () => {
    const b = Uint8Array.of(1, 2, 3, 4);
    swapBytes(b, 2);
    expect(Array.from(b)).toEqual([2, 1, 4, 3]);
    swapBytes(b, 4);
    expect(Array.from(b)).toEqual([3, 4, 1, 2]);
  });
});

describe('colour', () => {
  it('converts full-range YCbCr to RGB (BT.601)', () => {
    // JPEG's YCbCr of pure red, green, blue, white
    const px = Uint8Array.of(76, 85, 255, 150, 44, 21, 29, 255, 107, 255, 128, 128);
    ybrToRgb(px, 8, false);
    const close = (a: number[], b: number[]) => a.every((v, i) => Math.abs(v - (b[i] ?? 0)) <= 2);
    expect(close(Array.from(px.slice(0, 3)), [255, 0, 0])).toBe(true);
    expect(close(Array.from(px.slice(3, 6)), [0, 255, 0])).toBe(true);
    expect(close(Array.from(px.slice(6, 9)), [0, 0, 255])).toBe(true);
    expect(Array.from(px.slice(9))).toEqual([255, 255, 255]);
  });

  it('expands 4:2:2 pairs, including an odd last column', () => {
    // 3 columns: pairs (Y0 Y1 Cb Cr) (Y2 _ Cb Cr)
    const out = expandYbr422(Uint8Array.of(10, 11, 100, 200, 12, 0, 101, 201), 1, 3);
    expect(Array.from(out)).toEqual([10, 100, 200, 11, 100, 200, 12, 101, 201]);
  });

  it('interleaves planar colour', () => {
    expect(Array.from(planarToInterleaved(Uint8Array.of(1, 2, 10, 20, 100, 200), 2, 3))).toEqual([1, 10, 100, 2, 20, 200]);
  });
});

describe('modality LUT', () => {
  it('returns the input for the identity', () => {
    const px = Int16Array.of(1, 2);
    expect(applyModalityLut(px, { rescaleSlope: 1, rescaleIntercept: 0 })).toBe(px);
  });

  it('keeps integer CT as Int16 Hounsfield units', () => {
    const hu = applyModalityLut(Uint16Array.of(0, 1024, 4095), { rescaleSlope: 1, rescaleIntercept: -1024 });
    expect(hu).toBeInstanceOf(Int16Array);
    expect(Array.from(hu)).toEqual([-1024, 0, 3071]);
  });

  it('widens to Int32 when Int16 would overflow', () => {
    const v = applyModalityLut(Uint16Array.of(65535), { rescaleSlope: 2, rescaleIntercept: 0 });
    expect(v).toBeInstanceOf(Int32Array);
    expect(Array.from(v)).toEqual([131070]);
  });

  it('gives Float32 for fractional slope', () => {
    const v = applyModalityLut(Uint16Array.of(100), { rescaleSlope: 0.684, rescaleIntercept: 200 });
    expect(v).toBeInstanceOf(Float32Array);
    expect(v[0]).toBeCloseTo(268.4, 3);
  });
});

describe('invertMonochrome1', () => {
  const frame = (
    pixels: DecodedFrame['pixels'],
    bitsStored: number,
    signed: boolean,
    photometric = 'MONOCHROME1',
  ): DecodedFrame => ({ pixels, rows: 1, columns: pixels.length, samplesPerPixel: 1, photometric, bitsStored, signed });

  it('mirrors unsigned values in the stored range', () => {
    const out = invertMonochrome1(frame(Uint16Array.of(0, 100, 4095), 12, false));
    expect(out.photometric).toBe('MONOCHROME2');
    expect(Array.from(out.pixels)).toEqual([4095, 3995, 0]);
  });

  it('mirrors signed values in the stored range', () => {
    const out = invertMonochrome1(frame(Int16Array.of(-2048, 0, 2047), 12, true));
    expect(Array.from(out.pixels)).toEqual([2047, -1, -2048]);
  });

  it('leaves MONOCHROME2 alone', () => {
    const f = frame(Uint8Array.of(1), 8, false, 'MONOCHROME2');
    expect(invertMonochrome1(f)).toBe(f);
  });
});
