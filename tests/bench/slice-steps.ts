// Benchmark: the inference worker's per-slice steps around the model, the reference path
// (separate passes, whole-slice resample, fresh buffers: postprocess.ts) against the path the
// worker now takes (fused preprocess, box-only mask: slice-mask.ts), back to back in one run on
// the starter model's real predictions. Per slice, median of rounds; TTA off and 2 flips.
// Run: npx tsx tests/bench/slice-steps.ts [--size 256] [--rounds 15]
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { generatePhantom } from '../../src/main/demo';
import { readModelPackage } from '../../src/main/models/package';
import {
  cleanMask,
  entropyMap,
  letterboxEntropy,
  sigmoidInPlace,
  threshold,
  unletterbox,
  unletterboxMask,
} from '../../src/shared/imaging/postprocess';
import { normalize, resizeBilinear, toModelInput, letterbox, type ModelInputSpec } from '../../src/shared/imaging/preprocess';
import { encodeRle } from '../../src/shared/imaging/rle';
import { encodeSliceMaskRle, SliceMasker, uncertaintyRle } from '../../src/shared/imaging/slice-mask';
import { ROOT } from '../helpers/serve';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const SIZE = Number(opt('size', '256'));
const ROUNDS = Number(opt('rounds', '15'));
const SLICES = 16;

const pkg = readModelPackage(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter'));
const spec = pkg.manifest.input as ModelInputSpec;
const [h, w] = spec.size;
const plane = w * h;
const session = await ort.InferenceSession.create(pkg.onnxPath, {
  executionProviders: ['cpu'],
  intraOpNumThreads: os.availableParallelism(),
});
const phantoms = Array.from({ length: SLICES }, (_, index) => generatePhantom({ seed: 303, index, width: SIZE, height: SIZE }));
const slices = phantoms.map((p) => ({ pixels: p.image, rows: SIZE, columns: SIZE, samplesPerPixel: 1, slope: 1, intercept: 0 }));
const box = letterbox(SIZE, SIZE, w, h);

// Real probabilities once, outside the timing.
const input = new Float32Array(SLICES * spec.channels * plane);
slices.forEach((s, i) => toModelInput(s, spec, input, i * spec.channels * plane));
const out = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [SLICES, spec.channels, h, w]) });
const logits = (out[session.outputNames[0]!]!.data as Float32Array).slice();
await session.release();

function referencePreprocess(s: (typeof slices)[number], o: Float32Array, offset: number): void {
  o.fill(0, offset, offset + plane * spec.channels);
  const norm = normalize(s.pixels, spec.normalization, s.slope, s.intercept);
  resizeBilinear(norm, s.columns, s.rows, box.scaledWidth, box.scaledHeight, o, w, offset + box.offsetY * w + box.offsetX);
  for (let c = 1; c < spec.channels; c++) o.copyWithin(offset + c * plane, offset, offset + plane);
}

function referencePost(logit: Float32Array, tta: boolean): number {
  const prob = sigmoidInPlace(logit.slice());
  const full = tta ? unletterbox(prob, box, SIZE, SIZE) : null;
  letterboxEntropy(prob, box);
  const mask = cleanMask(full ? threshold(full, 0.5) : unletterboxMask(prob, box, SIZE, SIZE, 0.5), SIZE, SIZE, 16, true);
  let fg = 0;
  for (let k = 0; k < mask.length; k++) if (mask[k] !== 0) fg++;
  const bytes = encodeRle(mask).length + (full ? encodeRle(entropyMap(full)).length : 0);
  return fg + bytes;
}

const masker = new SliceMasker();
const heat = { heat: new Uint8Array(0) };
function newPost(logit: Float32Array, tta: boolean): number {
  const prob = logit.slice(); // the copy stands in for the batch output the worker reads in place
  sigmoidInPlace(prob, box.offsetY * w, box.scaledHeight * w);
  letterboxEntropy(prob, box);
  const m = masker.mask(prob, 0, box, SIZE, SIZE, 0.5, 16, true);
  const bytes = encodeSliceMaskRle(m).length + (tta ? uncertaintyRle(prob, box, SIZE, SIZE, heat).length : 0);
  return m.foreground + bytes;
}

/** Median ms per slice of each path, the two timed in alternating rounds (a loaded machine's swings hit both). */
function pair(reference: (i: number) => unknown, now: (i: number) => unknown): [number, number] {
  const times: [number[], number[]] = [[], []];
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const [k, fn] of [reference, now].entries()) {
      const t = performance.now();
      for (let i = 0; i < SLICES; i++) fn(i);
      if (r > 0) times[k]!.push((performance.now() - t) / SLICES);
    }
  }
  const median = (v: number[]) => v.sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  return [median(times[0]), median(times[1])];
}

const scratchInput = new Float32Array(spec.channels * plane);
const logitOf = (i: number) => logits.subarray(i * plane, (i + 1) * plane);
const rows: [string, number, number][] = [
  [
    'preprocess',
    ...pair(
      (i) => referencePreprocess(slices[i]!, scratchInput, 0),
      (i) => toModelInput(slices[i]!, spec, scratchInput, 0),
    ),
  ],
  [
    'postprocess, TTA off',
    ...pair(
      (i) => referencePost(logitOf(i), false),
      (i) => newPost(logitOf(i), false),
    ),
  ],
  [
    'postprocess, TTA 2 (mask + heat map)',
    ...pair(
      (i) => referencePost(logitOf(i), true),
      (i) => newPost(logitOf(i), true),
    ),
  ],
];
process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; ${SLICES} slices ${SIZE}×${SIZE} → model ${w}×${h}; median of ${ROUNDS}\n`,
);
for (const [name, before, after] of rows)
  process.stdout.write(
    `${name}: reference ${before.toFixed(3)} ms, now ${after.toFixed(3)} ms per slice (${(before / after).toFixed(2)}× faster)\n`,
  );
