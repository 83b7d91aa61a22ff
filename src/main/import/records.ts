// What reading one input file yields for the indexer: the series it belongs to and one record
// per 2D frame. Pixel data is not decoded here; it is read again from the store when needed.
import type { Vec3 } from '../imaging/dicom/types';

export type SourceFormat = 'dicom' | 'nifti' | 'nrrd' | 'metaimage' | 'png' | 'jpeg';

export interface SeriesRecord {
  patientKey: string;
  patient: { id: string; name: string; birthDate: string; sex: string };
  studyUid: string;
  study: { date: string; time: string; description: string; accession: string };
  seriesUid: string;
  series: { modality: string; number: number | null; description: string };
  format: SourceFormat;
}

export interface FrameRecord {
  frameIndex: number;
  sopInstanceUid: string | null;
  instanceNumber: number | null;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  pixelSpacing: [number, number] | null;
  /** Slice Thickness (0018,0050) in mm (DICOM only; null when absent or not positive). */
  sliceThickness: number | null;
  position: Vec3 | null;
  orientation: [number, number, number, number, number, number] | null;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number | null;
  windowWidth: number | null;
  transferSyntax: string;
  /** Temporal position, echo and acquisition (DICOM only): orders several images at one position. */
  stack?: [number | null, number | null, number | null];
}

export type ReadOutcome =
  /** `notes`: what the reader repaired, assumed or left out, for the import report. */
  | {
      status: 'image';
      series: SeriesRecord;
      frames: FrameRecord[];
      notes?: string[];
      /** Further series in the same file: a 4D volume's later time points, one series each. */
      more?: { series: SeriesRecord; frames: FrameRecord[] }[];
    }
  | { status: 'label-set'; sopInstanceUid: string; referencedSeriesUid: string; segments: { number: number; label: string }[] }
  | { status: 'skipped'; reason: string }
  /** `reason` from the closed set in reasons.ts; `detail` (a reader's own message) goes to the import log. */
  | { status: 'failed'; reason: string; detail?: string };
