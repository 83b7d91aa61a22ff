// A fast DICOM header walk for the common case: it walks the data set once up to the pixel
// data, keeps only the positions of the elements in `T` and skips the rest (sequences included)
// without decoding them. Two users: the import's records (src/main/import/fast-records.ts) and
// the native pixel path below (scrolling, inference). Anything unusual returns null and the
// caller falls back to the full dcmjs-based reader (this folder's index.ts).
// Measured: this is what lets the import outrun pydicom's header-only read (docs/benchmarks.md).
// Element headers and sequences are read by the one element walker (walker.ts).
import { hasDicmPrefix, vrCode } from './vr';
import { elementAt, EXPLICIT_LITTLE, NotWalkable, skipElement, tagAt, UNDEFINED_LENGTH, type Element, type Mode } from './walker';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

/** The tags this reader keeps, as (group << 16 | element). */
export const T = {
  mediaSopClass: 0x00020002,
  transferSyntax: 0x00020010,
  directoryRecords: 0x00041220,
  charset: 0x00080005,
  sopClass: 0x00080016,
  sopInstance: 0x00080018,
  studyDate: 0x00080020,
  studyTime: 0x00080030,
  accession: 0x00080050,
  modality: 0x00080060,
  studyDescription: 0x00081030,
  seriesDescription: 0x0008103e,
  patientName: 0x00100010,
  patientId: 0x00100020,
  birthDate: 0x00100030,
  sex: 0x00100040,
  studyUid: 0x0020000d,
  seriesUid: 0x0020000e,
  seriesNumber: 0x00200011,
  instanceNumber: 0x00200013,
  acquisitionNumber: 0x00200012,
  temporalPosition: 0x00200100,
  echoNumbers: 0x00180086,
  position: 0x00200032,
  orientation: 0x00200037,
  samples: 0x00280002,
  photometric: 0x00280004,
  frames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  spacing: 0x00280030,
  imagerSpacing: 0x00181164,
  sliceThickness: 0x00180050,
  bitsAllocated: 0x00280100,
  bitsStored: 0x00280101,
  pixelRepresentation: 0x00280103,
  windowCenter: 0x00281050,
  windowWidth: 0x00281051,
  intercept: 0x00281052,
  slope: 0x00281053,
  sharedGroups: 0x52009229,
  perFrameGroups: 0x52009230,
  pixelData: 0x7fe00010,
  floatPixelData: 0x7fe00008,
  doublePixelData: 0x7fe00009,
} as const;

// Tag → its slot in a Values table.
const SLOTS = new Map<number, number>(Object.values(T).map((tag, i) => [tag, i]));
const VR_OB = vrCode('OB');
const VR_OW = vrCode('OW');
const VR_SQ = vrCode('SQ');
const VR_UN = vrCode('UN');

/** Where the wanted elements' values are in the file: positions only, no copies or views. */
export class Values {
  private readonly at = new Int32Array(SLOTS.size * 2).fill(-1);

  constructor(private readonly b: Uint8Array) {}

  set(slot: number, start: number, length: number): void {
    this.at[2 * slot] = start;
    this.at[2 * slot + 1] = length;
  }

  has(tag: number): boolean {
    return this.at[2 * SLOTS.get(tag)!]! >= 0;
  }

  /**
   * The value as text, trailing NULs and spaces and leading spaces trimmed; '' when absent.
   * `encoding`: a decoder for text under another Specific Character Set.
   */
  text(tag: number, encoding: 'latin1' | 'utf-8' | TextDecoder = 'latin1'): string {
    const slot = 2 * SLOTS.get(tag)!;
    let start = this.at[slot]!;
    if (start < 0) return '';
    const b = this.b;
    let end = start + this.at[slot + 1]!;
    while (end > start && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
    while (start < end && b[start] === 0x20) start++;
    if (start === end) return '';
    if (encoding === 'utf-8') return utf8.decode(b.subarray(start, end));
    if (encoding !== 'latin1') return encoding.decode(b.subarray(start, end));
    return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
  }

  /** The value's bytes (a view), trimmed as `text` trims them; null when absent. */
  bytes(tag: number): Uint8Array | null {
    const slot = 2 * SLOTS.get(tag)!;
    let start = this.at[slot]!;
    if (start < 0) return null;
    const b = this.b;
    let end = start + this.at[slot + 1]!;
    while (end > start && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
    while (start < end && b[start] === 0x20) start++;
    return b.subarray(start, end);
  }

  /** An unsigned 16-bit value (US), or null when absent or short. */
  u16(tag: number, little: boolean): number | null {
    const slot = 2 * SLOTS.get(tag)!;
    const start = this.at[slot]!;
    if (start < 0 || this.at[slot + 1]! < 2) return null;
    const b = this.b;
    return little ? b[start]! | (b[start + 1]! << 8) : (b[start]! << 8) | b[start + 1]!;
  }
}

/** A data set walked up to its pixel data: where the wanted values lie, and how it is encoded. */
export interface FastHeader {
  values: Values;
  transferSyntax: string;
  mode: Mode;
  /** Offset of the pixel data element's tag in the buffer; END_OF_DATA_SET: a whole data set without pixel data. */
  pixelOffset: number;
}

/** The element at `offset` of a walked data set (the walker's header; 0xffffffff: undefined length). */
export function fastElementAt(b: Uint8Array, offset: number, mode: Mode): Element {
  return elementAt(new DataView(b.buffer, b.byteOffset, b.byteLength), offset, mode);
}

/**
 * Walks a Part 10 file (PS3.10 §7.1: preamble, "DICM", file meta group, data set) up to its Pixel
 * Data (7FE0,0010), keeping the positions of the elements in `T`. Null when the file is not one
 * this reader handles: no pixel data, a deflated or unknown transfer syntax, an enhanced
 * multi-frame object (functional groups), or a malformed element.
 */
export function readFastHeader(b: Uint8Array): FastHeader | null {
  try {
    return walkToPixels(b);
  } catch (e) {
    if (e instanceof NotWalkable || e instanceof RangeError) return null;
    throw e;
  }
}

function walkToPixels(b: Uint8Array): FastHeader | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const values = new Values(b);
  // File meta: always explicit VR little endian.
  let offset = walk(b, view, 132, EXPLICIT_LITTLE, values, (tag) => tag >>> 16 !== 0x0002);
  const ts = values.text(T.transferSyntax);
  let mode: Mode;
  if (ts === IMPLICIT_LE) mode = { explicit: false, little: true };
  else if (ts === EXPLICIT_BE) mode = { explicit: true, little: false };
  else if (ts === EXPLICIT_LE || ts.startsWith('1.2.840.10008.1.2.4.') || ts === '1.2.840.10008.1.2.5')
    mode = { explicit: true, little: true };
  else return null; // deflated, private or unknown syntaxes take the full reader
  offset = walk(
    b,
    view,
    offset,
    mode,
    values,
    (tag) => tag === T.pixelData || tag === T.floatPixelData || tag === T.doublePixelData,
  );
  // A whole data set without pixel data: the caller may classify it from its SOP class.
  if (offset === END_OF_DATA_SET) return { values, transferSyntax: ts, mode, pixelOffset: END_OF_DATA_SET };
  if (offset < 0) return null; // no pixel data and trailing bytes: let the full reader judge the object
  if (values.has(T.sharedGroups) || values.has(T.perFrameGroups)) return null;
  return { values, transferSyntax: ts, mode, pixelOffset: offset };
}

/**
 * Reads elements from `offset` until `stop(tag)` is true (returns that element's offset) or the
 * buffer ends (returns the end offset for the meta group, -1 for the data set). Wanted values
 * are copied into `values`; everything else, sequences included, is skipped.
 */
function walk(b: Uint8Array, view: DataView, offset: number, mode: Mode, values: Values, stop: (tag: number) => boolean): number {
  const isMeta = offset === 132;
  while (offset + 8 <= b.length) {
    if (stop(tagAt(view, offset, mode.little))) return offset;
    const e = elementAt(view, offset, mode);
    const slot = SLOTS.get(e.tag);
    if (e.length === UNDEFINED_LENGTH) {
      // Undefined length: a sequence (or UN holding one); its end is found by walking its items.
      if (e.vr !== 0 && e.vr !== VR_SQ && e.vr !== VR_UN) throw new NotWalkable();
      if (slot !== undefined) values.set(slot, e.value, 0);
      offset = skipElement(view, e, mode);
      continue;
    }
    if (e.value + e.length > b.length) throw new NotWalkable();
    if (slot !== undefined) values.set(slot, e.value, e.length);
    offset = e.value + e.length;
  }
  return isMeta ? offset : offset === b.length ? END_OF_DATA_SET : -2;
}

/** walk() reached the file's last byte exactly, on an element boundary, without the stop tag. */
export const END_OF_DATA_SET = -1;

const utf8 = new TextDecoder('utf-8');

export interface NativeFrames {
  rows: number;
  columns: number;
  frames: number;
  photometric: 'MONOCHROME1' | 'MONOCHROME2';
  /** One typed array per frame, a view on (or copy of) the file's bytes. */
  pixels: (Uint8Array | Uint16Array | Int16Array)[];
}

/**
 * The frames of a plain native little-endian grey image (8-bit, or 16-bit with every bit
 * stored), read straight from the bytes without dcmjs: the common case for scrolling and
 * inference. Anything else — compressed, big endian, colour, bits to mask or sign-extend —
 * returns null and goes through the full decoder (src/main/imaging/dicom), which gives the same
 * values (tested against it on every test file this accepts).
 */
export function readNativeFrames(b: Uint8Array): NativeFrames | null {
  try {
    if (!hasDicmPrefix(b)) return null;
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const values = new Values(b);
    let offset = walk(b, view, 132, EXPLICIT_LITTLE, values, (tag) => tag >>> 16 !== 0x0002);
    const ts = values.text(T.transferSyntax);
    if (ts !== EXPLICIT_LE && ts !== IMPLICIT_LE) return null;
    const explicit = ts === EXPLICIT_LE;
    offset = walk(
      b,
      view,
      offset,
      { explicit, little: true },
      values,
      (tag) => tag === T.pixelData || tag === T.floatPixelData || tag === T.doublePixelData,
    );
    if (offset < 0 || tagAt(view, offset, true) !== T.pixelData) return null;
    if (values.has(T.sharedGroups) || values.has(T.perFrameGroups)) return null;
    const u16 = (tag: number) => values.u16(tag, true);
    const header = elementAt(view, offset, { explicit, little: true });
    if (explicit && header.vr !== VR_OB && header.vr !== VR_OW) return null;
    const length = header.length;
    offset = header.value;
    const rows = u16(T.rows);
    const columns = u16(T.columns);
    const samples = u16(T.samples) ?? 1;
    const bitsAllocated = u16(T.bitsAllocated);
    const bitsStored = u16(T.bitsStored);
    const signed = u16(T.pixelRepresentation) === 1;
    const photometric = values.text(T.photometric);
    const framesText = values.text(T.frames);
    const frames = framesText ? Number(framesText) : 1;
    if (!rows || !columns || samples !== 1 || !Number.isInteger(frames) || frames < 1) return null;
    if (photometric !== 'MONOCHROME1' && photometric !== 'MONOCHROME2') return null;
    if (!(bitsAllocated === 8 && bitsStored === 8 && !signed) && !(bitsAllocated === 16 && bitsStored === 16)) return null;
    const frameBytes = rows * columns * (bitsAllocated / 8);
    // No Number of Frames over several frames' bytes: the full decoder counts them (frame-count.ts).
    if (!framesText && length !== 0xffffffff && length >= 2 * frameBytes) return null;
    if (length === 0xffffffff || length < frameBytes * frames || offset + frameBytes * frames > b.length) return null;
    const pixels: NativeFrames['pixels'] = [];
    for (let f = 0; f < frames; f++) {
      const start = offset + f * frameBytes;
      if (bitsAllocated === 8) pixels.push(b.subarray(start, start + frameBytes));
      else {
        // Copy: a 16-bit view needs 2-byte alignment, which a file offset does not promise.
        // (A Buffer's slice() is a view on a pooled buffer, so copy explicitly.)
        const copy = new Uint8Array(b.subarray(start, start + frameBytes));
        pixels.push(signed ? new Int16Array(copy.buffer, 0, rows * columns) : new Uint16Array(copy.buffer, 0, rows * columns));
      }
    }
    return { rows, columns, frames, photometric, pixels };
  } catch (e) {
    if (e instanceof NotWalkable || e instanceof RangeError) return null;
    throw e;
  }
}
