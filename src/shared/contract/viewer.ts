// The `viewer` service: what the slice viewer shows (series overlay text, ordered images with
// their geometry, decoded pixels) and the working label maps saved as a draft while the reader
// edits, with their undo history, so a closed window or a crash loses at most a second of work.
import { z } from 'zod';
import type { SerializedHistory } from '../imaging/history';
import { bytes } from './bytes';

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
  /** Slice Thickness (0018,0050) in mm as the DICOM header states it; null when absent (NIfTI, PNG). */
  sliceThickness: number | null;
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

const id = z.number().int().positive();
/** An RLE label map or patch (src/shared/imaging/rle.ts): at most the 8 MiB a 2048² uint8 map could need, twice. */
const rle = bytes(16 * 1024 * 1024);

/**
 * One decoded frame, as bytes: `data` holds the stored values as a little-endian typed array of
 * `dtype` (colour interleaved RGB). 1 GiB bounds the largest frame a reader accepts.
 */
export const viewerFrameSchema = z.object({
  imageId: id,
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  samplesPerPixel: z.number().int().positive(),
  /** Of the values sent: YBR is converted to RGB; MONOCHROME1 stays (display inverts it). */
  photometric: z.string(),
  dtype: z.enum(PIXEL_DTYPES),
  data: bytes(1024 * 1024 * 1024),
  slope: z.number(),
  intercept: z.number(),
  /** Range of the stored values (for lookup tables). */
  min: z.number(),
  max: z.number(),
});
export type ViewerFrame = z.infer<typeof viewerFrameSchema>;

/** Most frames one `viewer.frames` call carries: 16 × a 512×512 int16 slice is 8 MiB. */
export const FRAMES_PER_CALL = 16;

/** Several frames in one answer; a frame that could not be read is listed with its reason instead. */
export const viewerFrameBatchSchema = z.object({
  frames: z.array(viewerFrameSchema),
  failed: z.array(z.object({ imageId: id, message: z.string() }).strict()),
});
export type ViewerFrameBatch = z.infer<typeof viewerFrameBatchSchema>;

/** One slice's working label map: uint8, RLE (src/shared/imaging/rle.ts). */
export const draftSliceSchema = z.object({ imageId: id, labels: rle }).strict();
export type DraftSlice = z.infer<typeof draftSliceSchema>;

export const serializedHistorySchema = z
  .object({
    limit: z.number().int().min(1).max(1000),
    cursor: z.number().int().min(0),
    entries: z
      .array(
        z
          .object({ label: z.string().max(100), patches: z.array(z.object({ imageId: id, xor: rle }).strict()).max(10_000) })
          .strict(),
      )
      .max(1000),
  })
  .strict();

export const draftViewSchema = z.object({
  seriesId: id,
  /** The task whose labels the draft paints (one draft per series and task). */
  taskId: id,
  /** Increases with every save; a save must name the revision it builds on. */
  revision: z.number().int().min(0),
  /** Only slices with at least one labelled pixel. */
  slices: z.array(draftSliceSchema),
  history: serializedHistorySchema.nullable(),
  updatedAt: z.string(),
  /**
   * Set when there is no draft and the view is the task's stored label (`viewer.draft` with
   * `storedLabel`): who stored it, how, and when (the latest of its slice labels). Absent or null
   * on a saved draft.
   */
  storedLabel: z
    .object({
      authors: z.array(z.string()),
      origins: z.array(z.enum(['accepted', 'edited', 'drawn', 'imported'])),
      createdAt: z.string(),
    })
    .strict()
    .nullable()
    .optional(),
});
export interface DraftView extends z.infer<typeof draftViewSchema> {
  history: SerializedHistory | null;
}

export const viewerMethods = {
  series: z.object({ seriesId: id }).strict(),
  frame: z.object({ imageId: id }).strict(),
  /**
   * Up to FRAMES_PER_CALL frames in one round trip, in the order asked: a series loads with a
   * fraction of the calls (each HTTP request costs the headless page several milliseconds).
   */
  frames: z.object({ imageIds: z.array(id).min(1).max(FRAMES_PER_CALL) }).strict(),
  /**
   * `taskId`: the task whose draft (one per series and task); left out, the starter task (1).
   * `storedLabel`: with no draft, answer the task's current stored label instead (revision 0, no
   * history, `storedLabel` set), so the viewer shows what is stored; nothing is written.
   */
  draft: z.object({ seriesId: id, taskId: id.default(1), storedLabel: z.boolean().default(false) }).strict(),
  /**
   * Saves the slices that changed since the last save (an all-zero map removes the slice) and
   * the whole undo history, in one transaction. Refused with `conflict` when `baseRevision` is
   * not the stored revision (another window saved meanwhile).
   */
  saveDraft: z
    .object({
      seriesId: id,
      taskId: id.default(1),
      baseRevision: z.number().int().min(0),
      slices: z.array(draftSliceSchema).max(10_000),
      history: serializedHistorySchema.nullable(),
    })
    .strict(),
  discardDraft: z.object({ seriesId: id, taskId: id.default(1) }).strict(),
} as const;

export interface ViewerService {
  series(input: z.input<typeof viewerMethods.series>): Promise<ViewerSeries>;
  frame(input: z.input<typeof viewerMethods.frame>): Promise<ViewerFrame>;
  frames(input: z.input<typeof viewerMethods.frames>): Promise<ViewerFrameBatch>;
  /** The saved draft; else, asked for, the stored label; else null. */
  draft(input: z.input<typeof viewerMethods.draft>): Promise<DraftView | null>;
  saveDraft(input: z.input<typeof viewerMethods.saveDraft>): Promise<{ revision: number; updatedAt: string }>;
  discardDraft(input: z.input<typeof viewerMethods.discardDraft>): Promise<{ discarded: boolean }>;
}
