import { describe, expect, it } from 'vitest';
import { directoryFileIds } from './dicomdir';

// A DICOMDIR built byte by byte (PS3.10 §7.1, PS3.5 §7.1): the encodings and length forms the
// public files do not all show — undefined-length sequences and items, a nested sequence inside
// a record — in explicit and implicit VR little endian and explicit big endian.
type Mode = { explicit: boolean; little: boolean };
const UNDEFINED = 0xffffffff;

function u16(v: number, little: boolean): number[] {
  return little ? [v & 0xff, v >> 8] : [v >> 8, v & 0xff];
}
function u32(v: number, little: boolean): number[] {
  const b = [v & 0xff, (v >>> 8) & 0xff, (v >>> 16) & 0xff, v >>> 24];
  return little ? b : b.reverse();
}
function text(s: string): number[] {
  const b = [...s].map((c) => c.charCodeAt(0));
  return b.length % 2 ? [...b, 0x20] : b;
}
function el(tag: number, vr: string, value: number[], m: Mode, length = value.length): number[] {
  const head = [...u16(tag >>> 16, m.little), ...u16(tag & 0xffff, m.little)];
  if (!m.explicit) return [...head, ...u32(length, m.little), ...value];
  if (['SQ', 'OB', 'UN'].includes(vr)) return [...head, ...text(vr), 0, 0, ...u32(length, m.little), ...value];
  return [...head, ...text(vr), ...u16(length, m.little), ...value];
}
function item(content: number[], m: Mode, undefinedLength: boolean): number[] {
  const head = [...u16(0xfffe, m.little), ...u16(0xe000, m.little)];
  if (!undefinedLength) return [...head, ...u32(content.length, m.little), ...content];
  return [
    ...head,
    ...u32(UNDEFINED, m.little),
    ...content,
    ...u16(0xfffe, m.little),
    ...u16(0xe00d, m.little),
    ...u32(0, m.little),
  ];
}
function sequence(tag: number, items: number[][], m: Mode, undefinedLength: boolean): number[] {
  const body = items.flat();
  if (!undefinedLength) return el(tag, 'SQ', body, m);
  return el(tag, 'SQ', [...body, ...u16(0xfffe, m.little), ...u16(0xe0dd, m.little), ...u32(0, m.little)], m, UNDEFINED);
}
function dicomdir(ts: string, m: Mode, undefinedLength: boolean, ids: (string | null)[]): Uint8Array {
  const le = { explicit: true, little: true };
  const meta = [...el(0x00020002, 'UI', text('1.2.840.10008.1.3.10'), le), ...el(0x00020010, 'UI', text(ts), le)];
  const records = ids.map((id) => {
    const nested = sequence(0x00400275, [item(el(0x00400007, 'LO', text('x'), m), m, undefinedLength)], m, undefinedLength);
    const content = [
      ...el(0x00041430, 'CS', text(id ? 'IMAGE' : 'PATIENT'), m),
      ...(id ? el(0x00041500, 'CS', text(id), m) : []),
      ...nested,
    ];
    return item(content, m, undefinedLength);
  });
  const data = [
    ...el(0x00041130, 'CS', text('SET'), m),
    ...sequence(0x00041220, records, m, undefinedLength),
    ...el(0x00080005, 'CS', text('ISO_IR 100'), m),
  ];
  const bytes = new Uint8Array(132 + meta.length + data.length);
  bytes.set([0x44, 0x49, 0x43, 0x4d], 128);
  bytes.set(meta, 132);
  bytes.set(data, 132 + meta.length);
  return bytes;
}

const ids = [null, 'PT0\\ST0\\IM0', 'PT0\\ST0\\IM1 ', 'A/B/C'];
const expected = ['PT0\\ST0\\IM0', 'PT0\\ST0\\IM1', 'A/B/C'];
const syntaxes: [string, string, Mode][] = [
  ['explicit VR little endian', '1.2.840.10008.1.2.1', { explicit: true, little: true }],
  ['implicit VR little endian', '1.2.840.10008.1.2', { explicit: false, little: true }],
  ['explicit VR big endian', '1.2.840.10008.1.2.2', { explicit: true, little: false }],
];

describe('directoryFileIds', () => {
  for (const [name, ts, mode] of syntaxes)
    for (const undefinedLength of [false, true])
      it(`reads the records' file IDs in ${name}, ${undefinedLength ? 'undefined' : 'defined'} lengths`, () => {
        expect(directoryFileIds(dicomdir(ts, mode, undefinedLength, ids))).toEqual(expected);
      });

  it('leaves a deflated or unknown transfer syntax, a cut file and an odd file ID to the full parser', () => {
    const m = { explicit: true, little: true };
    expect(directoryFileIds(dicomdir('1.2.840.10008.1.2.1.99', m, false, ids))).toBeNull();
    const whole = dicomdir('1.2.840.10008.1.2.1', m, true, ids);
    // Cut anywhere but between two top-level elements (before the last, Specific Character Set: 18 bytes).
    for (let end = 132; end < whole.length; end++)
      if (end !== whole.length - 18) expect(directoryFileIds(whole.subarray(0, end))).toBeNull();
    expect(directoryFileIds(whole.subarray(0, whole.length - 18))).toEqual(expected);
    expect(directoryFileIds(dicomdir('1.2.840.10008.1.2.1', m, false, ['IM\u00e9']))).toBeNull();
    expect(directoryFileIds(dicomdir('1.2.840.10008.1.2.1', m, false, ['  ']))).toBeNull();
    expect(directoryFileIds(whole.subarray(1))).toBeNull();
  });
});
