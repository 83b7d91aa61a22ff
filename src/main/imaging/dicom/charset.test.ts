import { describe, expect, it } from 'vitest';
import { bytesFromLatin1, decodeIso2022, usesCodeExtensions } from './charset';

const bytes = (...parts: (string | number[])[]) =>
  Uint8Array.from(parts.flatMap((p) => (typeof p === 'string' ? [...p].map((c) => c.charCodeAt(0)) : p)));

describe('decodeIso2022 (PS3.5 6.1.2.5)', () => {
  it('switches character set at each escape sequence: JIS X 0208, KS X 1001', () => {
    expect(decodeIso2022(bytes('MR ', [0x1b], '$B', [0x46, 0x2c, 0x49, 0x74], [0x1b], '(B'), ['', 'ISO 2022 IR 87'])).toEqual({
      text: 'MR 頭部',
    });
    // Korean: ESC $ ) C then EUC-KR bytes (pydicom's chrI2 "홍길동").
    expect(decodeIso2022(bytes([0x1b], '$)C', [0xc8, 0xab, 0xb1, 0xe6, 0xb5, 0xbf]), ['', 'ISO 2022 IR 149']).text).toBe(
      '홍길동',
    );
  });

  it('says which escape it cannot decode and never keeps the escape bytes', () => {
    // JIS X 0212 (ESC $ ( D) has no WHATWG decoder.
    const r = decodeIso2022(bytes('A', [0x1b], '$(D', [0x30, 0x21], [0x1b], '(B', 'B'), ['', 'ISO 2022 IR 159']);
    expect(r).toEqual({ text: 'A\uFFFDB', unsupported: 'ESC $(D' });
  });

  it('knows when a data set needs it, and undoes the one-byte-per-character reading', () => {
    expect(usesCodeExtensions(['ISO_IR 192'])).toBe(false);
    expect(usesCodeExtensions(['', 'ISO 2022 IR 87'])).toBe(true);
    expect(usesCodeExtensions(['ISO 2022 IR 100'])).toBe(true);
    const all = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(bytesFromLatin1(new TextDecoder('latin1').decode(all))).toEqual(all);
  });
});
