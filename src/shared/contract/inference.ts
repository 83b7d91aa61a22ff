// The `inference` service: LGMSNet on the best available execution provider, as durable jobs.
import { z } from 'zod';
import { bytes } from './bytes';
import type { ExecutionProviderName } from './system';

export interface InferenceStatus {
  state: 'starting' | 'ready' | 'unavailable';
  provider: ExecutionProviderName | null;
  /** Providers tried before the one in use, and why each failed. */
  failures: { provider: ExecutionProviderName; reason: string }[];
  model: { id: number; modelId: string; name: string; version: string } | null;
  message?: string;
}

export const predictionViewSchema = z.object({
  imageId: z.number().int().positive(),
  modelVersionId: z.number().int().positive(),
  rows: z.number().int().positive(),
  columns: z.number().int().positive(),
  /** uint8 label map, run-length encoded (src/shared/imaging/rle.ts). */
  mask: bytes(16 * 1024 * 1024),
  /**
   * Per-pixel entropy 0..255, null without test-time augmentation: an RLE at the slice's size, or
   * (softmax models) on the model's grid; `decodeHeatMap` (imaging/heat-map.ts) reads both.
   */
  uncertainty: bytes(16 * 1024 * 1024).nullable(),
  foregroundPixels: z.number().int().min(0),
  entropy: z.number(),
  ttaDice: z.number().nullable(),
});
export type PredictionView = z.infer<typeof predictionViewSchema>;

export const inferenceMethods = {
  status: z.undefined(),
  segmentSeries: z
    .object({
      seriesId: z.number().int().positive(),
      /** Overrides the setting for this job. */
      ttaFlips: z.union([z.literal(0), z.literal(2), z.literal(4)]).optional(),
      /** The task whose active version segments; left out: the starter task (1). */
      taskId: z.number().int().positive().optional(),
    })
    .strict(),
  /** Every series not yet segmented by the task's active version (default: the starter task). */
  segmentPending: z.object({ taskId: z.number().int().positive().optional() }).strict().optional(),
  /**
   * After a promote or a roll back: every series still waiting in the review queue with a
   * prediction of another version is segmented again by the active one (its review item then
   * shows the new prediction). `dryRun` only lists them.
   */
  segmentReviewQueue: z.object({ dryRun: z.boolean().optional(), taskId: z.number().int().positive().optional() }).strict(),
  /** A stored prediction: of `modelVersionId`, else of the task's active version (default: the starter task). */
  prediction: z
    .object({
      imageId: z.number().int().positive(),
      modelVersionId: z.number().int().positive().optional(),
      taskId: z.number().int().positive().optional(),
    })
    .strict(),
} as const;

export interface InferenceService {
  status(): Promise<InferenceStatus>;
  segmentSeries(input: z.input<typeof inferenceMethods.segmentSeries>): Promise<{ jobId: number }>;
  segmentPending(input?: z.input<typeof inferenceMethods.segmentPending>): Promise<{ jobIds: number[] }>;
  segmentReviewQueue(
    input: z.input<typeof inferenceMethods.segmentReviewQueue>,
  ): Promise<{ seriesIds: number[]; jobIds: number[] }>;
  prediction(input: z.input<typeof inferenceMethods.prediction>): Promise<PredictionView | null>;
}
