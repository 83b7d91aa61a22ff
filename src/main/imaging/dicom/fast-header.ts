// A fast DICOM header walk for the common case: it walks the data set once up to the pixel
// data, keeps only the positions of the elements in `T` and skips the rest (sequences included)
// without decoding them. Two users: the import's records (src/main/import/fast-records.ts) and
// the native pixel path below (scrolling, inference). Anything unusual returns null and the
// caller falls back to the full dcmjs-based reader (this folder's index.ts).
// Measured: this is what lets the import outrun pydicom's header-only read (docs/benchmarks.md).
import { hasDicmPrefix, LONG_VR_CODES, vrCode } from './vr';

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

class Stop extends Error {}

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
  mode: { explicit: boolean; little: boolean };
  /** Offset of the pixel data element's tag in the buffer; END_OF_DATA_SET: a whole data set without pixel data. */
  pixelOffset: number;
}

/** The element at `offset` of a walked data set: its tag, length (0xffffffff: undefined) and where its value starts. */
export function elementAt(
  b: Uint8Array,
  offset: number,
  mode: FastHeader['mode'],
): { tag: number; length: number; value: number } {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const tag = ((view.getUint16(offset, mode.little) << 16) | view.getUint16(offset + 2, mode.little)) >>> 0;
  const { length, value } = elementHeader(view, offset, mode);
  return { tag, length, value };
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
    if (e instanceof Stop || e instanceof RangeError) return null;
    throw e;
  }
}

function walkToPixels(b: Uint8Array): FastHeader | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const values = new Values(b);
  // File meta: always explicit VR little endian.
  let offset = walk(b, view, 132, { explicit: true, little: true }, values, (tag) => tag >>> 16 !== 0x0002);
  const ts = values.text(T.transferSyntax);
  let mode: { explicit: boolean; little: boolean };
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
function walk(
  b: Uint8Array,
  view: DataView,
  offset: number,
  mode: { explicit: boolean; little: boolean },
  values: Values,
  stop: (tag: number) => boolean,
): number {
  const isMeta = offset === 132;
  while (offset + 8 <= b.length) {
    const group = view.getUint16(offset, mode.little);
    const element = view.getUint16(offset + 2, mode.little);
    const tag = ((group << 16) | element) >>> 0;
    if (stop(tag)) return offset;
    const { vr, length, value } = elementHeader(view, offset, mode);
    offset = value;
    if (length === 0xffffffff) {
      // Undefined length: a sequence (or UN holding one); find its end by walking its items.
      if (vr !== 0 && vr !== VR_SQ && vr !== VR_UN) throw new Stop();
      const slot = SLOTS.get(tag);
      if (slot !== undefined) values.set(slot, offset, 0);
      offset = skipUndefinedSequence(view, offset, mode);
      continue;
    }
    if (offset + length > b.length) throw new Stop();
    const slot = SLOTS.get(tag);
    if (slot !== undefined) values.set(slot, offset, length);
    offset += length;
  }
  return isMeta ? offset : offset === b.length ? END_OF_DATA_SET : -2;
}

/** walk() reached the file's last byte exactly, on an element boundary, without the stop tag. */
export const END_OF_DATA_SET = -1;

/** An element's VR (as vrCode, 0 in implicit VR), value length and where its value starts. */
function elementHeader(
  view: DataView,
  offset: number,
  mode: { explicit: boolean; little: boolean },
): { vr: number; length: number; value: number } {
  if (!mode.explicit) return { vr: 0, length: view.getUint32(offset + 4, mode.little), value: offset + 8 };
  const vr = view.getUint16(offset + 4, false);
  return LONG_VR_CODES.has(vr)
    ? { vr, length: view.getUint32(offset + 8, mode.little), value: offset + 12 }
    : { vr, length: view.getUint16(offset + 6, mode.little), value: offset + 8 };
}

/** Skips a sequence of undefined length: items until the Sequence Delimitation Item. */
function skipUndefinedSequence(view: DataView, offset: number, mode: { explicit: boolean; little: boolean }): number {
  while (offset + 8 <= view.byteLength) {
    const group = view.getUint16(offset, mode.little);
    const element = view.getUint16(offset + 2, mode.little);
    const length = view.getUint32(offset + 4, mode.little);
    offset += 8;
    if (group !== 0xfffe) throw new Stop();
    if (element === 0xe0dd) return offset;
    if (element !== 0xe000) throw new Stop();
    offset = length === 0xffffffff ? skipUndefinedItem(view, offset, mode) : offset + length;
  }
  throw new Stop();
}

/** Skips an item of undefined length, element by element, until the Item Delimitation Item. */
function skipUndefinedItem(view: DataView, offset: number, mode: { explicit: boolean; little: boolean }): number {
  while (offset + 8 <= view.byteLength) {
    const group = view.getUint16(offset, mode.little);
    const element = view.getUint16(offset + 2, mode.little);
    if (group === 0xfffe && element === 0xe00d) return offset + 8;
    // In implicit VR too only a sequence has an undefined length.
    const { length, value } = elementHeader(view, offset, mode);
    offset = length === 0xffffffff ? skipUndefinedSequence(view, value, mode) : value + length;
  }
  throw new Stop();
}

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
    let offset = walk(b, view, 132, { explicit: true, little: true }, values, (tag) => tag >>> 16 !== 0x0002);
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
    if (offset < 0 || ((view.getUint16(offset, true) << 16) | view.getUint16(offset + 2, true)) >>> 0 !== T.pixelData)
      return null;
    if (values.has(T.sharedGroups) || values.has(T.perFrameGroups)) return null;
    const u16 = (tag: number) => values.u16(tag, true);
    const header = elementHeader(view, offset, { explicit, little: true });
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
    if (e instanceof Stop || e instanceof RangeError) return null;
    throw e;
  }
}
