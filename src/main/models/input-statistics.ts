// Computes a model's `inputStatistics` (src/shared/model/input-statistics.ts) from generated
// phantoms of the scanners it is meant for, through the model's own pre-processing, and writes
// them into its model.json. The starter's were made with:
//   npx tsx src/main/models/input-statistics.ts resources/models/lgmsnet-starter
// (also `bash scripts/starter-model.sh statistics`). Deterministic: the same file every run.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { generatePhantom } from '../demo/phantom';
import type { Domain } from '../demo/scanner';
import { toModelInput, type ModelInputSpec } from '../../shared/imaging/preprocess';
import {
  INPUT_HISTOGRAM_BINS,
  inputHistogram,
  inputStatisticsSchema,
  type InputStatistics,
} from '../../shared/model/input-statistics';
import { parseModelManifest } from '../../shared/model/manifest';

/**
 * The images the ranges come from. Base domain: the starter's own training seed (101; its
 * replay/ folder holds the first 64 of these images), so the mean is of what it was trained on.
 * Shifted domain: a calibration seed used nowhere else (404), not the held-out test seed (303)
 * the figures in docs/benchmarks.md are measured on.
 */
export const STATISTICS_SETS: readonly { domain: Domain; seed: number; count: number }[] = [
  { domain: 'base', seed: 101, count: 200 },
  { domain: 'shifted', seed: 404, count: 200 },
];

/** Each bin's observed range is widened by this share of itself on both sides (docs/benchmarks.md, loop-b). */
export const RANGE_MARGIN = 0.25;

/**
 * Per-bin ranges (widened by RANGE_MARGIN, clipped to [0, 1]) of the input histograms of the
 * generated phantoms of every set, and the mean histogram of the base-domain (training-seed) ones.
 * `size`: the phantoms' side in pixels, as the demo and training data (256).
 */
export function computeInputStatistics(spec: ModelInputSpec, sets = STATISTICS_SETS, size = 256): InputStatistics {
  const [h, w] = spec.size;
  const input = new Float32Array(spec.channels * h * w);
  const low = new Array<number>(INPUT_HISTOGRAM_BINS).fill(Infinity);
  const high = new Array<number>(INPUT_HISTOGRAM_BINS).fill(-Infinity);
  const mean = new Array<number>(INPUT_HISTOGRAM_BINS).fill(0);
  let n = 0;
  let nBase = 0;
  for (const set of sets) {
    for (let index = 0; index < set.count; index++) {
      const p = generatePhantom({ seed: set.seed, index, domain: set.domain, width: size, height: size });
      const slice = { pixels: p.image, rows: p.height, columns: p.width, samplesPerPixel: 1, slope: 1, intercept: 0 };
      const histogram = inputHistogram(input, 0, toModelInput(slice, spec, input, 0));
      for (let b = 0; b < INPUT_HISTOGRAM_BINS; b++) {
        low[b] = Math.min(low[b]!, histogram[b]!);
        high[b] = Math.max(high[b]!, histogram[b]!);
        if (set.domain === 'base') mean[b]! += histogram[b]!;
      }
      if (set.domain === 'base') nBase++;
      n++;
    }
  }
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  const margin = low.map((l, b) => (high[b]! - l) * RANGE_MARGIN);
  const describe = sets.map((s) => `${s.count} ${s.domain}-domain (seed ${s.seed})`).join(' and ');
  return inputStatisticsSchema.parse({
    feature: 'input-histogram-16',
    mean: mean.map((m) => round(m / Math.max(1, nBase))),
    low: low.map((l, b) => round(Math.max(0, l - margin[b]!))),
    high: high.map((v, b) => round(Math.min(1, v + margin[b]!))),
    n,
    description:
      `Histogram of the normalised input (16 bins over 0-1, inside the letterbox) of ${describe} generated ${size}x${size} ` +
      `breast-ultrasound phantoms (src/main/demo): mean of the base-domain (training seed) ones; per-bin range of all, ` +
      `widened by ${RANGE_MARGIN * 100} % of itself on each side. Written by src/main/models/input-statistics.ts.`,
  });
}

/** Adds (or replaces) `inputStatistics` in the model folder's model.json, keeping every other field. */
export function writeInputStatistics(modelDir: string): InputStatistics {
  const file = path.join(modelDir, 'model.json');
  const text = readFileSync(file, 'utf8');
  const parsed = parseModelManifest(text);
  if (!parsed.ok) throw new Error(`${file} is invalid: ${parsed.problems.join('; ')}`);
  const m = parsed.manifest;
  const stats = computeInputStatistics({
    size: m.input.size,
    channels: m.input.channels,
    channelMode: m.input.channelMode,
    normalization: m.input.normalization,
  });
  const raw = JSON.parse(text) as Record<string, unknown>;
  writeFileSync(file, `${JSON.stringify({ ...raw, inputStatistics: stats }, null, 2)}\n`);
  return stats;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const dir = process.argv[2];
  if (!dir) {
    process.stderr.write('usage: npx tsx src/main/models/input-statistics.ts MODEL_DIR\n');
    process.exit(2);
  }
  const s = writeInputStatistics(path.resolve(dir));
  process.stdout.write(`wrote inputStatistics (${s.n} images) into ${path.join(dir, 'model.json')}\n`);
}
