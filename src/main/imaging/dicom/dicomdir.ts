// The Referenced File IDs of a DICOMDIR, read straight from its bytes: the scan lists a
// DICOMDIR's files before anything else, and dcmjs took 45–150 ms to parse an 11 KB DICOMDIR
// (a new object per element of every directory record; pydicom's test DICOMDIRs, issue 16).
// Only the common forms are read here — Part 10, explicit or implicit VR little endian or
// explicit big endian, ASCII file IDs — and anything else returns null for the import's scan
// (import/scan.ts) to read with dcmjs, which gives the same list
// (tests/integration/import-dicomdir.test.ts). Elements are walked by the one walker (walker.ts).
import { hasDicmPrefix } from './vr';
import { elementAt, EXPLICIT_LITTLE, NotWalkable, plainMode, sequenceItems, skipElement, UNDEFINED_LENGTH } from './walker';

const DIRECTORY_RECORD_SEQUENCE = 0x00041220;
const REFERENCED_FILE_ID = 0x00041500;
const TRANSFER_SYNTAX = 0x00020010;

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
    if (e instanceof NotWalkable || e instanceof RangeError) return null;
    throw e;
  }
}

function read(b: Uint8Array): string[] | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  // File meta: explicit VR little endian, group 0002 only (PS3.10 §7.1).
  let offset = 132;
  let ts = '';
  while (offset + 8 <= b.length && view.getUint16(offset, true) === 0x0002) {
    const e = elementAt(view, offset, EXPLICIT_LITTLE);
    if (e.length === UNDEFINED_LENGTH || e.value + e.length > b.length) return null;
    if (e.tag === TRANSFER_SYNTAX) ts = ascii(b, e.value, e.length);
    offset = e.value + e.length;
  }
  const mode = plainMode(ts);
  if (!mode) return null;
  // The whole data set is walked, to its last byte: a file damaged anywhere is the full parser's
  // to judge, as it was before this reader.
  let ids: string[] | null = null;
  while (offset + 8 <= b.length) {
    const e = elementAt(view, offset, mode);
    if (e.tag === DIRECTORY_RECORD_SEQUENCE) {
      const records = sequenceItems(view, e.value, e.length, mode);
      ids = records.items.flatMap((record) => {
        const id = record.get(REFERENCED_FILE_ID);
        if (!id) return [];
        if (id.length === UNDEFINED_LENGTH) throw new NotWalkable();
        return [fileId(b, id.value, id.length)];
      });
      offset = records.end;
    } else offset = skipElement(view, e, mode);
  }
  return offset === b.length ? ids : null;
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
    if (b[i]! > 0x7e || b[i]! < 0x20) throw new NotWalkable();
    text += String.fromCharCode(b[i]!);
  }
  const id = text
    .split('\\')
    .map((v) => v.trim())
    .join('\\');
  if (id.replace(/\\/g, '') === '') throw new NotWalkable();
  return id;
}
