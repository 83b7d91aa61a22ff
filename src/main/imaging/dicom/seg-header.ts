// A DICOM SEG's header as the import files it (import/fast-seg.ts): its SOP Instance UID, the
// series it labels (Referenced Series Sequence), its Frame of Reference and its segments (Segment
// Sequence: number and label), read from the bytes by the element walker (walker.ts) instead of a
// dcmjs parse of every functional group (25-80 ms per SEG on the loaded machine, cold, issue 16).
// Only a plain form is read — Part 10, explicit or implicit VR little endian or explicit big
// endian, ASCII/Latin-1/UTF-8 text, native 1- or 8-bit pixels all there, a clean walk to the Pixel
// Data — and anything else returns null for the full reader (header.ts), which gives the same
// outcome (tests/integration/fidelity-differential.test.ts).
import { hasDicmPrefix } from './vr';
import {
  elementAt,
  EXPLICIT_LITTLE,
  NotWalkable,
  plainMode,
  sequenceItems,
  skipElement,
  UNDEFINED_LENGTH,
  type Element,
} from './walker';

const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';
const TAG = {
  transferSyntax: 0x00020010,
  mediaSopInstance: 0x00020003,
  charset: 0x00080005,
  sopClass: 0x00080016,
  sopInstance: 0x00080018,
  referencedSeries: 0x00081115,
  seriesUid: 0x0020000e,
  frameOfReference: 0x00200052,
  samples: 0x00280002,
  frames: 0x00280008,
  rows: 0x00280010,
  columns: 0x00280011,
  bitsAllocated: 0x00280100,
  segments: 0x00620002,
  segmentNumber: 0x00620004,
  segmentLabel: 0x00620005,
  pixelData: 0x7fe00010,
} as const;

export interface SegHeader {
  sopInstanceUid: string;
  /** The Referenced Series Sequence's Series Instance UIDs, each once, in order; empty when it has none. */
  referencedSeriesUids: string[];
  frameOfReferenceUid: string;
  /** Segment Number (the item's place when absent, as the full reader) and the first value of Segment Label. */
  segments: { number: number; label: string }[];
}

/** The header of a Segmentation Storage object (PS3.3 A.51) in a plain form, or null for the full reader. */
export function readSegHeader(b: Uint8Array): SegHeader | null {
  try {
    return read(b);
  } catch (e) {
    if (e instanceof NotWalkable || e instanceof RangeError) return null;
    throw e;
  }
}

type Found = Map<number, Element>;

function read(b: Uint8Array): SegHeader | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const meta: Found = new Map();
  let offset = 132;
  while (offset + 8 <= b.length && view.getUint16(offset, true) === 0x0002) {
    const e = elementAt(view, offset, EXPLICIT_LITTLE);
    meta.set(e.tag, e);
    offset = skipElement(view, e, EXPLICIT_LITTLE);
  }
  const mode = plainMode(text(b, meta.get(TAG.transferSyntax)));
  if (!mode) return null;

  const top: Found = new Map();
  let referenced: Found[] = [];
  let segments: Found[] = [];
  let pixels: Element | null = null;
  while (offset + 8 <= b.length) {
    const e = elementAt(view, offset, mode);
    if (e.tag === TAG.pixelData) {
      pixels = e;
      break;
    }
    if (e.tag === TAG.referencedSeries || e.tag === TAG.segments) {
      const seq = sequenceItems(view, e.value, e.length, mode);
      if (e.tag === TAG.referencedSeries) referenced = seq.items;
      else segments = seq.items;
      offset = seq.end;
      continue;
    }
    top.set(e.tag, e);
    offset = skipElement(view, e, mode);
  }
  if (!pixels || pixels.length === UNDEFINED_LENGTH) return null;
  if (text(b, top.get(TAG.sopClass)) !== SEGMENTATION) return null;
  const charset = text(b, top.get(TAG.charset)).toUpperCase();
  if (charset !== '' && charset !== 'ISO_IR 100' && charset !== 'ISO_IR 192' && charset !== 'ISO_IR 6') return null;
  // The pixel module the full reader needs to locate the pixels, all there: it refuses otherwise.
  const us = (found: Found, tag: number) => {
    const e = found.get(tag);
    if (!e || e.length !== 2) return null;
    return view.getUint16(e.value, mode.little);
  };
  const rows = us(top, TAG.rows);
  const columns = us(top, TAG.columns);
  const bits = us(top, TAG.bitsAllocated);
  const samples = us(top, TAG.samples) ?? 1;
  const framesText = text(b, top.get(TAG.frames));
  const frames = framesText === '' ? 1 : Number(framesText);
  if (!rows || !columns || (bits !== 1 && bits !== 8) || samples !== 1 || !Number.isInteger(frames) || frames < 1) return null;
  const expected = bits === 1 ? Math.ceil((rows * columns * frames) / 8) : rows * columns * frames;
  if (pixels.value + pixels.length > b.length || pixels.length < expected) return null;

  const decode = charset === 'ISO_IR 192' ? (e?: Element) => text(b, e, 'utf-8') : (e?: Element) => text(b, e);
  const sopInstanceUid = text(b, top.get(TAG.sopInstance)) || text(b, meta.get(TAG.mediaSopInstance));
  return {
    sopInstanceUid,
    referencedSeriesUids: [...new Set(referenced.map((item) => text(b, item.get(TAG.seriesUid))).filter((uid) => uid !== ''))],
    frameOfReferenceUid: text(b, top.get(TAG.frameOfReference)),
    // As the full reader (header.ts segmentationRefs): a missing number is the item's place.
    segments: segments.map((item, i) => {
      const number = item.get(TAG.segmentNumber);
      if (number && number.length !== 2) throw new NotWalkable();
      return { number: us(item, TAG.segmentNumber) ?? i + 1, label: firstValue(decode(item.get(TAG.segmentLabel))) };
    }),
  };
}

const utf8 = new TextDecoder('utf-8');

/** A value as text: trailing NULs and spaces and leading spaces trimmed; '' when absent. */
function text(b: Uint8Array, e: Element | undefined, encoding: 'latin1' | 'utf-8' = 'latin1'): string {
  if (!e || e.length === UNDEFINED_LENGTH) return '';
  let start = e.value;
  let end = start + e.length;
  if (end > b.length) throw new NotWalkable();
  while (end > start && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  while (start < end && b[start] === 0x20) start++;
  if (encoding === 'utf-8') return utf8.decode(b.subarray(start, end));
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** The first of several values, trimmed, as the full reader's str() gives it. */
function firstValue(value: string): string {
  return value.split('\\')[0]!.replace(/\0+$/, '').trim();
}
