// The one VR table (PS3.5 §6.2, §7.1.2) and the Part 10 prefix (PS3.10 §7.1) every reader and
// writer of DICOM bytes here shares: which Value Representations have a 2-byte reserved field and
// a 4-byte length in explicit VR encoding, every VR's name, the VRs a Pixel Data element may
// carry, and the "DICM" prefix after the 128-byte preamble. One table, so that the element walker
// (walker.ts), the fast header path, the Part 10 repair, format detection, the pixel locator and
// the writers cannot disagree: no other file lists VRs.

/** VRs with a 2-byte reserved field and a 4-byte value length in explicit VR (PS3.5 Table 7.1-1). */
export const LONG_VRS: ReadonlySet<string> = new Set([
  'OB',
  'OD',
  'OF',
  'OL',
  'OV',
  'OW',
  'SQ',
  'SV',
  'UC',
  'UN',
  'UR',
  'UT',
  'UV',
]);

/** Every VR of PS3.5 §6.2. */
export const ALL_VRS: ReadonlySet<string> = new Set([
  ...LONG_VRS,
  ...[
    'AE',
    'AS',
    'AT',
    'CS',
    'DA',
    'DS',
    'DT',
    'FD',
    'FL',
    'IS',
    'LO',
    'LT',
    'PN',
    'SH',
    'SL',
    'SS',
    'ST',
    'TM',
    'UI',
    'UL',
    'US',
  ],
]);

/** A VR's two ASCII bytes as one number ('OB' = 0x4f42), for readers that avoid a string per element. */
export const vrCode = (vr: string): number => (vr.charCodeAt(0) << 8) | vr.charCodeAt(1);

/** A vrCode number as its two letters (0x4f42 = 'OB'). */
export const vrName = (code: number): string => String.fromCharCode(code >>> 8, code & 0xff);

/** LONG_VRS as vrCode numbers. */
export const LONG_VR_CODES: ReadonlySet<number> = new Set([...LONG_VRS].map(vrCode));

/** ALL_VRS as vrCode numbers. */
export const ALL_VR_CODES: ReadonlySet<number> = new Set([...ALL_VRS].map(vrCode));

/**
 * The VRs a Pixel Data element is found with in explicit VR (PS3.5 §8.1.1, A.4: OB or OW, OF for
 * Float Pixel Data, OD for Double Float Pixel Data; OL, OV and UN as damaged or retired writers
 * leave them). A subset of LONG_VRS: each has the 12-byte header.
 */
export const PIXEL_DATA_VRS: ReadonlySet<string> = new Set(['OB', 'OW', 'OF', 'OD', 'OL', 'OV', 'UN']);

/** Whether the bytes start with a Part 10 preamble: anything for 128 bytes, then "DICM". */
export function hasDicmPrefix(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}

/**
 * The text VRs whose values the Specific Character Set decodes, PN apart (its component groups
 * are decoded each; PS3.5 §6.1.2.3, §6.2): SH, LO, ST, LT, UT, UC.
 */
export const TEXT_VRS: ReadonlySet<string> = new Set(['SH', 'LO', 'ST', 'LT', 'UT', 'UC']);
