// A DICOM SEG's label-set record on the fast path: its SOP Instance UID, the series it labels
// (Referenced Series Sequence) and its segments (Segment Sequence: number and label), read from
// the bytes instead of a dcmjs parse of every functional group (25-80 ms per SEG on the loaded
// machine, cold, issue 16). Only a plain form is read — Part 10, explicit or implicit VR little
// endian or explicit big endian, ASCII/Latin-1/UTF-8 text, native 1- or 8-bit pixels all there,
// a clean walk to the Pixel Data — and anything else returns null for the full reader
// (read-dicom.ts), which gives the same outcome (tests/integration/fidelity-differential.test.ts).
import { hasDicmPrefix } from '../imaging/dicom/vr';
import { element, sequenceItems, skip, UNDEFINED, Unusual, type Element, type Mode } from './dicomdir';
import type { ReadOutcome } from './records';

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

/** The label-set (or the full reader's refusal of a SEG without references), or null for the full reader. */
export function readFastSegmentation(b: Uint8Array): ReadOutcome | null {
  try {
    return read(b);
  } catch (e) {
    if (e instanceof Unusual || e instanceof RangeError) return null;
    throw e;
  }
}

type Found = Map<number, Element>;

function read(b: Uint8Array): ReadOutcome | null {
  if (!hasDicmPrefix(b)) return null;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const meta: Found = new Map();
  let offset = 132;
  while (offset + 8 <= b.length && view.getUint16(offset, true) === 0x0002) {
    const e = element(view, offset, { explicit: true, little: true });
    meta.set(e.tag, e);
    offset = skip(view, e, { explicit: true, little: true });
  }
  const ts = text(b, meta.get(TAG.transferSyntax));
  const mode: Mode | null =
    ts === '1.2.840.10008.1.2'
      ? { explicit: false, little: true }
      : ts === '1.2.840.10008.1.2.1'
        ? { explicit: true, little: true }
        : ts === '1.2.840.10008.1.2.2'
          ? { explicit: true, little: false }
          : null;
  if (!mode) return null;

  const top: Found = new Map();
  let referenced: Found[] = [];
  let segments: Found[] = [];
  let pixels: Element | null = null;
  while (offset + 8 <= b.length) {
    const e = element(view, offset, mode);
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
    offset = skip(view, e, mode);
  }
  if (!pixels || pixels.length === UNDEFINED) return null;
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
  const series = [...new Set(referenced.map((item) => text(b, item.get(TAG.seriesUid))).filter((uid) => uid !== ''))];
  if (!series[0] && !text(b, top.get(TAG.frameOfReference)))
    return {
      status: 'skipped',
      reason: 'DICOM SEG without a Referenced Series Sequence or Frame of Reference: cannot tell which series it labels',
    };
  return {
    status: 'label-set',
    sopInstanceUid,
    referencedSeriesUid: series[0] ?? '',
    // As the full reader (header.ts segmentationRefs): a missing number is the item's place.
    segments: segments.map((item, i) => {
      const number = item.get(TAG.segmentNumber);
      if (number && number.length !== 2) throw new Unusual();
      return { number: us(item, TAG.segmentNumber) ?? i + 1, label: firstValue(decode(item.get(TAG.segmentLabel))) };
    }),
  };
}

const utf8 = new TextDecoder('utf-8');

/** A value as text: trailing NULs and spaces and leading spaces trimmed; '' when absent. */
function text(b: Uint8Array, e: Element | undefined, encoding: 'latin1' | 'utf-8' = 'latin1'): string {
  if (!e || e.length === UNDEFINED) return '';
  let start = e.value;
  let end = start + e.length;
  if (end > b.length) throw new Unusual();
  while (end > start && (b[end - 1] === 0 || b[end - 1] === 0x20)) end--;
  while (start < end && b[start] === 0x20) start++;
  if (encoding === 'utf-8') return utf8.decode(b.subarray(start, end));
  return Buffer.from(b.buffer, b.byteOffset + start, end - start).toString('latin1');
}

/** The first of several values, trimmed, as the full reader's str() gives it. */
function firstValue(value: string): string {
  return value.split('\\')[0]!.replace(/\0+$/, '').trim();
}
