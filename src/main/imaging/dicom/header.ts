// Parses a DICOM file's data set with dcmjs into typed records, and classifies objects that are
// not images (SR, RT plans, waveforms, DICOMDIR …) with a reason instead of failing on them.
import { dcmjs, readQuietly, type DcmjsDict } from './dcmjs-api';
import { DicomError, describe } from './errors';
import { bytesFromLatin1, decodeIso2022, locateCharset, usesCodeExtensions } from './charset';
import { nativeByteLength } from './native';
import { readPalette, type Palette } from './palette';
import { geometryProblem, parseNumbers } from './numbers';
import { toPart10 } from './part10-repair';
import { TEXT_VRS } from './vr';
import { deriveFrameCount } from './frame-count';
import { holdsTrailingPixelData, locatePixelData, type PixelDataElement } from './pixel-locator';
import { describeNonImage, isUid, MEDIA_STORAGE_DIRECTORY, SEGMENTATION_STORAGE } from './sop-classes';
import { transferSyntax } from './transfer-syntax';
import type {
  DicomCommonHeader,
  DicomImageHeader,
  ImagePixelModule,
  ParsedDicom,
  PerFrameValues,
  SegmentInfo,
  Vec3,
} from './types';
import { firstItem, int, items, num, nums, personName, str, type Dataset } from './values';

export type { PixelDataElement } from './pixel-locator';

export interface DicomFile {
  parsed: ParsedDicom;
  /** null for non-image objects (and images under a syntax we cannot decode whose pixels were not found). */
  pixelData: PixelDataElement | null;
}

const PIXEL_TAGS: [string, ImagePixelModule['pixelDataKind']][] = [
  ['7FE00010', 'integer'],
  ['7FE00008', 'float32'],
  ['7FE00009', 'float64'],
];

// dcmjs reads the header and stops at Pixel Data without reading its value: pixel bytes are
// located by pixel-locator.ts, and whatever follows them (padding, sometimes megabytes of
// zeros that dcmjs would parse as thousands of empty elements) is never parsed.
const UNTIL_PIXELS = { untilTag: '7FE00010', includeUntilTagValue: false };

function readDataset(buffer: ArrayBuffer): { meta: DcmjsDict; dict: DcmjsDict; damage: string | null; charsetNote?: string } {
  try {
    const d = readQuietly(() => dcmjs.data.DicomMessage.readFile(buffer, { ...UNTIL_PIXELS, ignoreErrors: false }));
    return { meta: d.meta, dict: d.dict, damage: null };
  } catch (strictError) {
    // dcmjs stops at the first element it cannot read. Keep what came before, so a file cut
    // short after its header is still identified; the pixel checks later refuse partial pixels.
    // Its strict mode also refuses ISO 2022 multi-character-set files outright; leniently it
    // reads them with the first character set only — names may be garbled, pixels are not.
    const message = describe(strictError);
    try {
      const d = readQuietly(() => dcmjs.data.DicomMessage.readFile(buffer, { ...UNTIL_PIXELS, ignoreErrors: true }));
      if (/character set/i.test(message))
        return {
          meta: d.meta,
          dict: d.dict,
          damage: null,
          charsetNote: 'text decoded with the first character set only',
        };
      return { meta: d.meta, dict: d.dict, damage: message };
    } catch {
      throw new DicomError('malformed', `cannot parse data set: ${describe(strictError)}`, strictError);
    }
  }
}

function commonHeader(ds: Dataset, meta: Dataset, transferSyntaxUid: string): DicomCommonHeader {
  return {
    sopClassUid: str(ds, 'SOPClassUID') || str(meta, 'MediaStorageSOPClassUID'),
    sopInstanceUid: str(ds, 'SOPInstanceUID') || str(meta, 'MediaStorageSOPInstanceUID'),
    studyInstanceUid: str(ds, 'StudyInstanceUID'),
    seriesInstanceUid: str(ds, 'SeriesInstanceUID'),
    patient: {
      name: personName(ds, 'PatientName'),
      id: str(ds, 'PatientID'),
      birthDate: str(ds, 'PatientBirthDate'),
      sex: str(ds, 'PatientSex'),
    },
    study: {
      date: str(ds, 'StudyDate'),
      time: str(ds, 'StudyTime'),
      description: str(ds, 'StudyDescription'),
      accessionNumber: str(ds, 'AccessionNumber'),
    },
    series: { number: int(ds, 'SeriesNumber'), description: str(ds, 'SeriesDescription'), modality: str(ds, 'Modality') },
    instanceNumber: int(ds, 'InstanceNumber'),
    stack: [int(ds, 'TemporalPositionIdentifier'), int(ds, 'EchoNumbers'), int(ds, 'AcquisitionNumber')],
    transferSyntaxUid,
  };
}

function required(ds: Dataset, key: string): number {
  const v = int(ds, key);
  if (v === null) throw new DicomError('missing-attribute', `image has pixel data but no valid ${key}`, undefined, words(key));
  return v;
}

/** A PS3.6 keyword in words, as the report names attributes: "BitsAllocated" → "Bits Allocated". */
function words(keyword: string): string {
  return keyword.replace(/([a-z])([A-Z])/g, '$1 $2');
}

function pixelModule(ds: Dataset, kind: ImagePixelModule['pixelDataKind'], repairs: string[]): ImagePixelModule {
  const rows = required(ds, 'Rows');
  const columns = required(ds, 'Columns');
  if (rows <= 0 || columns <= 0)
    throw new DicomError('missing-attribute', `image size ${rows}×${columns} is empty`, undefined, 'Rows and Columns');
  const bitsAllocated = kind === 'float32' ? 32 : kind === 'float64' ? 64 : required(ds, 'BitsAllocated');
  const samplesPerPixel = int(ds, 'SamplesPerPixel') ?? 1;
  const bitsStored = int(ds, 'BitsStored') ?? bitsAllocated;
  let photometric = str(ds, 'PhotometricInterpretation').toUpperCase();
  if (!photometric) {
    photometric = samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2';
    repairs.push(`no Photometric Interpretation: assumed ${photometric}`);
  }
  // Unusable (absent, empty, not a number, below 1): one frame until the Pixel Data says how
  // many it holds (readDicom, frame-count.ts).
  const frames = declaredFrames(ds) ?? 1;
  return {
    rows,
    columns,
    numberOfFrames: frames,
    bitsAllocated,
    bitsStored,
    highBit: int(ds, 'HighBit') ?? bitsStored - 1,
    pixelRepresentation: int(ds, 'PixelRepresentation') === 1 ? 1 : 0,
    samplesPerPixel,
    photometricInterpretation: photometric,
    planarConfiguration: int(ds, 'PlanarConfiguration') === 1 ? 1 : 0,
    pixelDataKind: kind,
  };
}

/** Number of Frames when it is a usable count (1 or more), else null. */
function declaredFrames(ds: Dataset): number | null {
  const v = int(ds, 'NumberOfFrames');
  return v !== null && v >= 1 ? v : null;
}

function vec3(v: number[] | null): Vec3 | null {
  return v && v.length >= 3 ? [v[0] ?? 0, v[1] ?? 0, v[2] ?? 0] : null;
}

/** An attribute from the data set, else from the shared, else the first per-frame functional group. */
function functional(ds: Dataset, macro: string, key: string, count: number): number[] | null {
  const direct = nums(ds, key, count);
  if (direct) return direct;
  for (const groups of ['SharedFunctionalGroupsSequence', 'PerFrameFunctionalGroupsSequence']) {
    const item = firstItem(ds, groups, macro);
    const v = item ? nums(item, key, count) : null;
    if (v) return v;
  }
  return null;
}

function imageHeader(
  ds: Dataset,
  common: DicomCommonHeader,
  kind: ImagePixelModule['pixelDataKind'],
  repairs: string[],
): DicomImageHeader {
  const pixel = pixelModule(ds, kind, repairs);
  const checked = (values: number[] | null, what: 'spacing' | 'thickness' | 'orientation') => {
    const problem = values ? geometryProblem(what, values) : undefined;
    if (problem) repairs.push(problem);
    return problem ? null : values;
  };
  const spacing = checked(
    functional(ds, 'PixelMeasuresSequence', 'PixelSpacing', 2) ?? nums(ds, 'ImagerPixelSpacing', 2),
    'spacing',
  );
  const orientation = checked(functional(ds, 'PlaneOrientationSequence', 'ImageOrientationPatient', 6), 'orientation');
  const thickness = checked(functional(ds, 'PixelMeasuresSequence', 'SliceThickness', 1), 'thickness');
  const perFrame = items(ds, 'PerFrameFunctionalGroupsSequence');
  const framePositions =
    perFrame.length > 0
      ? perFrame.map((f) => vec3(nums(firstItem(f, 'PlanePositionSequence') ?? {}, 'ImagePositionPatient', 3)))
      : null;
  const slope = functional(ds, 'PixelValueTransformationSequence', 'RescaleSlope', 1)?.[0];
  const intercept = functional(ds, 'PixelValueTransformationSequence', 'RescaleIntercept', 1)?.[0];
  const voi =
    firstItem(ds, 'SharedFunctionalGroupsSequence', 'FrameVOILUTSequence') ??
    firstItem(ds, 'PerFrameFunctionalGroupsSequence', 'FrameVOILUTSequence');
  const windowCenter = num(ds, 'WindowCenter') ?? (voi ? num(voi, 'WindowCenter') : null);
  const windowWidth = num(ds, 'WindowWidth') ?? (voi ? num(voi, 'WindowWidth') : null);
  return {
    ...common,
    ...pixel,
    // A slope of 0 is never meant; it is a writer's bug and would flatten the image.
    rescaleSlope: slope !== undefined && slope !== 0 ? slope : 1,
    rescaleIntercept: intercept ?? 0,
    rescaleType: str(ds, 'RescaleType'),
    hasModalityLutSequence: items(ds, 'ModalityLUTSequence').length > 0,
    palette: pixel.photometricInterpretation === 'PALETTE COLOR' ? paletteOf(ds) : null,
    windowCenter,
    windowWidth: windowWidth !== null && windowWidth > 0 ? windowWidth : null,
    pixelSpacing: spacing ? [spacing[0] ?? 0, spacing[1] ?? 0] : null,
    sliceThickness: thickness?.[0] ?? null,
    imagePositionPatient: vec3(nums(ds, 'ImagePositionPatient', 3)) ?? framePositions?.[0] ?? null,
    imageOrientationPatient: orientation ? (orientation.slice(0, 6) as DicomImageHeader['imageOrientationPatient']) : null,
    framePositions: framePositions && framePositions.every((p) => p !== null) ? (framePositions as Vec3[]) : null,
    perFrame: perFrame.length > 0 ? perFrame.map((f) => perFrameValues(ds, f, checked)) : null,
  };
}

/** One frame's values: its own functional group item first, then the shared one, then the data set. */
function perFrameValues(
  ds: Dataset,
  frame: Dataset,
  checked: (v: number[] | null, what: 'spacing' | 'thickness' | 'orientation') => number[] | null,
): PerFrameValues {
  const shared = firstItem(ds, 'SharedFunctionalGroupsSequence');
  const from = (macro: string, key: string, count: number): number[] | null => {
    for (const group of [frame, shared]) {
      const item = group ? firstItem(group, macro) : undefined;
      const v = item ? nums(item, key, count) : null;
      if (v) return v;
    }
    return nums(ds, key, count);
  };
  const slope = from('PixelValueTransformationSequence', 'RescaleSlope', 1)?.[0];
  const width = from('FrameVOILUTSequence', 'WindowWidth', 1)?.[0] ?? null;
  const spacing = checked(from('PixelMeasuresSequence', 'PixelSpacing', 2), 'spacing');
  const orientation = checked(from('PlaneOrientationSequence', 'ImageOrientationPatient', 6), 'orientation');
  const thickness = checked(from('PixelMeasuresSequence', 'SliceThickness', 1), 'thickness');
  return {
    rescaleSlope: slope !== undefined && slope !== 0 ? slope : 1,
    rescaleIntercept: from('PixelValueTransformationSequence', 'RescaleIntercept', 1)?.[0] ?? 0,
    windowCenter: from('FrameVOILUTSequence', 'WindowCenter', 1)?.[0] ?? null,
    windowWidth: width !== null && width > 0 ? width : null,
    pixelSpacing: spacing ? [spacing[0]!, spacing[1]!] : null,
    sliceThickness: thickness?.[0] ?? null,
    imageOrientationPatient: orientation ? (orientation.slice(0, 6) as PerFrameValues['imageOrientationPatient']) : null,
  };
}

function segmentationRefs(ds: Dataset): { series: string[]; instances: string[]; segments: SegmentInfo[] } {
  const series = new Set<string>();
  const instances = new Set<string>();
  for (const s of items(ds, 'ReferencedSeriesSequence')) {
    const uid = str(s, 'SeriesInstanceUID');
    if (uid) series.add(uid);
    for (const i of items(s, 'ReferencedInstanceSequence')) {
      const sop = str(i, 'ReferencedSOPInstanceUID');
      if (sop) instances.add(sop);
    }
  }
  const sources = [
    ...items(ds, 'SourceImageSequence'),
    ...items(ds, 'SharedFunctionalGroupsSequence')
      .flatMap((g) => items(g, 'DerivationImageSequence'))
      .flatMap((d) => items(d, 'SourceImageSequence')),
    ...items(ds, 'PerFrameFunctionalGroupsSequence')
      .flatMap((g) => items(g, 'DerivationImageSequence'))
      .flatMap((d) => items(d, 'SourceImageSequence')),
  ];
  for (const s of sources) {
    const sop = str(s, 'ReferencedSOPInstanceUID');
    if (sop) instances.add(sop);
  }
  const segments = items(ds, 'SegmentSequence').map((s, i) => ({
    number: int(s, 'SegmentNumber') ?? i + 1,
    label: str(s, 'SegmentLabel'),
  }));
  return { series: [...series], instances: [...instances], segments };
}

function nonImage(common: DicomCommonHeader, repairs: string[], damage: string | null): DicomFile {
  const sop = describeNonImage(common.sopClassUid);
  const reason = `${sop.name}${common.sopClassUid ? ` (${common.sopClassUid})` : ''} has no pixel data${damage ? ' (and the file is damaged)' : ''}`;
  return { parsed: { kind: 'non-image', header: common, category: sop.category, reason, repairs }, pixelData: null };
}

/**
 * A data set under ISO 2022 code extensions, read as dcmjs can: its Specific Character Set is
 * overwritten (in a copy) with ISO_IR 100, so dcmjs decodes every text one character per byte,
 * and the text is decoded again from those bytes (charset.ts). Null when not needed.
 */
function withCodeExtensions(buffer: ArrayBuffer): { buffer: ArrayBuffer; charsets: string[] } | null {
  const b = new Uint8Array(buffer);
  const at = locateCharset(b, 132);
  if (!at || at.length < 10 || at.start + at.length > b.length) return null;
  const charsets = new TextDecoder('latin1')
    .decode(b.subarray(at.start, at.start + at.length))
    .replace(/[\0 ]+$/, '')
    .split('\\');
  if (!usesCodeExtensions(charsets)) return null;
  const copy = new Uint8Array(b);
  copy.fill(0x20, at.start, at.start + at.length);
  copy.set(
    [...'ISO_IR 100'].map((c) => c.charCodeAt(0)),
    at.start,
  );
  return { buffer: copy.buffer, charsets: charsets.map((c) => c.trim()) };
}

/** Decodes every text value (nested sequences too) read one byte per character; notes what it could not. */
function decodeTexts(dict: DcmjsDict, charsets: readonly string[], notes: Set<string>): void {
  const decode = (s: unknown) => {
    if (typeof s !== 'string') return s;
    const r = decodeIso2022(bytesFromLatin1(s), charsets);
    if (r.unsupported) notes.add(`text in a character set the workstation cannot decode (${r.unsupported}) shown as \uFFFD`);
    return r.text;
  };
  for (const element of Object.values(dict as Record<string, { vr?: string; Value?: unknown[] }>)) {
    if (!element?.Value) continue;
    if (element.vr === 'SQ')
      for (const item of element.Value) if (item && typeof item === 'object') decodeTexts(item as DcmjsDict, charsets, notes);
    if (element.vr && TEXT_VRS.has(element.vr)) element.Value = element.Value.map(decode);
    if (element.vr === 'PN')
      element.Value = element.Value.map((v) =>
        v && typeof v === 'object'
          ? Object.fromEntries(Object.entries(v as Record<string, unknown>).map(([k, g]) => [k, decode(g)]))
          : decode(v),
      );
  }
}

/** Parses the bytes of one file. Throws DicomError; never anything else. */
export function readDicom(bytes: Uint8Array): DicomFile {
  const p10 = toPart10(bytes);
  const repairs = [...p10.repairs];
  const extended = withCodeExtensions(p10.buffer);
  const { meta, dict, damage, charsetNote } = readDataset(extended?.buffer ?? p10.buffer);
  if (extended) {
    const notes = new Set<string>();
    decodeTexts(dict, extended.charsets, notes);
    repairs.push(...notes);
  }
  if (damage) repairs.push('data set damaged after the elements read: the rest was left out');
  if (charsetNote) repairs.push(charsetNote);
  normalizeNumbers(dict, repairs);
  let ds: Dataset;
  let metaDs: Dataset;
  try {
    ds = readQuietly(() => dcmjs.data.DicomMetaDictionary.naturalizeDataset(dict));
    metaDs = readQuietly(() => dcmjs.data.DicomMetaDictionary.naturalizeDataset(meta));
  } catch (e) {
    throw new DicomError('malformed', `cannot interpret data set: ${describe(e)}`, e);
  }
  const common = commonHeader(ds, metaDs, p10.transferSyntaxUid);
  const pixelTag = PIXEL_TAGS.find(([tag]) => dict[tag] !== undefined);

  if (common.sopClassUid === MEDIA_STORAGE_DIRECTORY || (!pixelTag && items(ds, 'DirectoryRecordSequence').length > 0)) {
    return {
      parsed: {
        kind: 'non-image',
        header: common,
        category: 'dicomdir',
        reason: 'DICOMDIR: a directory of other files, no pixel data',
        repairs,
      },
      pixelData: null,
    };
  }
  if (!pixelTag) {
    const sop = describeNonImage(common.sopClassUid);
    // A damaged file of an image class (or of no known class) lost its pixels to the damage:
    // that is a failure to report, not an object to skip.
    if (damage && (sop.category === 'other' || int(ds, 'Rows') !== null)) {
      throw new DicomError(
        'malformed',
        `data set damaged before Pixel Data: ${damage}`,
        undefined,
        'damaged before its pixel data',
      );
    }
    // Damaged is not "no pixel data" (issue 23 item 7): a SOP Class UID that is no UID, or Pixel
    // Data in the bytes that the parse never reached, is a damaged file, and a damaged value is
    // never echoed.
    const sopClass = rawUid(dict['00080016']) || rawUid(meta['00020002']);
    if (sopClass && !isUid(sopClass))
      throw new DicomError('malformed', 'the SOP Class UID is not a valid UID', undefined, 'its SOP Class UID is damaged');
    if (holdsTrailingPixelData(bytes) || holdsTrailingPixelData(new Uint8Array(p10.buffer)))
      throw new DicomError(
        'malformed',
        'the file holds Pixel Data that the data set, damaged before it, does not reach',
        undefined,
        'damaged before its pixel data',
      );
    return nonImage(common, repairs, damage);
  }
  const [, kind] = pixelTag;
  // A damaged Transfer Syntax UID says nothing about how the pixels are encoded (guessed, they
  // were stored unshowable); a valid one the workstation does not know is left to the decoder.
  if (!isUid(p10.transferSyntaxUid))
    throw new DicomError(
      'malformed',
      'the Transfer Syntax UID is not a valid UID',
      undefined,
      'its Transfer Syntax UID is damaged',
    );
  const header = imageHeader(ds, common, kind, repairs);
  const encoding = transferSyntax(p10.encodedAs);
  const syntax = transferSyntax(p10.transferSyntaxUid);
  const encapsulated = syntax.encoding !== 'native';
  const expected = encapsulated ? null : nativeByteLength(header, kind);
  const pixelData = locatePixelData(new Uint8Array(p10.buffer), kind, encoding.littleEndian, encoding.explicitVr, expected);
  // Under a syntax we cannot decode anyway, the decoder's "unsupported" says more than this.
  if (!pixelData && syntax.encoding !== null) {
    throw new DicomError(
      'malformed',
      `cannot locate the Pixel Data element (${encapsulated ? 'encapsulated' : `expected ${expected} bytes`})`,
    );
  }
  // Number of Frames unusable: the Pixel Data says how many frames it holds, or the file is refused.
  const framesValue = int(ds, 'NumberOfFrames');
  if ((framesValue === null || framesValue < 1) && pixelData) {
    const derived = deriveFrameCount(header, pixelData, syntax.encoding === 'rle');
    header.numberOfFrames = derived.frames;
    const what = framesValue === null ? 'no Number of Frames' : `Number of Frames ${framesValue} is not a frame count`;
    if (derived.from) repairs.push(`${what}: ${derived.from}`);
    else if (framesValue !== null) repairs.push(`${what}: read as 1`);
  }
  if (common.sopClassUid === SEGMENTATION_STORAGE) {
    const refs = segmentationRefs(ds);
    return {
      parsed: {
        kind: 'segmentation',
        header,
        referencedSeriesUids: refs.series,
        referencedInstanceUids: refs.instances,
        frameOfReferenceUid: str(ds, 'FrameOfReferenceUID'),
        segments: refs.segments,
        repairs,
      },
      pixelData,
    };
  }
  return { parsed: { kind: 'image', header, repairs }, pixelData };
}

/**
 * A UI value as the file holds it: dcmjs drops the characters a UID cannot hold, so a damaged UID
 * ("1.2.840.10008.5.1.4ÿÿÿ1.88.33") would read as another, valid-looking one.
 */
function rawUid(element: DcmjsDict[string] | undefined): string {
  const value = (element as { _rawValue?: unknown } | undefined)?._rawValue;
  const raw = Array.isArray(value) ? (value as unknown[])[0] : value;
  return typeof raw === 'string' ? raw.replace(/[\0 ]+$/, '').trim() : '';
}

interface DictElement {
  vr?: string;
  Value?: unknown[];
  _rawValue?: unknown;
}

/**
 * Replaces dcmjs' own reading of every DS and IS value (it drops a decimal comma: "0,5" → 5) by
 * the parser the fast header path uses too (numbers.ts), in nested sequences as well; what that
 * parser repaired or refused is added to `notes`.
 */
function normalizeNumbers(dict: DcmjsDict, notes: string[]): void {
  for (const [tag, element] of Object.entries(dict as Record<string, DictElement>)) {
    if (!element || typeof element !== 'object') continue;
    if (element.vr === 'SQ' && Array.isArray(element.Value)) {
      for (const item of element.Value) if (item && typeof item === 'object') normalizeNumbers(item as DcmjsDict, notes);
      continue;
    }
    if ((element.vr !== 'DS' && element.vr !== 'IS') || element._rawValue === undefined) continue;
    const raw = Array.isArray(element._rawValue) ? element._rawValue.join('\\') : String(element._rawValue);
    const parsed = parseNumbers(raw, element.vr, attributeName(tag));
    if (parsed.note && !notes.includes(parsed.note)) notes.push(parsed.note);
    element.Value = parsed.values ?? [];
  }
}

/** "(0028,1053)" → "Rescale Slope", from dcmjs' data dictionary (PS3.6 keywords). */
function attributeName(tag: string): string {
  const entry = (dcmjs.data.DicomMetaDictionary as unknown as { dictionary: Record<string, { name?: string }> }).dictionary[
    `(${tag.slice(0, 4)},${tag.slice(4)})`.toUpperCase()
  ];
  return entry?.name
    ? entry.name.replace(/([a-z])([A-Z])/g, '$1 $2').replace(/ (Of|In|At|To) /g, (w) => w.toLowerCase())
    : `(${tag.slice(0, 4)},${tag.slice(4)})`;
}

function paletteOf(ds: Dataset): Palette | string {
  try {
    return readPalette(ds);
  } catch (e) {
    return e instanceof DicomError ? e.message : 'PALETTE COLOR lookup tables cannot be read';
  }
}
