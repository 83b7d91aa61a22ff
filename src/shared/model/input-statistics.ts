// Whether an image looks like the ones a model was trained on, judged from the model's input
// alone, not from its output: a softmax can be confidently wrong far from its training data (the
// breast-ultrasound starter outlined CT_small's spinal canal at uncertainty 0.004, issue 21).
// The signal: the intensity histogram of the normalised input (after the model's own
// pre-processing, inside the letterbox; 16 equal bins over [0, 1]) against the range each bin
// takes on the images of the model's domain, stored with the version (model.json
// `inputStatistics`, written for the starter by scripts/input-statistics.ts). Measured in
// docs/benchmarks.md ("loop-b"): a per-bin range flags 22 of 23 public CT/MR series and none of
// 40 held-out phantom series of either scanner domain; a single divergence from the mean
// histogram (Jensen–Shannon, chi-square) could not separate CT_small from the shifted scanner.
import { z } from 'zod';
import type { Letterbox } from '../imaging/preprocess';

/** Equal-width bins over the normalised input's [0, 1]. */
export const INPUT_HISTOGRAM_BINS = 16;

const bins = z.array(z.number().min(0).max(1)).length(INPUT_HISTOGRAM_BINS);

/**
 * model.json `inputStatistics`. A version without it uses its nearest ancestor's (fine-tuning
 * changes the weights, not the input pipeline or what the model is for).
 */
export const inputStatisticsSchema = z
  .object({
    feature: z.literal('input-histogram-16'),
    /** Mean over the model's training images of each image's histogram (fractions of the letterboxed pixels). */
    mean: bins,
    /** Per bin, the accepted range of the fraction: a slice with any bin outside is unlike the training images. */
    low: bins,
    high: bins,
    /** Images the ranges were computed from. */
    n: z.number().int().positive(),
    description: z.string(),
  })
  .passthrough()
  .refine((s) => s.low.every((l, i) => l <= s.high[i]!), 'low must not exceed high in any bin');
export type InputStatistics = z.infer<typeof inputStatisticsSchema>;

/**
 * Histogram (fractions summing to 1) of one plane of a model input (C×H×W float32, values in
 * [0, 1]) at `offset`, counting only the letterboxed pixels, not the zero padding.
 */
export function inputHistogram(input: Float32Array, offset: number, box: Letterbox): Float64Array {
  const h = new Float64Array(INPUT_HISTOGRAM_BINS);
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = offset + (y + box.offsetY) * box.width + box.offsetX;
    for (let x = 0; x < box.scaledWidth; x++) {
      const v = input[row + x]!;
      h[v >= 1 ? INPUT_HISTOGRAM_BINS - 1 : v <= 0 ? 0 : Math.floor(v * INPUT_HISTOGRAM_BINS)]!++;
    }
  }
  const n = box.scaledWidth * box.scaledHeight;
  for (let b = 0; b < INPUT_HISTOGRAM_BINS; b++) h[b]! /= n;
  return h;
}

/**
 * How far a slice's histogram lies outside the model's per-bin ranges: the largest excess over
 * the bins, as a fraction of the slice's pixels (0 = every bin within its range). Unlike the
 * training images when above 0.
 */
export function inputDistance(histogram: ArrayLike<number>, stats: Pick<InputStatistics, 'low' | 'high'>): number {
  let worst = 0;
  for (let b = 0; b < INPUT_HISTOGRAM_BINS; b++) {
    const v = histogram[b]!;
    worst = Math.max(worst, stats.low[b]! - v, v - stats.high[b]!);
  }
  return worst;
}

/** A series is unlike the training images when at least this share of its slices is. */
export const SERIES_UNLIKE_SHARE = 0.5;

/** The words the viewer, the review queue and the worklist show on such a series. */
export const UNLIKE_TRAINING_TEXT = 'unlike the images this model was trained on';

/** Whether a series with this share of unlike slices is shown as unlike the training images. */
export function isUnlikeTraining(share: number | null | undefined): boolean {
  return share !== null && share !== undefined && share >= SERIES_UNLIKE_SHARE;
}
