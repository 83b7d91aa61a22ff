import { describe, expect, it } from 'vitest';
import { bytesOf } from './reasons';

describe('bytesOf', () => {
  it('writes counts as toLocaleString("en-US") does', () => {
    const counts = [
      0,
      7,
      999,
      1000,
      8130,
      27906,
      32768,
      999_999,
      1_000_000,
      123_456_789,
      2 ** 32,
      -1234,
      Number.MAX_SAFE_INTEGER,
    ];
    for (const n of counts) expect(bytesOf(n, n)).toBe(`${n.toLocaleString('en-US')} of ${n.toLocaleString('en-US')} bytes`);
    expect(bytesOf(8130, 8192)).toBe('8,130 of 8,192 bytes');
  });
});
