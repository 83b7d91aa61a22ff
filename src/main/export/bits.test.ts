import { describe, expect, it } from 'vitest';
import { packFrames, packSegmentFrames, unpackFrames } from './bits';

describe('SEG bit packing', () => {
  it('packs the first pixel into the least significant bit', () => {
    expect([...packFrames([Uint8Array.of(1, 0, 0, 0, 0, 0, 0, 1)], 8)]).toEqual([0x81, 0]);
  });

  it('lets a 3 × 3 frame start mid-byte and round-trips several frames', () => {
    const a = Uint8Array.of(1, 1, 1, 0, 0, 0, 0, 0, 1);
    const b = Uint8Array.of(0, 0, 0, 0, 1, 0, 0, 0, 0);
    const c = new Uint8Array(9);
    const packed = packFrames([a, b, c], 9);
    // 27 bits → 4 bytes; frame b's centre pixel is bit 13 overall.
    expect(packed.length).toBe(4);
    expect(packed[0]).toBe(0b0000_0111);
    expect(packed[1]).toBe(0b0010_0001);
    expect(unpackFrames(packed, 3, 9)).toEqual([a, b, c]);
  });

  it('pads to an even length and refuses frames of the wrong size or short data', () => {
    expect(packFrames([new Uint8Array(9)], 9).length).toBe(2);
    expect(() => packFrames([new Uint8Array(8)], 9)).toThrow(RangeError);
    expect(() => unpackFrames(new Uint8Array(2), 2, 9)).toThrow(RangeError);
  });
});

describe('packSegmentFrames', () => {
  it('writes the same bits as packing each segment × label map frame', () => {
    const maps = [Uint8Array.of(0, 1, 2, 1, 0, 2, 2, 0, 1), Uint8Array.of(2, 2, 0, 0, 1, 0, 0, 0, 0)];
    const frames = [1, 2, 3].flatMap((n) => maps.map((m) => m.map((v) => (v === n ? 1 : 0))));
    expect(packSegmentFrames(maps, [1, 2, 3], 9)).toEqual(packFrames(frames, 9));
  });
});
