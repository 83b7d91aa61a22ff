// Turns raw file bytes into a well-formed DICOM Part 10 buffer for dcmjs, which insists on a
// preamble, a File Meta group length and a Transfer Syntax UID. Files missing these (raw
// datasets from old modalities, meta groups written without a group length) are common
// enough on CDs that we repair them here rather than refuse them, and say so in `repairs`.
import { inflateRawSync } from 'node:zlib';
import { DicomError, describe } from './errors';
import { ALL_VR_CODES, ALL_VRS, hasDicmPrefix, LONG_VR_CODES, LONG_VRS, vrName } from './vr';
import { elementAt, EXPLICIT_LITTLE } from './walker';
import { DEFLATED_EXPLICIT_VR_LE, EXPLICIT_VR_BE, EXPLICIT_VR_LE, IMPLICIT_VR_LE, transferSyntax } from './transfer-syntax';
import { isUid } from './sop-classes';

export interface Part10 {
  /** Exactly the bytes dcmjs should read; the input's own buffer when nothing needed fixing. */
  buffer: ArrayBuffer;
  /** The file's transfer syntax, as it says (or as we guessed). */
  transferSyntaxUid: string;
  /**
   * The encoding of the data set inside `buffer`: the same as transferSyntaxUid, except a
   * deflated file, which is inflated here into Explicit VR Little Endian so that dcmjs and the
   * pixel locator both see plain bytes.
   */
  encodedAs: string;
  /** What was synthesised, e.g. "no preamble: guessed Implicit VR Little Endian". */
  repairs: string[];
}

/** The largest inflated data set we accept from a deflated file (a zip bomb stops here). */
export const MAX_INFLATED_BYTES = 1024 ** 3;

// Groups a data set can plausibly start with; anything else (a PNG, a NIfTI header, text) is
// not a raw DICOM data set.
const FIRST_GROUPS = new Set([0x0002, 0x0004, 0x0008, 0x0010, 0x0018, 0x0020, 0x0028]);

interface MetaElement {
  element: number;
  vr: string;
  value: Uint8Array;
}

interface MetaScan {
  elements: MetaElement[];
  /** Offset of the first byte after the meta group. */
  end: number;
}

function ascii(bytes: Uint8Array, start: number, length: number): string {
  let s = '';
  for (let i = start; i < start + length && i < bytes.length; i++) s += String.fromCharCode(bytes[i] ?? 0);
  return s;
}

/** Walks group 0002 (always Explicit VR Little Endian) element by element, with the element walker. */
function scanMeta(bytes: Uint8Array, start: number): MetaScan {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const elements: MetaElement[] = [];
  let pos = start;
  while (pos + 8 <= bytes.length && view.getUint16(pos, true) === 0x0002) {
    const element = view.getUint16(pos + 2, true);
    const vr = view.getUint16(pos + 4, false);
    if (!ALL_VR_CODES.has(vr))
      throw new DicomError('malformed', `file meta element (0002,${hex4(element)}) has invalid VR "${ascii(bytes, pos + 4, 2)}"`);
    if (LONG_VR_CODES.has(vr) && pos + 12 > bytes.length) break;
    const e = elementAt(view, pos, EXPLICIT_LITTLE);
    if (e.length === 0xffffffff || e.value + e.length > bytes.length) {
      throw new DicomError('malformed', `file meta element (0002,${hex4(element)}) runs past the end of the file`);
    }
    elements.push({ element, vr: vrName(vr), value: bytes.subarray(e.value, e.value + e.length) });
    pos = e.value + e.length;
  }
  return { elements, end: pos };
}

/**
 * The Transfer Syntax UID (0002,0010) a Part 10 file's meta group declares, read by the element
 * walker without parsing the data set; null when the file has no preamble, no such element or a
 * meta group that does not walk. For callers that refuse a syntax before a full parse.
 */
export function declaredTransferSyntax(bytes: Uint8Array): string | null {
  if (!hasDicmPrefix(bytes)) return null;
  try {
    return uidValue(scanMeta(bytes, 132).elements.find((e) => e.element === 0x0010)) ?? null;
  } catch (e) {
    if (e instanceof DicomError || e instanceof RangeError) return null;
    throw e;
  }
}

function hex4(n: number): string {
  return n.toString(16).padStart(4, '0');
}

function uidValue(e: MetaElement | undefined): string | undefined {
  if (!e) return undefined;
  const s = ascii(e.value, 0, e.value.length).replace(/[\0 ]+$/, '');
  return s.length > 0 ? s : undefined;
}

/** Guesses the encoding of a data set from its first element, or null if it is not one. */
export function guessDatasetSyntax(bytes: Uint8Array, start: number): string | null {
  if (start + 8 > bytes.length) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const vr = ascii(bytes, start + 4, 2);
  const groupLe = view.getUint16(start, true);
  if (FIRST_GROUPS.has(groupLe)) {
    if (ALL_VRS.has(vr)) return EXPLICIT_VR_LE;
    const length = view.getUint32(start + 4, true);
    return length === 0xffffffff || start + 8 + length <= bytes.length ? IMPLICIT_VR_LE : null;
  }
  const groupBe = view.getUint16(start, false);
  if (FIRST_GROUPS.has(groupBe) && ALL_VRS.has(vr)) return EXPLICIT_VR_BE;
  return null;
}

function exactBuffer(bytes: Uint8Array): ArrayBuffer {
  const { buffer, byteOffset, byteLength } = bytes;
  if (buffer instanceof ArrayBuffer && byteOffset === 0 && byteLength === buffer.byteLength) return buffer;
  const copy = new ArrayBuffer(byteLength);
  new Uint8Array(copy).set(bytes);
  return copy;
}

/** Writes preamble + a complete meta group + the data set into one new buffer. */
function rebuild(kept: MetaElement[], transferSyntaxUid: string, dataset: Uint8Array): ArrayBuffer {
  const uid = (s: string): Uint8Array => {
    const b = new Uint8Array(s.length + (s.length % 2));
    for (let i = 0; i < s.length; i++) b[i] = s.charCodeAt(i);
    return b;
  };
  const byElement = new Map(kept.filter((e) => e.element !== 0x0000).map((e) => [e.element, e]));
  byElement.set(0x0001, byElement.get(0x0001) ?? { element: 0x0001, vr: 'OB', value: new Uint8Array([0, 1]) });
  byElement.set(0x0010, { element: 0x0010, vr: 'UI', value: uid(transferSyntaxUid) });
  // Our own root would be better; 2.25 (UUID-derived) is valid without registering one.
  byElement.set(0x0012, byElement.get(0x0012) ?? { element: 0x0012, vr: 'UI', value: uid('2.25.1') });
  const elements = [...byElement.values()].sort((a, b) => a.element - b.element);
  const sizeOf = (e: MetaElement) => (LONG_VRS.has(e.vr) ? 12 : 8) + e.value.length + (e.value.length % 2);
  const groupLength = elements.reduce((n, e) => n + sizeOf(e), 0);
  const out = new Uint8Array(132 + 12 + groupLength + dataset.length);
  const view = new DataView(out.buffer);
  out.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  let pos = 132;
  const writeHeader = (element: number, vr: string, length: number) => {
    view.setUint16(pos, 0x0002, true);
    view.setUint16(pos + 2, element, true);
    out[pos + 4] = vr.charCodeAt(0);
    out[pos + 5] = vr.charCodeAt(1);
    if (LONG_VRS.has(vr)) {
      view.setUint32(pos + 8, length, true);
      pos += 12;
    } else {
      view.setUint16(pos + 6, length, true);
      pos += 8;
    }
  };
  writeHeader(0x0000, 'UL', 4);
  view.setUint32(pos, groupLength, true);
  pos += 4;
  for (const e of elements) {
    const padded = e.value.length + (e.value.length % 2);
    writeHeader(e.element, e.vr, padded);
    out.set(e.value, pos);
    pos += padded;
  }
  out.set(dataset, pos);
  return out.buffer;
}

function inflate(deflated: Uint8Array): Uint8Array {
  try {
    return inflateRawSync(deflated, { maxOutputLength: MAX_INFLATED_BYTES });
  } catch (e) {
    if (e instanceof RangeError)
      throw new DicomError('too-large', `deflated data set inflates to more than ${MAX_INFLATED_BYTES} bytes`, e);
    throw new DicomError('malformed', `cannot inflate deflated data set: ${describe(e)}`, e);
  }
}

export function toPart10(bytes: Uint8Array): Part10 {
  const hasPreamble = hasDicmPrefix(bytes);
  const metaStart = hasPreamble ? 132 : 0;
  const startsWithMeta = bytes.length >= metaStart + 8 && bytes[metaStart] === 0x02 && bytes[metaStart + 1] === 0x00;

  if (!hasPreamble && !startsWithMeta) {
    const guessed = guessDatasetSyntax(bytes, 0);
    if (!guessed) throw new DicomError('not-dicom', 'not DICOM: no DICM preamble and no recognisable data set');
    return {
      buffer: rebuild([], guessed, bytes),
      transferSyntaxUid: guessed,
      encodedAs: guessed,
      repairs: [`no DICM preamble or file meta: read as a raw data set in ${guessed}`],
    };
  }

  const meta = scanMeta(bytes, metaStart);
  const find = (element: number) => meta.elements.find((e) => e.element === element);
  const repairs: string[] = [];
  let syntax = uidValue(find(0x0010));
  if (!syntax) {
    syntax = guessDatasetSyntax(bytes, meta.end) ?? EXPLICIT_VR_LE;
    repairs.push(`file meta has no Transfer Syntax UID: guessed ${syntax}`);
  }
  if (!hasPreamble) repairs.push('no 128-byte preamble before the file meta');
  const groupLength = find(0x0000);
  const declared =
    groupLength && groupLength.value.length === 4
      ? new DataView(groupLength.value.buffer, groupLength.value.byteOffset, 4).getUint32(0, true)
      : undefined;
  const firstAfterLength = meta.elements.length > 0 ? meta.end - metaStart - (groupLength ? 12 : 0) : 0;
  if (declared === undefined) repairs.push('file meta has no group length');
  else if (declared !== firstAfterLength) repairs.push(`file meta group length ${declared} is wrong (${firstAfterLength})`);

  if (syntax === DEFLATED_EXPLICIT_VR_LE) {
    const inflated = inflate(bytes.subarray(meta.end));
    return {
      buffer: rebuild(meta.elements, EXPLICIT_VR_LE, inflated),
      transferSyntaxUid: syntax,
      encodedAs: EXPLICIT_VR_LE,
      repairs,
    };
  }
  // Some writers (an early highdicom among them) label a data set Explicit VR but write it
  // Implicit; dcmjs would misread every element, so read it as what it is.
  const labelled = transferSyntax(syntax);
  const declaredEncoding = !labelled.littleEndian ? EXPLICIT_VR_BE : labelled.explicitVr ? EXPLICIT_VR_LE : IMPLICIT_VR_LE;
  const actual = guessDatasetSyntax(bytes, meta.end);
  let encodedAs = declaredEncoding;
  if (actual && actual !== declaredEncoding) {
    repairs.push(`data set is encoded as ${actual} although the transfer syntax is ${isUid(syntax) ? syntax : 'damaged'}`);
    encodedAs = actual;
  }
  if (repairs.length === 0) return { buffer: exactBuffer(bytes), transferSyntaxUid: syntax, encodedAs, repairs };
  return { buffer: rebuild(meta.elements, encodedAs, bytes.subarray(meta.end)), transferSyntaxUid: syntax, encodedAs, repairs };
}
