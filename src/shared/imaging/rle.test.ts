import { describe, expect, it } from 'vitest';
import { decodeRle, encodeRle } from './rle';

describe('label-map RLE', () => {
  it('round-trips masks of every shape, including long runs and runs of one', () => {
    const cases = [new Uint8Array(0), new Uint8Array(512 * 512), Uint8Array.from([1, 0, 1, 0, 2, 2, 255])];
    const big = new Uint8Array(512 * 512);
    big.fill(1, 1000, 70_000);
    cases.push(big);
    for (const c of cases) expect(decodeRle(encodeRle(c), c.length)).toEqual(c);
    expect(encodeRle(big).length).toBeLessThan(12);
  });

  it('refuses data that does not match the expected length', () => {
    const e = encodeRle(Uint8Array.from([1, 1, 1]));
    expect(() => decodeRle(e, 2)).toThrow(/longer/);
    expect(() => decodeRle(e, 4)).toThrow(/expected 4/);
    expect(() => decodeRle(Uint8Array.from([1, 0x80]), 1)).toThrow(/ends inside/);
  });
});
