// Finds the Pixel Data element in the file bytes and slices it without copying. dcmjs reads the
// header only: past the end of a truncated file it silently pads values with zeros, and it does
// not tell where an element lies, so pixel bytes are located here, where truncation is visible.
// The element is found as the last occurrence of its tag header; pixel data is (nearly) always
// the last top-level element, and the 8–12 byte header pattern with a matching VR is not a
// plausible accident inside compressed or image data.
import { DicomError } from './errors';
import type { ImagePixelModule } from './types';
import { PIXEL_DATA_VRS, vrName } from './vr';
import { elementAt, encapsulatedItems, ITEM, NotWalkable, tagAt } from './walker';

export type PixelDataElement =
  | {
      kind: ImagePixelModule['pixelDataKind'];
      encapsulated: false;
      vr: string;
      /** The value bytes present in the file (shorter than declared when truncated). */
      data: Uint8Array;
      declaredLength: number;
      /** Byte order of the samples as encoded. */
      littleEndian: boolean;
    }
  | {
      kind: 'integer';
      encapsulated: true;
      vr: string;
      /** Basic Offset Table entries (empty when the table is empty). */
      offsetTable: number[];
      fragments: Uint8Array[];
      /** Why the fragment sequence is incomplete, or null. */
      truncation: string | null;
    };

const ELEMENTS: Record<ImagePixelModule['pixelDataKind'], number> = { integer: 0x0010, float32: 0x0008, float64: 0x0009 };

interface Found {
  offset: number;
  vr: string;
  length: number;
  header: number;
}

/** The Pixel Data header (group 7FE0, `element`) at `i` as the walker reads it, or null when none is there. */
function readHeader(
  view: DataView,
  i: number,
  element: number,
  littleEndian: boolean,
  explicitVr: boolean,
  defaultVr: string,
): Found | null {
  if (i < 0 || i + 8 > view.byteLength) return null;
  if (tagAt(view, i, littleEndian) !== (0x7fe00000 | element) >>> 0) return null;
  let vr = defaultVr;
  if (explicitVr) {
    vr = vrName(view.getUint16(i + 4, false));
    // Every Pixel Data VR has the 12-byte header, its two reserved bytes zero.
    if (!PIXEL_DATA_VRS.has(vr) || view.getUint16(i + 6) !== 0 || i + 12 > view.byteLength) return null;
  }
  const e = elementAt(view, i, { explicit: explicitVr, little: littleEndian });
  return { offset: i, vr, length: e.length, header: e.value - i };
}

/**
 * The last element header whose declared length is `expected` (or undefined length when
 * `expected` is null), or longer but inside the file (padded pixel data); failing that, the
 * last one whose value ends exactly at the end of the file, or (explicit VR) any that fits.
 * Tried first where the element sits when it is the last one, the common case.
 */
function findElement(
  b: Uint8Array,
  view: DataView,
  element: number,
  littleEndian: boolean,
  explicitVr: boolean,
  defaultVr: string,
  expected: number | null,
): Found | null {
  const matches = (f: Found | null): boolean => {
    if (f === null) return false;
    if (expected === null) return f.length === 0xffffffff;
    if (f.length === expected || f.length === expected + 1) return true;
    return f.length !== 0xffffffff && f.length > expected && f.offset + f.header + f.length <= b.length;
  };
  if (expected !== null) {
    for (const size of [expected, expected + 1]) {
      const f = readHeader(view, b.length - size - (explicitVr ? 12 : 8), element, littleEndian, explicitVr, defaultVr);
      if (matches(f)) return f;
    }
  }
  let endsAtEof: Found | null = null;
  let fits: Found | null = null;
  for (let i = b.length - 8; i >= 132; i--) {
    if (b[i] !== (littleEndian ? 0xe0 : 0x7f)) continue;
    const f = readHeader(view, i, element, littleEndian, explicitVr, defaultVr);
    if (!f) continue;
    if (matches(f)) return f;
    const end = f.offset + f.header + f.length;
    if (!endsAtEof && f.length !== 0xffffffff && end === b.length) endsAtEof = f;
    // With an explicit VR the header is checked enough to trust any that fits the file; the
    // size mismatch is then reported by the decoder, with both numbers.
    if (!fits && explicitVr && f.length !== 0xffffffff && end <= b.length) fits = f;
  }
  return endsAtEof ?? fits;
}

/** Walks the items of an encapsulated value: Basic Offset Table, fragments, delimiter. */
function walkItems(b: Uint8Array, start: number): ReturnType<typeof encapsulatedItems> {
  try {
    return encapsulatedItems(b, start);
  } catch (e) {
    if (e instanceof NotWalkable) throw new DicomError('malformed', e.message);
    throw e;
  }
}

/**
 * The pixel element of kind `kind` in `b` (a Part 10 buffer encoded as `littleEndian` /
 * `explicitVr`), or null when it cannot be found.
 */
export function locatePixelData(
  b: Uint8Array,
  kind: ImagePixelModule['pixelDataKind'],
  littleEndian: boolean,
  explicitVr: boolean,
  /** Bytes the header implies for native data; null for encapsulated data. */
  expectedLength: number | null,
): PixelDataElement | null {
  const found = findElement(
    b,
    new DataView(b.buffer, b.byteOffset, b.byteLength),
    ELEMENTS[kind],
    littleEndian,
    explicitVr,
    kind === 'integer' ? 'OW' : kind === 'float32' ? 'OF' : 'OD',
    expectedLength,
  );
  if (!found) return null;
  const valueStart = found.offset + found.header;
  // Whether this matches the transfer syntax is for the decoder to judge.
  if (found.length === 0xffffffff) return { kind: 'integer', encapsulated: true, vr: found.vr, ...walkItems(b, valueStart) };
  return {
    kind,
    encapsulated: false,
    vr: found.vr,
    data: b.subarray(valueStart, Math.min(valueStart + found.length, b.length)),
    declaredLength: found.length,
    littleEndian,
  };
}

/**
 * Whether `b` holds a Pixel Data element (any of the three kinds) that is the data set's last:
 * an encapsulated one (undefined length, its first item right behind), or a native value that
 * reaches the end of the file, runs past it, or is followed only by Data Set Trailing Padding
 * (FFFC,FFFC). A reader that found no Pixel Data in such a file lost its way before it: the file
 * is damaged, not an object without pixels. Both byte orders and both VR forms are tried, as a
 * damaged file's transfer syntax may be what is wrong; an icon's pixel data nested in a sequence
 * is followed by delimiters and does not count.
 */
export function holdsTrailingPixelData(b: Uint8Array): boolean {
  const buffer = Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (const littleEndian of [true, false]) {
    const trailingPadding = (at: number) => at + 4 <= b.length && tagAt(view, at, littleEndian) === 0xfffcfffc;
    const itemFollows = (at: number) => at + 4 <= b.length && tagAt(view, at, true) === ITEM;
    for (const element of Object.values(ELEMENTS)) {
      const tag = Buffer.from(
        littleEndian ? [0xe0, 0x7f, element & 0xff, element >> 8] : [0x7f, 0xe0, element >> 8, element & 0xff],
      );
      for (let i = buffer.indexOf(tag, 132); i >= 0; i = buffer.indexOf(tag, i + 1)) {
        for (const explicitVr of [true, false]) {
          const f = readHeader(view, i, element, littleEndian, explicitVr, 'OW');
          if (!f) continue;
          const value = f.offset + f.header;
          if (f.length === 0xffffffff ? itemFollows(value) : value + f.length >= b.length || trailingPadding(value + f.length))
            return true;
        }
      }
    }
  }
  return false;
}
