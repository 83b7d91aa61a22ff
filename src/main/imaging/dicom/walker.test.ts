// The one element walker (walker.ts) on data sets built byte by byte (PS3.5 §7.1, §7.5, A.4): the
// header forms of both VR encodings and byte orders, items that carry no VR in explicit VR,
// sequences and items of undefined length, and the encapsulated value's items.
import { describe, expect, it } from 'vitest';
import { declaredTransferSyntax } from './part10-repair';
import {
  elementAt,
  encapsulatedItems,
  EXPLICIT_BIG,
  EXPLICIT_LITTLE,
  IMPLICIT_LITTLE,
  ITEM,
  NotWalkable,
  plainMode,
  sequenceItems,
  skipElement,
  UNDEFINED_LENGTH,
  type Mode,
} from './walker';
import { LONG_VRS, vrCode } from './vr';

const u16 = (v: number, little: boolean) => (little ? [v & 0xff, v >>> 8] : [v >>> 8, v & 0xff]);
const u32 = (v: number, little: boolean) =>
  little ? [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24] : [v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff];

/** One element: tag, VR (explicit only) and value; `length` overrides the value's (UNDEFINED_LENGTH). */
function el(mode: Mode, group: number, element: number, vr: string, value: number[], length = value.length): number[] {
  const tag = [...u16(group, mode.little), ...u16(element, mode.little)];
  if (!mode.explicit || group === 0xfffe) return [...tag, ...u32(length, mode.little), ...value];
  const vrBytes = [vr.charCodeAt(0), vr.charCodeAt(1)];
  if (LONG_VRS.has(vr)) return [...tag, ...vrBytes, 0, 0, ...u32(length, mode.little), ...value];
  return [...tag, ...vrBytes, ...u16(length, mode.little), ...value];
}

const viewOf = (bytes: number[]) => new DataView(new Uint8Array(bytes).buffer);

describe('element walker', () => {
  it.each([
    ['explicit VR little endian', EXPLICIT_LITTLE],
    ['implicit VR little endian', IMPLICIT_LITTLE],
    ['explicit VR big endian', EXPLICIT_BIG],
  ])('reads short and long element headers in %s', (_, mode) => {
    const bytes = [...el(mode, 0x0010, 0x0010, 'PN', [0x41, 0x20]), ...el(mode, 0x7fe0, 0x0010, 'OW', [1, 2, 3, 4])];
    const view = viewOf(bytes);
    const first = elementAt(view, 0, mode);
    expect(first).toEqual({ tag: 0x00100010, vr: mode.explicit ? vrCode('PN') : 0, length: 2, value: 8 });
    const second = elementAt(view, skipElement(view, first, mode), mode);
    expect(second).toEqual({ tag: 0x7fe00010, vr: mode.explicit ? vrCode('OW') : 0, length: 4, value: mode.explicit ? 22 : 18 });
    expect(skipElement(view, second, mode)).toBe(bytes.length);
  });

  it.each([
    ['explicit VR little endian', EXPLICIT_LITTLE],
    ['implicit VR little endian', IMPLICIT_LITTLE],
    ['explicit VR big endian', EXPLICIT_BIG],
  ])('walks sequences and items of undefined length, nested, in %s', (_, mode) => {
    const inner = [
      ...el(mode, 0xfffe, 0xe000, '', [...el(mode, 0x0008, 0x0100, 'SH', [0x54, 0x31])], UNDEFINED_LENGTH),
      ...el(mode, 0xfffe, 0xe00d, '', []),
      ...el(mode, 0xfffe, 0xe0dd, '', []),
    ];
    const item = [
      ...el(mode, 0x0008, 0x1150, 'UI', [0x31, 0x00]),
      ...el(mode, 0x0040, 0xa730, 'SQ', inner, UNDEFINED_LENGTH),
      ...el(mode, 0x0062, 0x0005, 'LO', [0x4c, 0x20]),
    ];
    const sequence = [
      ...el(mode, 0xfffe, 0xe000, '', item, UNDEFINED_LENGTH),
      ...el(mode, 0xfffe, 0xe00d, '', []),
      ...el(mode, 0xfffe, 0xe000, '', [...el(mode, 0x0062, 0x0004, 'US', u16(2, mode.little))]),
      ...el(mode, 0xfffe, 0xe0dd, '', []),
    ];
    const bytes = [
      ...el(mode, 0x0062, 0x0002, 'SQ', sequence, UNDEFINED_LENGTH),
      ...el(mode, 0x0070, 0x0080, 'CS', [0x41, 0x20]),
    ];
    const view = viewOf(bytes);
    const sq = elementAt(view, 0, mode);
    expect(sq.length).toBe(UNDEFINED_LENGTH);
    const after = skipElement(view, sq, mode);
    expect(elementAt(view, after, mode).tag).toBe(0x00700080);
    const { items, end } = sequenceItems(view, sq.value, sq.length, mode);
    expect(end).toBe(after);
    expect(items.map((i) => [...i.keys()])).toEqual([[0x00081150, 0x0040a730, 0x00620005], [0x00620004]]);
  });

  it('refuses what is not an item inside a sequence, and reads past no end', () => {
    const mode = EXPLICIT_LITTLE;
    const bytes = el(mode, 0x0062, 0x0002, 'SQ', el(mode, 0x0010, 0x0010, 'PN', [0x41, 0x20]), UNDEFINED_LENGTH);
    const view = viewOf(bytes);
    expect(() => skipElement(view, elementAt(view, 0, mode), mode)).toThrow(NotWalkable);
    const long = viewOf(el(mode, 0x0010, 0x0010, 'UT', [0x41, 0x20], 100));
    expect(() => skipElement(long, elementAt(long, 0, mode), mode)).toThrow(NotWalkable);
    expect(() => elementAt(viewOf([0x10, 0x00, 0x10]), 0, mode)).toThrow(RangeError);
  });

  it('reads an encapsulated value: offset table, fragments, and where it ends early', () => {
    const le = IMPLICIT_LITTLE;
    const items = [
      ...el(le, 0xfffe, 0xe000, '', [...u32(0, true), ...u32(10, true)]),
      ...el(le, 0xfffe, 0xe000, '', [0xff, 0xd8]),
      ...el(le, 0xfffe, 0xe000, '', [0xff, 0xd9]),
    ];
    const whole = new Uint8Array([...items, ...el(le, 0xfffe, 0xe0dd, '', [])]);
    expect(encapsulatedItems(whole, 0)).toEqual({
      offsetTable: [0, 10],
      fragments: [new Uint8Array([0xff, 0xd8]), new Uint8Array([0xff, 0xd9])],
      truncation: null,
    });
    expect(encapsulatedItems(new Uint8Array(items), 0).truncation).toMatch(/no sequence delimiter/);
    expect(encapsulatedItems(whole.subarray(0, whole.length - 9), 0).truncation).toMatch(/fragment 2 declares 2 bytes, 1 remain/);
    expect(() => encapsulatedItems(new Uint8Array(el(le, 0x0008, 0x0010, '', [1, 2])), 0)).toThrow(NotWalkable);
    expect(ITEM).toBe(0xfffee000);
  });

  it('knows the three plain transfer syntaxes, and reads a file meta group’s without the data set', () => {
    expect(plainMode('1.2.840.10008.1.2')).toBe(IMPLICIT_LITTLE);
    expect(plainMode('1.2.840.10008.1.2.1')).toBe(EXPLICIT_LITTLE);
    expect(plainMode('1.2.840.10008.1.2.2')).toBe(EXPLICIT_BIG);
    expect(plainMode('1.2.840.10008.1.2.4.50')).toBeNull();
    const uid = [...'1.2.840.10008.1.2.2'].map((c) => c.charCodeAt(0));
    const file = new Uint8Array([
      ...new Array(128).fill(0),
      ...[0x44, 0x49, 0x43, 0x4d],
      ...el(EXPLICIT_LITTLE, 0x0002, 0x0010, 'UI', [...uid, 0]),
      ...[0xde, 0xad], // a data set that does not parse: never read
    ]);
    expect(declaredTransferSyntax(file)).toBe('1.2.840.10008.1.2.2');
    expect(declaredTransferSyntax(file.subarray(0, 100))).toBeNull();
  });
});
