// The import's fast path: index records straight from the fast DICOM header walk
// (src/main/imaging/dicom/fast-header.ts). Anything unusual — a segmentation, an unknown
// character set or escape sequence, an odd pixel module — returns null and the import falls
// back to the full dcmjs-based reader (read-dicom.ts), which gives the same records (tested:
// tests/integration/fidelity-differential.test.ts).
import { END_OF_DATA_SET, fastElementAt, readFastHeader, T, type FastHeader } from '../imaging/dicom/fast-header';
import { encapsulatedFrames } from '../imaging/dicom/frame-count';
import { encapsulatedItems, NotWalkable, UNDEFINED_LENGTH } from '../imaging/dicom/walker';
import { decodeIso2022, locateCharset, usesCodeExtensions } from '../imaging/dicom/charset';
import { DECODED_PHOTOMETRIC } from '../imaging/dicom/color';
import { isDicomError } from '../imaging/dicom';
import { toPart10 } from '../imaging/dicom/part10-repair';
import { DEFLATED_EXPLICIT_VR_LE, transferSyntax } from '../imaging/dicom/transfer-syntax';
import { hasDicmPrefix } from '../imaging/dicom/vr';
import { describeNonImage, isImageStorage, isUid, MEDIA_STORAGE_DIRECTORY } from '../imaging/dicom/sop-classes';
import { geometryProblem, parseNumbers } from '../imaging/dicom/numbers';
import { readFastSegmentation } from './fast-seg';
import { bytesOf, failureReason, missingUids } from './reasons';
import type { FrameRecord, ReadOutcome, SeriesRecord } from './records';

const EXPLICIT_LE = '1.2.840.10008.1.2.1';
const IMPLICIT_LE = '1.2.840.10008.1.2';
const EXPLICIT_BE = '1.2.840.10008.1.2.2';

const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';

/** The records of one DICOM file on the fast path, or null for the full reader to decide. */
export function readFastRecords(b: Uint8Array): ReadOutcome | null {
  try {
    return read(b) ?? readRepaired(b) ?? readFastSegmentation(b);
  } catch (e) {
    if (e instanceof RangeError || isDicomError(e)) return null;
    throw e;
  }
}

/**
 * A Part 10 file the full reader reads only after repairing it (part10-repair.ts toPart10): a Deflated
 * Explicit VR Little Endian data set (PS3.5 A.5), inflated; a data set written in another
 * encoding than its transfer syntax says; a file meta without group length. The fast path walks
 * the same repaired bytes; the records keep the file's own transfer syntax and carry the
 * repairs as notes, as the full reader's do. A file that needed no repair is not read again.
 */
function readRepaired(b: Uint8Array): ReadOutcome | null {
  if (!hasDicmPrefix(b)) return null;
  const p10 = toPart10(b);
  if (p10.repairs.length === 0 && p10.transferSyntaxUid !== DEFLATED_EXPLICIT_VR_LE) return null;
  return read(new Uint8Array(p10.buffer), p10.transferSyntaxUid, p10.repairs);
}

/** What this path reads as it is: what the decoder shows, but palette colour (its tables: the full reader). */
const FAST_PHOTOMETRIC: ReadonlySet<string> = new Set([...DECODED_PHOTOMETRIC].filter((p) => p !== 'PALETTE COLOR'));

/** `fileSyntax`: the file's own transfer syntax where `b` holds it repaired (readRepaired), and `repairs` what was done. */
function read(b: Uint8Array, fileSyntax?: string, repairs: readonly string[] = []): ReadOutcome | null {
  const header = readFastHeader(b);
  if (header === null) return null;
  const { values, mode, transferSyntax: ts } = header;
  if (header.pixelOffset === END_OF_DATA_SET) return knownNonImage(values);
  const charset = values.text(T.charset).toUpperCase();
  const single =
    charset === 'ISO_IR 192'
      ? 'utf-8'
      : charset === '' || charset === 'ISO_IR 100' || charset === 'ISO_IR 6'
        ? 'latin1'
        : singleSetDecoder(charset);
  // ISO 2022 code extensions: UIDs, dates, codes and numbers are ASCII; names and descriptions
  // are decoded below as the full reader decodes them.
  const extensions = single === null ? codeExtensions(b, values, header.pixelOffset) : null;
  if (single === null && extensions === null) return null;
  const encoding = single ?? 'latin1';
  const sopClass = values.text(T.sopClass);
  if (sopClass === SEGMENTATION) return null;

  const str = (tag: number) => values.text(tag, encoding);
  const us = (tag: number) => values.u16(tag, mode.little);
  // DS and IS through the one parser both readers use (numbers.ts); what it repaired or
  // refused becomes a note of the import report.
  const notes: string[] = [...repairs];
  const ds = (tag: number, vm?: number, vr: 'DS' | 'IS' = 'DS') => {
    const r = parseNumbers(str(tag), vr, NAMES[tag] ?? 'a number', vm);
    if (r.note) notes.push(r.note);
    return r.values;
  };
  const first = (tag: number, vr: 'DS' | 'IS' = 'DS') => ds(tag, undefined, vr)?.[0] ?? null;
  const studyUid = str(T.studyUid);
  const seriesUid = str(T.seriesUid);
  const sopInstance = str(T.sopInstance);
  const rows = us(T.rows);
  const columns = us(T.columns);
  if (!rows || !columns) return null;
  const samples = us(T.samples) ?? 1;
  const photometric = str(T.photometric) || (samples === 3 ? 'RGB' : 'MONOCHROME2');
  const framesValue = first(T.frames, 'IS');
  // Number of Frames below 1: the full reader reads the count from the Pixel Data and notes it.
  if (framesValue !== null && framesValue < 1) return null;
  const frames = framesValue !== null ? Math.round(framesValue) : 1;
  // Sanity-check the pixel module before trusting it; oddities go to the full reader.
  const bits = us(T.bitsAllocated);
  if (bits === null || ![1, 8, 16, 32].includes(bits) || (samples !== 1 && samples !== 3)) return null;
  // Native pixels (a deflated file's are, once inflated): their size is checked below.
  const syntax = fileSyntax ?? ts;
  const native = syntax === EXPLICIT_LE || syntax === IMPLICIT_LE || syntax === EXPLICIT_BE || syntax === DEFLATED_EXPLICIT_VR_LE;
  // Subsampled native pixels: the full reader knows their size. Compressed, the codec does, and
  // nothing here depends on it.
  if (photometric.endsWith('_422') && native) return null;
  // Palette colour (its tables) and anything unusual: the full reader converts or refuses them.
  if (!FAST_PHOTOMETRIC.has(photometric)) return null;
  // Native pixels cut short are refused here already (Part 5 §8.1.1: Rows × Columns × Samples ×
  // Bits Allocated × Frames bits); the full reader checks the same (read-dicom.ts).
  const pixels = fastElementAt(b, header.pixelOffset, mode);
  if (pixels.tag !== T.pixelData) return null;
  // No Number of Frames: one frame only when the Pixel Data holds less than two frames' bytes, or
  // its items count one compressed frame as the full reader counts them (frame-count.ts); else the
  // full reader counts the frames, with its note, or refuses.
  if (
    framesValue === null &&
    !oneFrame(b, pixels, bits === 1 ? Math.ceil((rows * columns * samples) / 8) : rows * columns * samples * (bits / 8), syntax)
  )
    return null;
  // The full reader's first check of an image it has parsed (read-dicom.ts), so its answer too:
  // an anonymiser that dropped the UIDs left nothing to file the image under.
  if (!studyUid || !seriesUid)
    return { status: 'failed', reason: failureReason('missing-attribute', missingUids(studyUid, seriesUid)) };
  if (!sopInstance) return null;
  if (native) {
    const expected =
      bits === 1 ? Math.ceil((rows * columns * samples * frames) / 8) : rows * columns * samples * frames * (bits / 8);
    const present = pixels.length === 0xffffffff ? 0 : Math.min(pixels.length, b.length - pixels.value);
    if (present < expected) return { status: 'failed', reason: failureReason('pixels-cut-short', bytesOf(present, expected)) };
  }

  // Names (PN) and descriptions, IDs (LO, SH): under code extensions each value, and each of a
  // name's component groups, starts again in the first character set.
  const text = (tag: number) => (extensions ? extendedText(values.bytes(tag), extensions) : str(tag));
  const patientName = extensions ? extendedName(values.bytes(T.patientName), extensions) : str(T.patientName).replace(/=+$/, '');
  const patient = { id: text(T.patientId), name: patientName, birthDate: str(T.birthDate), sex: str(T.sex) };
  const series: SeriesRecord = {
    patientKey: patient.id
      ? `id:${patient.id}`
      : patient.name
        ? `name:${patient.name}|${patient.birthDate}`
        : `study:${studyUid}`,
    patient,
    studyUid,
    study: {
      date: str(T.studyDate),
      time: str(T.studyTime),
      description: text(T.studyDescription),
      accession: text(T.accession),
    },
    seriesUid,
    series: { modality: str(T.modality), number: intOrNull(first(T.seriesNumber, 'IS')), description: text(T.seriesDescription) },
    format: 'dicom',
  };
  // Projection radiographs often carry only Imager Pixel Spacing.
  const checked = (values: number[] | null, what: 'spacing' | 'thickness' | 'orientation') => {
    const problem = values ? geometryProblem(what, values) : undefined;
    if (problem) notes.push(problem);
    return problem ? null : values;
  };
  const spacing = checked(values.has(T.spacing) ? ds(T.spacing, 2) : ds(T.imagerSpacing, 2), 'spacing');
  const position = ds(T.position, 3);
  const orientation = checked(ds(T.orientation, 6), 'orientation');
  // The first value, as the full reader reads a VM 1 attribute written with more.
  const thickness = checked(ds(T.sliceThickness)?.slice(0, 1) ?? null, 'thickness');
  const slope = first(T.slope);
  const frameRecords: FrameRecord[] = [];
  for (let i = 0; i < frames; i++) {
    frameRecords.push({
      frameIndex: i,
      sopInstanceUid: sopInstance,
      instanceNumber: intOrNull(first(T.instanceNumber, 'IS')),
      rows,
      columns,
      samplesPerPixel: samples,
      photometric,
      pixelSpacing: spacing && spacing.length >= 2 ? [spacing[0]!, spacing[1]!] : null,
      sliceThickness: thickness?.[0] ?? null,
      position: position && position.length >= 3 ? [position[0]!, position[1]!, position[2]!] : null,
      orientation: orientation && orientation.length >= 6 ? (orientation.slice(0, 6) as FrameRecord['orientation']) : null,
      rescaleSlope: slope !== null && slope !== 0 ? slope : 1,
      rescaleIntercept: first(T.intercept) ?? 0,
      windowCenter: first(T.windowCenter),
      windowWidth: positiveOrNull(first(T.windowWidth)),
      transferSyntax: fileSyntax ?? ts,
      stack: [
        intOrNull(first(T.temporalPosition, 'IS')),
        intOrNull(first(T.echoNumbers, 'IS')),
        intOrNull(first(T.acquisitionNumber, 'IS')),
      ],
    });
  }
  return { status: 'image', series, frames: frameRecords, ...(notes.length ? { notes: [...new Set(notes)] } : {}) };
}

/**
 * The decoder the full reader (dcmjs) uses for a single Specific Character Set without code
 * extensions (PS3.3 C.12.1.1.2; dcmjs' encodingMapping, which names WHATWG labels), so that both
 * readers turn the same bytes into the same text; null for anything else (several values, ISO
 * 2022 code extensions, an unknown term): the full reader decodes those (charset.ts). Every set
 * here leaves ASCII bytes as they are, so UIDs, dates and numbers read the same under it.
 * Issue 16: these files took the full reader only for their names.
 */
function singleSetDecoder(charset: string): TextDecoder | null {
  const label = SINGLE_SETS[charset.replace(/[_ ]/g, '-').toLowerCase()];
  if (!label) return null;
  let decoder = decoders.get(label);
  if (!decoder) decoders.set(label, (decoder = new TextDecoder(label)));
  return decoder;
}

const SINGLE_SETS: Record<string, string> = {
  'iso-ir-13': 'shift-jis',
  'iso-ir-101': 'iso-8859-2',
  'iso-ir-109': 'iso-8859-3',
  'iso-ir-110': 'iso-8859-4',
  'iso-ir-126': 'iso-ir-126',
  'iso-ir-127': 'iso-ir-127',
  'iso-ir-138': 'iso-ir-138',
  'iso-ir-144': 'iso-ir-144',
  'iso-ir-148': 'iso-ir-148',
  'iso-ir-166': 'tis-620',
  gb18030: 'gb18030',
  gbk: 'gbk',
};
const decoders = new Map<string, TextDecoder>();

/**
 * The Specific Character Set's terms when it uses ISO 2022 code extensions (PS3.5 §6.1.2.5) in
 * the form the full reader decodes (header.ts withCodeExtensions: the value it finds with
 * locateCharset, at least 10 bytes), and every escape sequence before the pixel data is one
 * charset.ts decodes — the full reader notes any other, in any text element, so those files
 * take it. Null otherwise.
 */
function codeExtensions(b: Uint8Array, values: FastHeader['values'], pixelOffset: number): string[] | null {
  const value = values.text(T.charset);
  const charsets = value.split('\\').map((c) => c.trim());
  if (!usesCodeExtensions(charsets)) return null;
  const at = locateCharset(b, 132);
  if (!at || at.length < 10 || at.start + at.length > b.length) return null;
  if (
    Buffer.from(b.buffer, b.byteOffset + at.start, at.length)
      .toString('latin1')
      .replace(/[\0 ]+$/, '')
      .trim() !== value
  )
    return null;
  for (let i = b.indexOf(ESC, 132); i >= 0 && i < pixelOffset; i = b.indexOf(ESC, i + 1)) {
    // The escape and the few bytes a designation takes, up to the next escape.
    let end = i + 1;
    while (end < pixelOffset && end < i + 5 && b[end] !== ESC) end++;
    if (decodeIso2022(b.subarray(i, end), charsets).unsupported) return null;
  }
  return charsets;
}

const ESC = 0x1b;
const BACKSLASH = 0x5c;
const EQUALS = 0x3d;

/** The first value of an LO or SH under code extensions, trimmed, as the full reader's str() gives it. */
function extendedText(bytes: Uint8Array | null, charsets: readonly string[]): string {
  if (!bytes) return '';
  const end = bytes.indexOf(BACKSLASH);
  return decodeIso2022(end < 0 ? bytes : bytes.subarray(0, end), charsets)
    .text.replace(/\0+$/, '')
    .trim();
}

/** The first value of a PN: its component groups decoded each, trimmed, joined with "=", empty trailing groups dropped (values.ts personName). */
function extendedName(bytes: Uint8Array | null, charsets: readonly string[]): string {
  if (!bytes) return '';
  const end = bytes.indexOf(BACKSLASH);
  const value = end < 0 ? bytes : bytes.subarray(0, end);
  const groups: string[] = [];
  for (let start = 0; groups.length < 3;) {
    const next = value.indexOf(EQUALS, start);
    groups.push(decodeIso2022(value.subarray(start, next < 0 ? value.length : next), charsets).text.trim());
    if (next < 0) break;
    start = next + 1;
  }
  return groups.join('=').replace(/=+$/, '');
}

/** Whether Pixel Data (`pixels`, frames of `perFrame` bytes when native) holds one frame without Number of Frames. */
function oneFrame(b: Uint8Array, pixels: { length: number; value: number }, perFrame: number, syntax: string): boolean {
  if (pixels.length !== UNDEFINED_LENGTH) return pixels.length < 2 * perFrame;
  return oneEncapsulatedFrame(b, pixels.value, transferSyntax(syntax).encoding === 'rle');
}

/**
 * Whether an encapsulated Pixel Data value (its items from `at`) is one frame by the count the full
 * reader derives without Number of Frames (frame-count.ts encapsulatedFrames: the Basic Offset
 * Table, else one fragment per RLE frame, else the fragments that open a codestream), with no note
 * to add. Anything else, a value cut short or without fragments included, is for the full reader.
 */
function oneEncapsulatedFrame(b: Uint8Array, at: number, rle: boolean): boolean {
  try {
    const items = encapsulatedItems(b, at);
    if (items.truncation || items.fragments.length === 0) return false;
    const derived = encapsulatedFrames(items, rle);
    return derived.frames === 1 && derived.from === undefined;
  } catch (e) {
    if (e instanceof NotWalkable || isDicomError(e)) return false;
    throw e;
  }
}

/** Names of the numeric attributes for the parser's notes: their PS3.6 keywords in words, as the full reader names them. */
const NAMES: Record<number, string> = {
  [T.spacing]: 'Pixel Spacing',
  [T.imagerSpacing]: 'Imager Pixel Spacing',
  [T.sliceThickness]: 'Slice Thickness',
  [T.position]: 'Image Position Patient',
  [T.orientation]: 'Image Orientation Patient',
  [T.slope]: 'Rescale Slope',
  [T.intercept]: 'Rescale Intercept',
  [T.windowCenter]: 'Window Center',
  [T.windowWidth]: 'Window Width',
  [T.frames]: 'Number of Frames',
  [T.seriesNumber]: 'Series Number',
  [T.instanceNumber]: 'Instance Number',
  [T.temporalPosition]: 'Temporal Position Identifier',
  [T.echoNumbers]: 'Echo Numbers',
  [T.acquisitionNumber]: 'Acquisition Number',
};

/** A window width of 0 or less is a writer's error: treat it as absent. */
function positiveOrNull(n: number | null): number | null {
  return n !== null && n > 0 ? n : null;
}

function intOrNull(n: number | null): number | null {
  return n === null ? null : Math.round(n);
}

/**
 * A whole, well-formed data set (walked to its last byte) without pixel data: skipped with the
 * full reader's own reason (header.ts nonImage), without parsing
 * its content. A waveform took the full reader ~100 ms, an SR 5-40 ms (pydicom's test files,
 * issue 16). A DICOMDIR takes the full reader; an image storage class without Pixel Data fails
 * as damaged, as there; no SOP Class UID at all is 'object without a SOP Class UID', as there.
 */
function knownNonImage(values: FastHeader['values']): ReadOutcome | null {
  if (values.has(T.directoryRecords)) return null;
  const uid = values.text(T.sopClass) || values.text(T.mediaSopClass);
  // A damaged UID makes a damaged file, as the full reader says (header.ts); it is never echoed.
  if (uid === MEDIA_STORAGE_DIRECTORY || (uid && !isUid(uid))) return null;
  // An image storage object without Pixel Data is damaged, as the full reader says (read-dicom.ts).
  if (isImageStorage(uid)) return { status: 'failed', reason: failureReason('pixels-missing') };
  const sop = describeNonImage(uid);
  return { status: 'skipped', reason: `${sop.name}${uid ? ` (${uid})` : ''} has no pixel data` };
}
