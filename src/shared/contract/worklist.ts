// The `worklist` service: patients, studies and series the reader works through.
import { z } from 'zod';
import { REVIEW_STATES, type ReviewState } from '../review/state';

export const WORKLIST_SORTS = [
  'studyDate',
  'patientName',
  'importedAt',
  'modality',
  // Every column of the worklist sorts (issue 15): ID, description, counts, status, uncertainty.
  'patientId',
  'description',
  'seriesCount',
  'imageCount',
  'status',
  'uncertainty',
] as const;
export const SERIES_STATUSES = ['new', 'segmenting', 'segmented', 'in-review', 'reviewed'] as const;
export type SeriesStatus = (typeof SERIES_STATUSES)[number];

export const worklistQuerySchema = z
  .object({
    page: z.number().int().min(0).default(0),
    pageSize: z.number().int().min(1).max(500).default(50),
    sort: z.enum(WORKLIST_SORTS).default('importedAt'),
    direction: z.enum(['asc', 'desc']).default('desc'),
    /** Every word (split on spaces, commas, carets) is in the patient name or ID (case-insensitive). */
    patient: z.string().max(200).optional(),
    modality: z.string().max(16).optional(),
    /** DICOM dates YYYYMMDD, inclusive. */
    dateFrom: z
      .string()
      .regex(/^\d{8}$/)
      .optional(),
    dateTo: z
      .string()
      .regex(/^\d{8}$/)
      .optional(),
    status: z.enum(SERIES_STATUSES).optional(),
    /** Studies with at least one series in this review state (src/shared/review/state.ts). */
    reviewState: z.enum(REVIEW_STATES).optional(),
  })
  .strict();
export type WorklistQuery = z.input<typeof worklistQuerySchema>;

export interface WorklistStudy {
  studyId: number;
  studyUid: string;
  patientName: string;
  patientId: string;
  birthDate: string;
  sex: string;
  studyDate: string;
  description: string;
  accession: string;
  modalities: string;
  seriesCount: number;
  imageCount: number;
  importedAt: string;
  /** Series per status: what still needs segmenting or review. */
  statusCounts: Partial<Record<SeriesStatus, number>>;
  /**
   * Series by where each stands, one word per series: its review state (to review, in correction,
   * labelled, outside domain) when it has one, else its status (new, segmenting…). What the row shows.
   */
  stateCounts: Partial<Record<SeriesStatus | ReviewState, number>>;
  /** The study's first series, whose thumbnail the row shows; null for a study with none. */
  thumbnailSeriesId: number | null;
  /** The highest series uncertainty (mean entropy of the active model's slices); null before inference. */
  uncertainty: number | null;
  /** Series the reader edited: a working draft, or a current label edited or drawn (not one accepted unchanged). */
  editedSeries: number;
  /** Series whose images are unlike the active model's training images (src/shared/model/input-statistics.ts). */
  unlikeSeries: number;
}

export interface WorklistPage {
  total: number;
  page: number;
  pageSize: number;
  rows: WorklistStudy[];
}

export interface SeriesSummary {
  seriesId: number;
  seriesUid: string;
  modality: string;
  seriesNumber: number | null;
  description: string;
  sourceFormat: string;
  rows: number;
  columns: number;
  imageCount: number;
  status: SeriesStatus;
  labelSets: number;
  /** Series score: mean binary entropy of the active model's slices (0 = certain); null before inference. */
  uncertainty: number | null;
  /** The reader edited the series: a working draft, or a current label edited or drawn (not one accepted unchanged). */
  edited: boolean;
  /** Share of the slices whose input is unlike the active model's training images; null before inference or without statistics. */
  unlikeShare: number | null;
  /** Where the series stands in the review loop (src/shared/review/state.ts), the least advanced over the tasks reviewing it; null before it enters it. */
  reviewState: ReviewState | null;
}

export const worklistMethods = {
  list: worklistQuerySchema.prefault({}),
  series: z.object({ studyId: z.number().int().positive() }).strict(),
  /** A PNG data URL of the series' middle image, or null when none could be made. */
  thumbnail: z.object({ seriesId: z.number().int().positive() }).strict(),
} as const;

export interface WorklistService {
  list(query?: z.input<typeof worklistMethods.list>): Promise<WorklistPage>;
  series(input: z.input<typeof worklistMethods.series>): Promise<SeriesSummary[]>;
  thumbnail(input: z.input<typeof worklistMethods.thumbnail>): Promise<string | null>;
}
