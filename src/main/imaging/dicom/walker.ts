// The one DICOM element walker (PS3.5 §7.1 data elements, §7.5 nesting of data sets): every reader
// here that walks a data set's bytes — the fast header walk (fast-header.ts), the DICOMDIR and
// SEG readers (dicomdir.ts, seg-header.ts), the Part 10 repair's file meta scan
// (part10-repair.ts), format detection (../detect.ts) and the pixel locator's element and item
// headers (pixel-locator.ts) — reads element headers, skips values and walks sequences here,
// with the VR table of vr.ts. Positions only: nothing is copied or decoded. A form the walker
// does not follow (an item where none may be, a value past the end) throws NotWalkable; reads
// past the end of the buffer throw DataView's RangeError. Callers catch both and hand the file
// to the full parser (dcmjs, index.ts) or say why they refuse it.
// Measured: the fast header walk over these functions is what lets the import outrun pydicom's
// header-only read (docs/benchmarks.md); they return small objects V8 keeps off the heap.
import { LONG_VR_CODES } from './vr';

/** How a data set is encoded: explicit or implicit VR, little or big endian (PS3.5 §7.1, §7.3). */
export interface Mode {
  explicit: boolean;
  little: boolean;
}

/** The file meta group's encoding, always (PS3.10 §7.1), and the three plain transfer syntaxes'. */
export const EXPLICIT_LITTLE: Mode = Object.freeze({ explicit: true, little: true });
export const IMPLICIT_LITTLE: Mode = Object.freeze({ explicit: false, little: true });
export const EXPLICIT_BIG: Mode = Object.freeze({ explicit: true, little: false });

/** Implicit VR Little Endian, Explicit VR Little Endian, Explicit VR Big Endian (PS3.5 A.1–A.3). */
export function plainMode(transferSyntaxUid: string): Mode | null {
  if (transferSyntaxUid === '1.2.840.10008.1.2') return IMPLICIT_LITTLE;
  if (transferSyntaxUid === '1.2.840.10008.1.2.1') return EXPLICIT_LITTLE;
  if (transferSyntaxUid === '1.2.840.10008.1.2.2') return EXPLICIT_BIG;
  return null;
}

/** A value length of 0xFFFFFFFF: the value ends at its delimitation item (PS3.5 §7.1.1, §7.5). */
export const UNDEFINED_LENGTH = 0xffffffff;
/** Item (FFFE,E000), Item Delimitation Item (FFFE,E00D), Sequence Delimitation Item (FFFE,E0DD). */
export const ITEM = 0xfffee000;
export const ITEM_END = 0xfffee00d;
export const SEQUENCE_END = 0xfffee0dd;

/** Thrown by the walker: a form it leaves to the full parser. */
export class NotWalkable extends Error {}

/** One element header: tag as (group << 16 | element), VR as vrCode (0 in implicit VR and for items), value length and offset. */
export interface Element {
  tag: number;
  vr: number;
  length: number;
  value: number;
}

/** The tag at `offset`, as (group << 16 | element). */
export function tagAt(view: DataView, offset: number, little: boolean): number {
  return ((view.getUint16(offset, little) << 16) | view.getUint16(offset + 2, little)) >>> 0;
}

/**
 * The element header at `offset` (PS3.5 §7.1.2 explicit VR: 8 bytes, or 12 for the VRs of
 * LONG_VRS; §7.1.3 implicit VR: 8 bytes). Items and delimitation items (group FFFE) never carry
 * a VR, in either encoding (§7.5). Throws RangeError when the header runs past the buffer.
 */
export function elementAt(view: DataView, offset: number, mode: Mode): Element {
  const tag = tagAt(view, offset, mode.little);
  if (!mode.explicit || tag >>> 16 === 0xfffe)
    return { tag, vr: 0, length: view.getUint32(offset + 4, mode.little), value: offset + 8 };
  const vr = view.getUint16(offset + 4, false);
  if (LONG_VR_CODES.has(vr)) return { tag, vr, length: view.getUint32(offset + 8, mode.little), value: offset + 12 };
  return { tag, vr, length: view.getUint16(offset + 6, mode.little), value: offset + 8 };
}

/**
 * The offset just after element `e`. A value of undefined length (a sequence, or an encapsulated
 * value's items) is walked to its Sequence Delimitation Item, items of undefined length element
 * by element to their Item Delimitation Item. Throws NotWalkable on a value past the end or
 * anything but items inside a sequence.
 */
export function skipElement(view: DataView, e: Element, mode: Mode): number {
  if (e.length !== UNDEFINED_LENGTH) {
    if (e.value + e.length > view.byteLength) throw new NotWalkable();
    return e.value + e.length;
  }
  let at = e.value;
  for (;;) {
    const item = elementAt(view, at, mode);
    if (item.tag === SEQUENCE_END) return item.value;
    if (item.tag !== ITEM) throw new NotWalkable();
    if (item.length !== UNDEFINED_LENGTH) {
      at = item.value + item.length;
      continue;
    }
    at = item.value;
    for (;;) {
      const inner = elementAt(view, at, mode);
      if (inner.tag === ITEM_END) {
        at = inner.value;
        break;
      }
      at = skipElement(view, inner, mode);
    }
  }
}

/**
 * A sequence whose value starts at `offset` (`length` bytes, or UNDEFINED_LENGTH up to its
 * Sequence Delimitation Item; PS3.5 §7.5): each item as its top-level elements by tag (nested
 * sequences skipped, the last of a repeated tag kept), and the offset just past the sequence.
 * Throws NotWalkable on an item or length that does not fit.
 */
export function sequenceItems(
  view: DataView,
  offset: number,
  length: number,
  mode: Mode,
): { items: Map<number, Element>[]; end: number } {
  const end = length === UNDEFINED_LENGTH ? view.byteLength : offset + length;
  if (end > view.byteLength) throw new NotWalkable();
  const items: Map<number, Element>[] = [];
  while (offset < end) {
    const item = elementAt(view, offset, mode);
    if (item.tag === SEQUENCE_END && length === UNDEFINED_LENGTH) return { items, end: item.value };
    if (item.tag !== ITEM) throw new NotWalkable();
    const itemEnd = item.length === UNDEFINED_LENGTH ? end : item.value + item.length;
    if (itemEnd > end) throw new NotWalkable();
    const found = new Map<number, Element>();
    let at = item.value;
    for (;;) {
      if (at === itemEnd && item.length !== UNDEFINED_LENGTH) break;
      const e = elementAt(view, at, mode);
      if (e.tag === ITEM_END) {
        if (item.length !== UNDEFINED_LENGTH) throw new NotWalkable();
        at = e.value;
        break;
      }
      found.set(e.tag, e);
      at = skipElement(view, e, mode);
      if (at > itemEnd) throw new NotWalkable();
    }
    items.push(found);
    offset = at;
  }
  if (length === UNDEFINED_LENGTH || offset !== end) throw new NotWalkable();
  return { items, end };
}

/**
 * The items of an encapsulated value (PS3.5 A.4: always little endian, whatever the data set's
 * encoding) from `start`: the Basic Offset Table's entries, the fragments, and why the sequence is
 * incomplete (null when its Sequence Delimitation Item was reached). Throws NotWalkable on
 * anything but items before the delimiter, or an item of undefined length.
 */
export function encapsulatedItems(
  b: Uint8Array,
  start: number,
): { offsetTable: number[]; fragments: Uint8Array[]; truncation: string | null } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const fragments: Uint8Array[] = [];
  let offsetTable: number[] = [];
  let pos = start;
  let first = true;
  while (pos + 8 <= b.length) {
    const item = elementAt(view, pos, IMPLICIT_LITTLE);
    if (item.tag === SEQUENCE_END) return { offsetTable, fragments, truncation: null };
    if (item.tag !== ITEM)
      throw new NotWalkable(
        `unexpected element (${(item.tag >>> 16).toString(16)},${(item.tag & 0xffff).toString(16)}) inside encapsulated Pixel Data`,
      );
    if (item.length === UNDEFINED_LENGTH) throw new NotWalkable('a pixel data fragment has undefined length');
    const end = item.value + item.length;
    if (end > b.length) {
      const what = first ? 'the Basic Offset Table' : `fragment ${fragments.length + 1}`;
      return {
        offsetTable,
        fragments,
        truncation: `truncated pixel data: ${what} declares ${item.length} bytes, ${b.length - item.value} remain in the file`,
      };
    }
    if (first) {
      offsetTable = Array.from({ length: item.length >>> 2 }, (_, k) => view.getUint32(item.value + 4 * k, true));
      first = false;
    } else fragments.push(b.subarray(item.value, end));
    pos = end;
  }
  return { offsetTable, fragments, truncation: 'truncated pixel data: the fragment sequence has no end (no sequence delimiter)' };
}
