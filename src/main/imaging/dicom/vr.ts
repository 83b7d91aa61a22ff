// The DICOM byte-level facts every reader here shares (PS3.5 §7.1.2, PS3.10 §7.1): which Value
// Representations have a 2-byte reserved field and a 4-byte length in explicit VR encoding, every
// VR's name, and the "DICM" prefix after the 128-byte preamble. One table, so that the fast header
// path, the Part 10 repair, format detection and the pixel locator cannot disagree.

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

/** LONG_VRS as vrCode numbers. */
export const LONG_VR_CODES: ReadonlySet<number> = new Set([...LONG_VRS].map(vrCode));

/** Whether the bytes start with a Part 10 preamble: anything for 128 bytes, then "DICM". */
export function hasDicmPrefix(b: Uint8Array): boolean {
  return b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d;
}
