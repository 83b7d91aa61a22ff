// Reads a binary or fractional DICOM SEG (PS3.3 C.8.20) back into one uint8 label map per
// referenced source frame: the way a SEG found on import, or one we wrote, becomes labels.
import { createRequire } from 'node:module';
import { unpackFrames } from './bits';
import type { Dataset } from './write-part10';

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

/**
 * Decodes a SEG's frames and places each segment's pixels (value = Segment Number) in the label
 * map of the source frame its Derivation Image Sequence names. Where binary segments overlap, the
 * higher segment number wins. Throws SegReadError for what is not a SEG we can place.
 */
export function readSeg(bytes: Uint8Array): SegLabelMaps {
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
  if (!['1.2.840.10008.1.2.1', '1.2.840.10008.1.2'].includes(transferSyntax))
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
  if (type === 'BINARY') frames = unpackFrames(data, count, pixels);
  else if (type === 'FRACTIONAL') {
    const max = Number(ds.MaximumFractionalValue ?? 255);
    if (data.length < count * pixels) throw new SegReadError('fractional SEG Pixel Data is shorter than its frames');
    // A fractional frame is a probability or occupancy; half of the maximum is the boundary.
    frames = Array.from({ length: count }, (_, f) =>
      data.subarray(f * pixels, (f + 1) * pixels).map((v) => (v * 2 >= max && v > 0 ? 1 : 0)),
    );
  } else throw new SegReadError(`Segmentation Type ${type} is not supported`);

  const shared = seq(ds.SharedFunctionalGroupsSequence)[0] ?? {};
  const perFrame = seq(ds.PerFrameFunctionalGroupsSequence);
  const maps = new Map<string, Uint8Array>();
  const order = frames.map((_, f) => ({ f, segment: segmentOf(perFrame[f], shared) })).sort((a, b) => a.segment - b.segment);
  for (const { f, segment } of order) {
    const groups = perFrame[f] ?? {};
    const source = seq(seq(groups.DerivationImageSequence ?? shared.DerivationImageSequence)[0]?.SourceImageSequence)[0];
    if (!source) throw new SegReadError(`SEG frame ${f + 1} names no source image (Derivation Image Sequence)`);
    const frameNumber = one<number>(source.ReferencedFrameNumber);
    const key = sourceKey(String(source.ReferencedSOPInstanceUID), frameNumber === undefined ? null : Number(frameNumber));
    let map = maps.get(key);
    if (!map) maps.set(key, (map = new Uint8Array(pixels)));
    const frame = frames[f]!;
    for (let p = 0; p < pixels; p++) if (frame[p]) map[p] = segment;
  }
  const referenced = seq(ds.ReferencedSeriesSequence)[0];
  return {
    sopInstanceUid: String(ds.SOPInstanceUID),
    referencedSeriesUid: String(referenced?.SeriesInstanceUID ?? ''),
    rows,
    columns,
    segments: seq(ds.SegmentSequence).map((s, i) => {
      const algorithm = seq(s.SegmentationAlgorithmIdentificationSequence)[0];
      return {
        number: Number(s.SegmentNumber ?? i + 1),
        label: String(s.SegmentLabel ?? ''),
        algorithmType: String(s.SegmentAlgorithmType ?? ''),
        algorithmName: String(s.SegmentAlgorithmName ?? algorithm?.AlgorithmName ?? ''),
        algorithmVersion: String(algorithm?.AlgorithmVersion ?? ''),
      };
    }),
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
