// The `review` service: the review queue (every in-domain prediction of the active model waits
// for a decision), the correction queue, final labels with their provenance, the frozen split,
// training exclusions, the audit log and per-version review figures. Label bytes never cross
// the contract here: accept copies prediction rows, submit copies the saved draft, in the backend.
import { z } from 'zod';
import { REVIEW_ACTIONS, REVIEW_STATES, type ReviewAction, type ReviewState } from '../review/state';
import type { Split } from '../review/split';

export const REVIEW_ORDERS = ['uncertainty', 'fifo', 'random'] as const;
export type ReviewOrder = (typeof REVIEW_ORDERS)[number];
export const REVIEW_QUEUES = ['review', 'correction'] as const;
export type ReviewQueue = (typeof REVIEW_QUEUES)[number];
export type LabelOrigin = 'accepted' | 'edited' | 'drawn' | 'imported';

export interface ReviewItem {
  seriesId: number;
  /** The task whose review this is: a series has one item per task that segments it. */
  taskId: number;
  studyId: number;
  state: ReviewState;
  /** The model version whose prediction is reviewed; null before it exists. */
  modelVersionId: number | null;
  /** Series score: mean binary entropy of its slices (0 = certain, 1 = a coin toss). */
  uncertainty: number | null;
  modality: string;
  description: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  imageCount: number;
  enteredAt: string;
  skippedAt: string | null;
  rejectReason: string;
  assignee: string;
  note: string;
  /** Why the active model is not meant for this series (outside-domain only). */
  domainReason: string;
  /**
   * Share of the series' slices whose input is unlike the images the model was trained on
   * (src/shared/model/input-statistics.ts; the series is when ≥ SERIES_UNLIKE_SHARE); null when
   * the model carries no input statistics or before a prediction.
   */
  unlikeShare: number | null;
}

export interface ReviewDecision {
  item: ReviewItem;
  /** The case to show next in the same queue (already known, so it can be drawn at once). */
  next: ReviewItem | null;
  /** Labels written by this decision (accept / submit). */
  labels: LabelProvenance[];
  /** An accept decided from the reader's saved draft (what the viewer showed), not the bare prediction. */
  fromDraft: boolean;
}

/** One image's final label, without its bytes. */
export interface LabelProvenance {
  labelId: number;
  /** The task whose label values the map holds. */
  taskId: number;
  imageId: number;
  origin: LabelOrigin;
  modelVersionId: number | null;
  author: string;
  /** Reviewer's time on the series, shared out over its slices. */
  seconds: number;
  /** Edited predictions: Dice(prediction, label) and pixels whose value changed; else null. */
  editDice: number | null;
  /** Edited predictions: Dice(prediction, label) of each label value present in either; else null. */
  editDiceByLabel: Record<number, number> | null;
  pixelsChanged: number | null;
  foregroundPixels: number;
  createdAt: string;
  excluded: boolean;
}

/**
 * The series' saved draft (the viewer's working label) against its current label: `none` (no
 * draft), `unsubmitted` (a draft, no current label), `matches`, or `differs` (what the viewer
 * shows is not what is stored, exported and trained on until it is submitted).
 */
export type DraftState = 'none' | 'unsubmitted' | 'matches' | 'differs';

export interface SeriesLabels {
  seriesId: number;
  taskId: number;
  /** The frozen split of the series' patient (or study); null before its first label. */
  split: Split | null;
  splitKey: string;
  labels: LabelProvenance[];
  draft: DraftState;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  seriesId: number | null;
  modelVersionId: number | null;
  /** The task a review decision was about; null for rows without one. */
  taskId: number | null;
  detail: unknown;
  /** What the audit view shows instead of internal ids: the series' patient, the series, the model version (null when none). */
  patientName: string | null;
  patientId: string | null;
  modality: string | null;
  seriesNumber: number | null;
  seriesDescription: string | null;
  modelName: string | null;
  modelVersion: string | null;
}

export interface VersionReviewMetrics {
  modelVersionId: number;
  /** Series decided from this version's predictions (accepted, submitted or rejected). */
  decisions: number;
  rejected: number;
  /** Current labels that started from this version's prediction. */
  labels: number;
  /** Share of those labels equal to the prediction (accepted unchanged); null without labels. */
  acceptedShare: number | null;
  /** Mean Dice(prediction, final label) over edited labels; null when none was edited. */
  meanEditDice: number | null;
  /** Median time from opening a series to its decision (seconds). */
  medianReviewSeconds: number | null;
}

const seriesId = z.number().int().positive();
/** The task whose review it is; left out: the starter task (1), as every caller before tasks. */
const taskId = z.number().int().positive().default(1);
const text = (max: number) => z.string().trim().max(max);

export const reviewMethods = {
  /** The ordered queue. `order` defaults to Settings → review order (review queue only). */
  queue: z
    .object({
      queue: z.enum(REVIEW_QUEUES),
      taskId,
      order: z.enum(REVIEW_ORDERS).optional(),
      limit: z.number().int().min(1).max(1000).default(200),
    })
    .strict(),
  /** One series' item; `open` starts its review clock. */
  item: z.object({ seriesId, taskId, open: z.boolean().default(false) }).strict(),
  /** The item after (or before) a series in its queue's order; null at the end. */
  neighbor: z.object({ seriesId, taskId, direction: z.enum(['next', 'prev']), queue: z.enum(REVIEW_QUEUES) }).strict(),
  /** Review states of series (the worklist column); series not in the loop yet are left out. */
  states: z.object({ seriesIds: z.array(seriesId).max(2000), taskId }).strict(),
  /** The prediction becomes the label; a series with a drawn draft is decided from the draft, as submit. */
  accept: z.object({ seriesId, taskId }).strict(),
  /** The saved draft (viewer.saveDraft) becomes the label of every image of the series. */
  submit: z.object({ seriesId, taskId }).strict(),
  reject: z.object({ seriesId, taskId, reason: text(500).default('') }).strict(),
  skip: z.object({ seriesId, taskId }).strict(),
  flag: z.object({ seriesId, taskId, note: text(1000).default('') }).strict(),
  assign: z.object({ seriesId, taskId, assignee: text(128), note: text(1000) }).strict(),
  /** Undoes a decision: the labels it wrote are superseded and the series waits again. */
  reopen: z.object({ seriesId, taskId }).strict(),
  /** Segments an outside-domain series; `confirmed` records that the user agreed. */
  segmentOnRequest: z.object({ seriesId, taskId, confirmed: z.literal(true) }).strict(),
  labels: z.object({ seriesId, taskId }).strict(),
  /** Excludes images from training (they stay labelled); `excluded: false` includes them again. */
  setExcluded: z
    .object({
      imageIds: z.array(z.number().int().positive()).min(1).max(10_000),
      excluded: z.boolean(),
      reason: text(500).default(''),
    })
    .strict(),
  audit: z
    .object({
      action: z.string().max(64).optional(),
      seriesId: seriesId.optional(),
      /** Entries about one task's decisions. */
      taskId: z.number().int().positive().optional(),
      actor: z.string().max(128).optional(),
      /** Entries with an id below this (paging back). */
      beforeId: z.number().int().positive().optional(),
      limit: z.number().int().min(1).max(500).default(100),
    })
    .strict()
    .prefault({}),
  /** Per model version; `taskId` keeps one task's versions. */
  metrics: z.object({ taskId: z.number().int().positive().optional() }).strict().optional(),
} as const;

export interface ReviewService {
  queue(input: z.input<typeof reviewMethods.queue>): Promise<ReviewItem[]>;
  item(input: z.input<typeof reviewMethods.item>): Promise<ReviewItem>;
  neighbor(input: z.input<typeof reviewMethods.neighbor>): Promise<ReviewItem | null>;
  states(input: z.input<typeof reviewMethods.states>): Promise<Record<number, ReviewState>>;
  accept(input: z.input<typeof reviewMethods.accept>): Promise<ReviewDecision>;
  submit(input: z.input<typeof reviewMethods.submit>): Promise<ReviewDecision>;
  reject(input: z.input<typeof reviewMethods.reject>): Promise<ReviewDecision>;
  skip(input: z.input<typeof reviewMethods.skip>): Promise<ReviewDecision>;
  flag(input: z.input<typeof reviewMethods.flag>): Promise<ReviewDecision>;
  assign(input: z.input<typeof reviewMethods.assign>): Promise<ReviewDecision>;
  reopen(input: z.input<typeof reviewMethods.reopen>): Promise<ReviewDecision>;
  segmentOnRequest(input: z.input<typeof reviewMethods.segmentOnRequest>): Promise<{ item: ReviewItem; jobId: number }>;
  labels(input: z.input<typeof reviewMethods.labels>): Promise<SeriesLabels>;
  setExcluded(input: z.input<typeof reviewMethods.setExcluded>): Promise<{ changed: number }>;
  audit(input?: z.input<typeof reviewMethods.audit>): Promise<AuditEntry[]>;
  metrics(input?: z.input<typeof reviewMethods.metrics>): Promise<VersionReviewMetrics[]>;
}

export { REVIEW_ACTIONS, REVIEW_STATES };
export type { ReviewAction, ReviewState };
