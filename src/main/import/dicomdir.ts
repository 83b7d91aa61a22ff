// The Referenced File IDs of a DICOMDIR, read straight from its bytes: the scan lists a
// DICOMDIR's files before anything else, and dcmjs took 45–150 ms to parse an 11 KB DICOMDIR
// (a new object per element of every directory record; pydicom's test DICOMDIRs, issue 16).
// Only the common forms are read here — Part 10, explicit or implicit VR little endian or
// explicit big endian, ASCII file IDs — and anything else returns null for scan.ts to read with
// dcmjs, which gives the same list (tests/integration/import-dicomdir.test.ts). Its element
// walk also serves the fast DICOM SEG reader (fast-seg.ts).
import { hasDicmPrefix, LONG_VR_CODES } from '../imaging/dicom/vr';

const DIRECTORY_RECORD_SEQUENCE = 0x00041220;
const REFERENCED_FILE_ID = 0x00041500;
const TRANSFER_SYNTAX = 0x00020010;
const ITEM = 0xfffee000;
const ITEM_END = 0xfffee00d;
const SEQUENCE_END = 0xfffee0dd;
export const UNDEFINED = 0xffffffff;

export interface Mode {
  explicit: boolean;
  little: boolean;
}

/** Thrown by the walkers here: a form they leave to the full parser. */
export class Unusual extends Error {}

/**
 * The Referenced File ID (0004,1500) of each record of the Directory Record Sequence
 * (0004,1220) that has one, in record order, its values joined with "\\" as stored (PS3.3
 * F.3.2.2, PS3.10 §8.5), each value trimmed of spaces. Records without the attribute are left
 * out. Null when the file is not in a form read here (the caller uses the
 * full parser): no Part 10 prefix, a deflated or unknown transfer syntax, no Directory Record
 * Sequence, a malformed element, or an empty or non-ASCII file ID.
 */
export function directoryFileIds(b: Uint8Array): string[] | null {
  try {
    return read(b);
  } catch (e) {
    if (e instanceof Unusual || e instanceof RangeError) return null;
    throw e;
  }
}

function read(b: Uint8Array): string[] | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // File meta: explicit VR little endian, group 0002 only (PS3.10 §7.1).
  let offset = 132;
  let ts = '';
  const meta: Mode = { explicit: true, little: true };
  while (offset + 8 <= b.length && view.getUint16(offset, true) === 0x0002) {
    const e = element(view, offset, meta);
    if (e.length === UNDEFINED || e.value + e.length > b.length) return null;
    if (e.tag === TRANSFER_SYNTAX) ts = ascii(b, e.value, e.length);
    offset = e.value + e.length;
  }
  let mode: Mode;
  if (ts === '1.2.840.10008.1.2') mode = { explicit: false, little: true };
  else if (ts === '1.2.840.10008.1.2.1') mode = { explicit: true, little: true };
  else if (ts === '1.2.840.10008.1.2.2') mode = { explicit: true, little: false };
  else return null;
  // The whole data set is walked, to its last byte: a file damaged anywhere is the full parser's
  // to judge, as it was before this reader.
  let ids: string[] | null = null;
  while (offset + 8 <= b.length) {
    const e = element(view, offset, mode);
    if (e.tag === DIRECTORY_RECORD_SEQUENCE) {
      const records = sequenceItems(view, e.value, e.length, mode);
      ids = records.items.flatMap((record) => {
        const id = record.get(REFERENCED_FILE_ID);
        if (!id) return [];
        if (id.length === UNDEFINED) throw new Unusual();
        return [fileId(b, id.value, id.length)];
      });
      offset = records.end;
    } else offset = skip(view, e, mode);
  }
  return offset === b.length ? ids : null;
}

/**
 * A sequence whose value starts at `offset` (`length` bytes, or UNDEFINED up to its Sequence
 * Delimitation Item; PS3.5 §7.5): each item as its top-level elements by tag (nested sequences
 * skipped, the last of a repeated tag kept), and the offset just past the sequence. Throws
 * Unusual on an item or length that does not fit.
 */
export function sequenceItems(
  view: DataView,
  offset: number,
  length: number,
  mode: Mode,
): { items: Map<number, Element>[]; end: number } {
  const end = length === UNDEFINED ? view.byteLength : offset + length;
  if (end > view.byteLength) throw new Unusual();
  const items: Map<number, Element>[] = [];
  while (offset < end) {
    const item = element(view, offset, { explicit: false, little: mode.little });
    if (item.tag === SEQUENCE_END && length === UNDEFINED) return { items, end: item.value };
    if (item.tag !== ITEM) throw new Unusual();
    const itemEnd = item.length === UNDEFINED ? end : item.value + item.length;
    if (itemEnd > end) throw new Unusual();
    const found = new Map<number, Element>();
    let at = item.value;
    for (;;) {
      if (at === itemEnd && item.length !== UNDEFINED) break;
      const e = element(view, at, mode);
      if (e.tag === ITEM_END) {
        if (item.length !== UNDEFINED) throw new Unusual();
        at = e.value;
        break;
      }
      found.set(e.tag, e);
      at = skip(view, e, mode);
      if (at > itemEnd) throw new Unusual();
    }
    items.push(found);
    offset = at;
  }
  if (length === UNDEFINED || offset !== end) throw new Unusual();
  return { items, end };
}

export interface Element {
  tag: number;
  vr: number;
  length: number;
  value: number;
}

/** The element header at `offset` (PS3.5 §7.1); item and delimitation tags never carry a VR. */
export function element(view: DataView, offset: number, mode: Mode): Element {
  const tag = ((view.getUint16(offset, mode.little) << 16) | view.getUint16(offset + 2, mode.little)) >>> 0;
  if (!mode.explicit || tag >>> 16 === 0xfffe)
    return { tag, vr: 0, length: view.getUint32(offset + 4, mode.little), value: offset + 8 };
  const vr = view.getUint16(offset + 4, false);
  if (LONG_VR_CODES.has(vr)) return { tag, vr, length: view.getUint32(offset + 8, mode.little), value: offset + 12 };
  return { tag, vr, length: view.getUint16(offset + 6, mode.little), value: offset + 8 };
}

/** The offset after an element; a sequence of undefined length is walked to its delimiter. */
export function skip(view: DataView, e: Element, mode: Mode): number {
  if (e.length !== UNDEFINED) {
    if (e.value + e.length > view.byteLength) throw new Unusual();
    return e.value + e.length;
  }
  let at = e.value;
  for (;;) {
    const item = element(view, at, { explicit: false, little: mode.little });
    if (item.tag === SEQUENCE_END) return item.value;
    if (item.tag !== ITEM) throw new Unusual();
    if (item.length !== UNDEFINED) {
      at = item.value + item.length;
      continue;
    }
    at = item.value;
    for (;;) {
      const inner = element(view, at, mode);
      if (inner.tag === ITEM_END) {
        at = inner.value;
        break;
      }
      at = skip(view, inner, mode);
    }
  }
}

/** A UI or CS value as text, trailing NULs and spaces removed. */
function ascii(b: Uint8Array, start: number, length: number): string {
  let end = start + length;
  while (end > start && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  return String.fromCharCode(...b.subarray(start, end));
}

/**
 * A Referenced File ID's values, each trimmed of spaces and joined with "\\", as dcmjs gives
 * them. An empty ID, a NUL, a control or a non-ASCII byte is left to dcmjs, so that its
 * handling of them stays the one answer.
 */
function fileId(b: Uint8Array, start: number, length: number): string {
  let text = '';
  for (let i = start; i < start + length; i++) {
    if (b[i]! > 0x7e || b[i]! < 0x20) throw new Unusual();
    text += String.fromCharCode(b[i]!);
  }
  const id = text
    .split('\\')
    .map((v) => v.trim())
    .join('\\');
  if (id.replace(/\\/g, '') === '') throw new Unusual();
  return id;
}
