// The `viewer` service: what the slice viewer shows (series overlay text, ordered images with
// their geometry, decoded pixels) and the working label maps saved as a draft while the reader
// edits, with their undo history, so a closed window or a crash loses at most a second of work.
import { z } from 'zod';
import type { SerializedHistory } from '../imaging/history';

export const PIXEL_DTYPES = ['uint8', 'int8', 'uint16', 'int16', 'uint32', 'int32', 'float32', 'float64'] as const;
export type PixelDtype = (typeof PIXEL_DTYPES)[number];

export interface ViewerImage {
  imageId: number;
  /** Position in the series' display order, from 0. */
  index: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  /** Row spacing, column spacing (mm); null when unknown (aspect 1:1 is assumed). */
  pixelSpacing: [number, number] | null;
  position: [number, number, number] | null;
  orientation: [number, number, number, number, number, number] | null;
  instanceNumber: number | null;
  windowCenter: number | null;
  windowWidth: number | null;
}

export interface ViewerSeries {
  seriesId: number;
  studyId: number;
  seriesUid: string;
  modality: string;
  seriesNumber: number | null;
  description: string;
  sourceFormat: string;
  patient: { name: string; id: string; birthDate: string; sex: string };
  study: { date: string; time: string; description: string; accession: string };
  images: ViewerImage[];
}

export interface ViewerFrame {
  imageId: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  /** Of the values sent: YBR is converted to RGB; MONOCHROME1 stays (display inverts it). */
  photometric: string;
  dtype: PixelDtype;
  /** The stored values as a little-endian typed array, base64; colour is interleaved RGB. */
  data: string;
  slope: number;
  intercept: number;
  /** Range of the stored values (for lookup tables). */
  min: number;
  max: number;
}

/** One slice's working label map: uint8, RLE (src/shared/imaging/rle.ts), base64. */
export interface DraftSlice {
  imageId: number;
  labels: string;
}

export interface DraftView {
  seriesId: number;
  /** Increases with every save; a save must name the revision it builds on. */
  revision: number;
  /** Only slices with at least one labelled pixel. */
  slices: DraftSlice[];
  history: SerializedHistory | null;
  updatedAt: string;
}

const id = z.number().int().positive();
const base64 = z.string().max(32 * 1024 * 1024).regex(/^[A-Za-z0-9+/]*={0,2}$/);

export const serializedHistorySchema = z
  .object({
    limit: z.number().int().min(1).max(1000),
    cursor: z.number().int().min(0),
    entries: z
      .array(z.object({ label: z.string().max(100), patches: z.array(z.object({ imageId: id, xor: base64 }).strict()).max(10_000) }).strict())
      .max(1000),
  })
  .strict();

export const viewerMethods = {
  series: z.object({ seriesId: id }).strict(),
  frame: z.object({ imageId: id }).strict(),
  draft: z.object({ seriesId: id }).strict(),
  /**
   * Saves the slices that changed since the last save (an all-zero map removes the slice) and
   * the whole undo history, in one transaction. Refused with `conflict` when `baseRevision` is
   * not the stored revision (another window saved meanwhile).
   */
  saveDraft: z
    .object({
      seriesId: id,
      baseRevision: z.number().int().min(0),
      slices: z.array(z.object({ imageId: id, labels: base64 }).strict()).max(10_000),
      history: serializedHistorySchema.nullable(),
    })
    .strict(),
  discardDraft: z.object({ seriesId: id }).strict(),
} as const;

export interface ViewerService {
  series(input: z.input<typeof viewerMethods.series>): Promise<ViewerSeries>;
  frame(input: z.input<typeof viewerMethods.frame>): Promise<ViewerFrame>;
  /** The saved draft, or null when the series has none. */
  draft(input: z.input<typeof viewerMethods.draft>): Promise<DraftView | null>;
  saveDraft(input: z.input<typeof viewerMethods.saveDraft>): Promise<{ revision: number; updatedAt: string }>;
  discardDraft(input: z.input<typeof viewerMethods.discardDraft>): Promise<{ discarded: boolean }>;
}
