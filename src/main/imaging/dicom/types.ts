// The typed records the DICOM reader hands to the rest of the backend.
import type { Palette } from './palette';
import type { PixelArray } from '../../../shared/imaging/pixels';

export interface PatientInfo {
  name: string;
  id: string;
  /** DICOM DA as stored (YYYYMMDD), '' when absent. */
  birthDate: string;
  sex: string;
}

export interface StudyInfo {
  date: string;
  time: string;
  description: string;
  accessionNumber: string;
}

export interface SeriesInfo {
  number: number | null;
  description: string;
  modality: string;
}

/** What every DICOM object has, image or not. */
export interface DicomCommonHeader {
  sopClassUid: string;
  sopInstanceUid: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  patient: PatientInfo;
  study: StudyInfo;
  series: SeriesInfo;
  instanceNumber: number | null;
  /**
   * What tells apart several images of one series at one position: Temporal Position Identifier
   * (0020,0100), Echo Numbers (0018,0086), Acquisition Number (0020,0012); null when absent.
   */
  stack: [number | null, number | null, number | null];
  transferSyntaxUid: string;
}

export type Vec3 = [number, number, number];

export interface ImagePixelModule {
  rows: number;
  columns: number;
  numberOfFrames: number;
  bitsAllocated: number;
  bitsStored: number;
  highBit: number;
  /** 0 unsigned, 1 two's complement. */
  pixelRepresentation: 0 | 1;
  samplesPerPixel: number;
  photometricInterpretation: string;
  /** 0 interleaved (R1G1B1R2…), 1 planar (RRR…GGG…BBB…); meaningful only with 3 samples. */
  planarConfiguration: 0 | 1;
  /** Which element holds the pixels: integers, 32-bit or 64-bit floats. */
  pixelDataKind: 'integer' | 'float32' | 'float64';
}

export interface DicomImageHeader extends DicomCommonHeader, ImagePixelModule {
  /** From the Modality LUT module, or the shared functional groups of an enhanced object. */
  rescaleSlope: number;
  rescaleIntercept: number;
  rescaleType: string;
  /** True when a Modality LUT Sequence replaces slope/intercept; we do not apply it. */
  hasModalityLutSequence: boolean;
  /** PALETTE COLOR: its lookup tables, or why they cannot be used; null for other images. */
  palette: Palette | string | null;
  /** First values of multi-valued Window Center / Width. */
  windowCenter: number | null;
  windowWidth: number | null;
  /** Row spacing, column spacing (mm). */
  pixelSpacing: [number, number] | null;
  /** Slice Thickness (0018,0050) in mm, nominal as acquired (not the spacing between slices); null when absent or not positive. */
  sliceThickness: number | null;
  imagePositionPatient: Vec3 | null;
  imageOrientationPatient: [number, number, number, number, number, number] | null;
  /** Per-frame positions of an enhanced multi-frame object, else null. */
  framePositions: Vec3[] | null;
  /**
   * Enhanced multi-frame objects: each frame's own values from its Per-frame Functional Groups
   * item (PS3.3 C.7.6.16), falling back to the Shared Functional Groups, then the top level.
   */
  perFrame: PerFrameValues[] | null;
}

export type NonImageCategory =
  | 'dicomdir'
  | 'structured-report'
  | 'key-object-selection'
  | 'rt-plan'
  | 'rt-structure-set'
  | 'rt-treatment-record'
  | 'waveform'
  | 'presentation-state'
  | 'encapsulated-document'
  | 'registration'
  | 'raw-data'
  | 'other';

export interface SegmentInfo {
  number: number;
  label: string;
}

export type ParsedDicom =
  | { kind: 'image'; header: DicomImageHeader; repairs: string[] }
  | {
      kind: 'segmentation';
      header: DicomImageHeader;
      /** Series the segmentation was drawn on (Referenced Series Sequence). */
      referencedSeriesUids: string[];
      /** SOP instances named in Referenced Series / Source Image sequences. */
      referencedInstanceUids: string[];
      /** Frame of Reference UID: what places frames that name no source image ('' when absent). */
      frameOfReferenceUid: string;
      segments: SegmentInfo[];
      repairs: string[];
    }
  | {
      kind: 'non-image';
      header: DicomCommonHeader;
      category: NonImageCategory;
      /** e.g. "RT Plan Storage (1.2.840.10008.5.1.4.1.1.481.5) has no pixel data". */
      reason: string;
      repairs: string[];
    };

export type { PixelArray };

export interface DecodedFrame {
  /** rows × columns × samples values; colour is interleaved RGB. */
  pixels: PixelArray;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /**
   * Photometric interpretation of `pixels`, which may differ from the header's: YBR data is
   * converted to RGB. MONOCHROME1 stays MONOCHROME1 (higher = darker) unless inverted by the
   * caller with `invertMonochrome1`.
   */
  photometric: string;
  /** Significant bits of each value (BitsStored, or the codec's precision). */
  bitsStored: number;
  signed: boolean;
}

export interface DecodedImage {
  frames: DecodedFrame[];
  /** Milliseconds spent decoding, for the import log. */
  decodeMs: number;
  /** Which decoder produced the frames: "native", "rle", "libjpeg-turbo (wasm)" … */
  decoder: string;
}

export interface PerFrameValues {
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number | null;
  windowWidth: number | null;
  pixelSpacing: [number, number] | null;
  sliceThickness: number | null;
  imageOrientationPatient: [number, number, number, number, number, number] | null;
}
