// Reads a binary or fractional DICOM SEG (PS3.3 C.8.20): its segments with their codes and its
// frames with what places them (Referenced Image, Plane Position), and, for a SEG we wrote, one
// uint8 label map per referenced source frame.
import { createRequire } from 'node:module';
import { declaredTransferSyntax } from '../imaging/dicom/part10-repair';
import { unpackFrames } from './bits';
import type { Dataset } from './write-part10';
import type { CodedConcept } from '../../shared/model/codes';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: { readFile(buffer: ArrayBuffer): { dict: Dataset; meta: Dataset } };
    DicomMetaDictionary: { naturalizeDataset(dict: Dataset): Dataset };
  };
};

export interface SegLabelMaps {
  sopInstanceUid: string;
  referencedSeriesUid: string;
  rows: number;
  columns: number;
  segments: { number: number; label: string; algorithmType: string; algorithmName: string; algorithmVersion: string }[];
  /** Label map per source frame, keyed by `sourceKey(sopInstanceUid, frameNumber)`. */
  maps: Map<string, Uint8Array>;
}

/** The key of a source frame: SOP Instance UID, and the 1-based frame number for multi-frame sources. */
export function sourceKey(sopInstanceUid: string, frameNumber: number | null): string {
  return frameNumber === null || frameNumber === 0 ? sopInstanceUid : `${sopInstanceUid}#${frameNumber}`;
}

export class SegReadError extends Error {}

const one = <T>(v: unknown): T | undefined => (Array.isArray(v) ? (v[0] as T) : (v as T | undefined));
const seq = (v: unknown): Dataset[] => (Array.isArray(v) ? (v as Dataset[]) : v && typeof v === 'object' ? [v as Dataset] : []);

/** A SEG segment as another tool wrote it (Segment Description Macro, PS3.3 C.8.20.4). */
export interface SegSegmentInfo {
  number: number;
  label: string;
  description: string;
  category: CodedConcept | null;
  type: CodedConcept | null;
  algorithmType: string;
  algorithmName: string;
  algorithmVersion: string;
}

/** One decoded SEG frame: which segment, where it lies, and its pixels (0/1, Rows × Columns). */
export interface SegFrame {
  /** 1-based frame number in the SEG. */
  index: number;
  segment: number;
  /** The source frame its Derivation Image Sequence names, or null when none (placed by position). */
  sourceKey: string | null;
  /** Plane Position (Patient), mm, when the frame has one. */
  position: [number, number, number] | null;
  mask: Uint8Array;
}

/** A SEG read whole: its segments, frames and what places them. */
export interface SegDocument {
  sopInstanceUid: string;
  referencedSeriesUid: string;
  studyInstanceUid: string;
  frameOfReferenceUid: string;
  contentCreatorName: string;
  rows: number;
  columns: number;
  segmentationType: 'BINARY' | 'FRACTIONAL';
  /** Maximum Fractional Value (0062,000E) of a FRACTIONAL SEG; null for BINARY. */
  maximumFractionalValue: number | null;
  /** Fractional pixels above the Maximum Fractional Value (not allowed; read as 1.0). */
  fractionalAboveMaximum: number;
  orientation: [number, number, number, number, number, number] | null;
  segments: SegSegmentInfo[];
  frames: SegFrame[];
}

/** Explicit and Implicit VR Little Endian: the SEG encodings read here. */
const SUPPORTED_SYNTAXES: readonly string[] = ['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'];

/**
 * Why readSegDocument refuses the transfer syntax the file meta declares, or null: read by the
 * element walker before dcmjs parses every functional group (4-15 ms a SEG, cold; issue 24's
 * import regression), so that a SEG in an encoding read nowhere is refused without that parse.
 */
export function refusedSegSyntax(bytes: Uint8Array): string | null {
  const declared = declaredTransferSyntax(bytes);
  return declared !== null && !SUPPORTED_SYNTAXES.includes(declared)
    ? `SEG transfer syntax ${declared} is not supported (only uncompressed)`
    : null;
}

/**
 * Decodes a SEG (PS3.3 A.51, C.8.20) into its segments and frames without placing them.
 * FRACTIONAL frames are thresholded by the standard's meaning of a fractional value: pixel /
 * Maximum Fractional Value is a probability or the occupied proportion of the pixel (C.8.20.2.3),
 * so a pixel belongs to the segment where that ratio is at least one half (value × 2 ≥ maximum,
 * value > 0). Throws SegReadError for what is not a SEG this reader can decode.
 */
export function readSegDocument(bytes: Uint8Array): SegDocument {
  const refused = refusedSegSyntax(bytes);
  if (refused) throw new SegReadError(refused);
  let ds: Dataset;
  let transferSyntax: string;
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const file = dcmjs.data.DicomMessage.readFile(buffer);
    ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.dict);
    transferSyntax = String(one(dcmjs.data.DicomMetaDictionary.naturalizeDataset(file.meta).TransferSyntaxUID) ?? '');
  } catch (e) {
    throw new SegReadError(`not a readable DICOM file: ${(e as Error).message}`);
  }
  if (ds.Modality !== 'SEG') throw new SegReadError(`not a segmentation (Modality ${String(ds.Modality)})`);
  if (!SUPPORTED_SYNTAXES.includes(transferSyntax))
    throw new SegReadError(`SEG transfer syntax ${transferSyntax} is not supported (only uncompressed)`);
  const rows = Number(ds.Rows);
  const columns = Number(ds.Columns);
  const count = Number(ds.NumberOfFrames ?? 1);
  const pixels = rows * columns;
  const type = String(ds.SegmentationType);
  const raw = one<ArrayBuffer>(ds.PixelData);
  if (!raw) throw new SegReadError('SEG without Pixel Data');
  const data = new Uint8Array(raw);
  let frames: Uint8Array[];
  let maximumFractionalValue: number | null = null;
  let fractionalAboveMaximum = 0;
  if (type === 'BINARY') frames = unpackFrames(data, count, pixels);
  else if (type === 'FRACTIONAL') {
    const max = Number(one(ds.MaximumFractionalValue));
    if (!Number.isInteger(max) || max < 1 || max > 255)
      throw new SegReadError(
        `a FRACTIONAL SEG needs a Maximum Fractional Value of 1…255 (it has ${String(one(ds.MaximumFractionalValue))})`,
      );
    maximumFractionalValue = max;
    if (data.length < count * pixels) throw new SegReadError('fractional SEG Pixel Data is shorter than its frames');
    frames = Array.from({ length: count }, (_, f) =>
      data.subarray(f * pixels, (f + 1) * pixels).map((v) => {
        if (v > max) fractionalAboveMaximum++;
        return v > 0 && v * 2 >= max ? 1 : 0;
      }),
    );
  } else throw new SegReadError(`Segmentation Type ${type} is not supported`);

  const shared = seq(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const perFrame = seq(ds.PerFrameFunctionalGroupsSequence);
  const orientationValues =
    seq(shared.PlaneOrientationSequence)[0]?.ImageOrientationPatient ??
    seq(perFrame[0]?.PlaneOrientationSequence)[0]?.ImageOrientationPatient;
  const orientation =
    Array.isArray(orientationValues) && orientationValues.length === 6
      ? (orientationValues.map(Number) as SegDocument['orientation'])
      : null;
  const segFrames: SegFrame[] = frames.map((mask, f) => {
    const groups = perFrame[f] ?? {};
    const source = seq(seq(groups.DerivationImageSequence ?? shared.DerivationImageSequence)[0]?.SourceImageSequence)[0];
    const frameNumber = one<number>(source?.ReferencedFrameNumber);
    const uid = source?.ReferencedSOPInstanceUID;
    const position = seq(groups.PlanePositionSequence ?? shared.PlanePositionSequence)[0]?.ImagePositionPatient;
    return {
      index: f + 1,
      segment: segmentOf(groups, shared),
      sourceKey: uid ? sourceKey(String(one(uid)), frameNumber === undefined ? null : Number(frameNumber)) : null,
      position: Array.isArray(position) && position.length === 3 ? (position.map(Number) as [number, number, number]) : null,
      mask,
    };
  });
  const referenced = seq(ds.ReferencedSeriesSequence)[0];
  const creator = one<unknown>(ds.ContentCreatorName);
  return {
    sopInstanceUid: String(ds.SOPInstanceUID),
    referencedSeriesUid: String(referenced?.SeriesInstanceUID ?? ''),
    studyInstanceUid: String(ds.StudyInstanceUID ?? ''),
    frameOfReferenceUid: String(ds.FrameOfReferenceUID ?? ''),
    contentCreatorName: personName(creator),
    rows,
    columns,
    segmentationType: type,
    maximumFractionalValue,
    fractionalAboveMaximum,
    orientation,
    segments: seq(ds.SegmentSequence).map((s, i) => {
      const algorithm = seq(s.SegmentationAlgorithmIdentificationSequence)[0];
      return {
        number: Number(s.SegmentNumber ?? i + 1),
        label: String(s.SegmentLabel ?? '').trim(),
        description: String(s.SegmentDescription ?? '').trim(),
        category: codeOf(seq(s.SegmentedPropertyCategoryCodeSequence)[0]),
        type: codeOf(seq(s.SegmentedPropertyTypeCodeSequence)[0]),
        algorithmType: String(s.SegmentAlgorithmType ?? ''),
        algorithmName: String(s.SegmentAlgorithmName ?? algorithm?.AlgorithmName ?? ''),
        algorithmVersion: String(algorithm?.AlgorithmVersion ?? ''),
      };
    }),
    frames: segFrames,
  };
}

function codeOf(item: Dataset | undefined): CodedConcept | null {
  if (!item) return null;
  const value = String(item.CodeValue ?? item.LongCodeValue ?? item.URNCodeValue ?? '').trim();
  const scheme = String(item.CodingSchemeDesignator ?? '').trim();
  if (!value || !scheme) return null;
  return { value, scheme, meaning: String(item.CodeMeaning ?? '').trim() };
}

/** A PN value as dcmjs gives it (string or {Alphabetic}) as its text. */
function personName(v: unknown): string {
  if (typeof v === 'string') return v;
  if (v && typeof v === 'object' && 'Alphabetic' in v) return String((v as { Alphabetic: unknown }).Alphabetic ?? '');
  return '';
}

/**
 * Decodes a SEG's frames and places each segment's pixels (value = Segment Number) in the label
 * map of the source frame its Derivation Image Sequence names. Where segments overlap, the
 * higher segment number wins (the import path, seg-labels.ts, reports overlaps instead). Throws
 * SegReadError for what is not a SEG we can place.
 */
export function readSeg(bytes: Uint8Array): SegLabelMaps {
  const doc = readSegDocument(bytes);
  const pixels = doc.rows * doc.columns;
  const maps = new Map<string, Uint8Array>();
  for (const frame of [...doc.frames].sort((a, b) => a.segment - b.segment)) {
    if (!frame.sourceKey) throw new SegReadError(`SEG frame ${frame.index} names no source image (Derivation Image Sequence)`);
    let map = maps.get(frame.sourceKey);
    if (!map) maps.set(frame.sourceKey, (map = new Uint8Array(pixels)));
    for (let p = 0; p < pixels; p++) if (frame.mask[p]) map[p] = frame.segment;
  }
  return {
    sopInstanceUid: doc.sopInstanceUid,
    referencedSeriesUid: doc.referencedSeriesUid,
    rows: doc.rows,
    columns: doc.columns,
    segments: doc.segments.map((s) => ({
      number: s.number,
      label: s.label,
      algorithmType: s.algorithmType,
      algorithmName: s.algorithmName,
      algorithmVersion: s.algorithmVersion,
    })),
    maps,
  };
}

function segmentOf(groups: Dataset | undefined, shared: Dataset): number {
  const item = seq(groups?.SegmentIdentificationSequence)[0] ?? seq(shared.SegmentIdentificationSequence)[0];
  const n = Number(one(item?.ReferencedSegmentNumber));
  if (!Number.isInteger(n) || n < 1 || n > 255)
    throw new SegReadError(`SEG frame without a usable Referenced Segment Number (${String(n)})`);
  return n;
}
