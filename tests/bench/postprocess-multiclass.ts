// Benchmark: where the multi-class post-processing time goes, without the model's noise. The
// softmax twin of the starter (tests/helpers/multiclass-model.py) runs once, with 2 TTA flips, on
// a generated 512×512 CT; its logits are kept, then each post-processing step is timed over
// many repetitions on them (CPU time), next to the binary starter's steps on its own logits.
// Run: npx tsx tests/bench/postprocess-multiclass.ts [--slices 12] [--reps 20] [--us]
import { createRequire } from 'node:module';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { createBackend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { FrameLoader } from '../../src/main/imaging/frames';
import { ContentStore } from '../../src/main/store/content-store';
import {
  addFlipped,
  argmaxAgreement,
  entropyPlane,
  entropyRle,
  flipLabels,
  gridHeatMap,
  SliceLabeler,
  SoftmaxSlices,
  softmaxArgmax,
  softmaxLetterbox,
} from '../../src/shared/imaging/multiclass';
import { flipPlanes, letterboxEntropy, sigmoidInPlace, TTA_FLIPS } from '../../src/shared/imaging/postprocess';
import { toModelInput, type Letterbox, type ModelInputSpec } from '../../src/shared/imaging/preprocess';
import { encodeSliceMaskRle, SliceMasker, thresholdDice, uncertaintyRle } from '../../src/shared/imaging/slice-mask';
import { writeCtSeries } from '../helpers/ct-series';
import { makeMulticlassModel, STARTER_DIR } from '../helpers/multiclass-model';
import { ROOT } from '../helpers/serve';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const SLICES = Number(opt('slices', '12'));
const REPS = Number(opt('reps', '20'));
const work = path.join(ROOT, '.tmp', 'bench');
// --us: the inference benchmark's 256² ultrasound slices (the demo's base domain, seed 9090)
// instead of the 512² CT, which this model has never seen (its label maps are speckled there).
const US = args.includes('--us');
const ct = path.join(work, US ? `us-${SLICES}-9090` : `ct-${SLICES}-512`);
if (!existsSync(ct) || readdirSync(ct).length === 0) {
  rmSync(ct, { recursive: true, force: true });
  if (US) await writeDemoStudies(ct, { patients: 1, imagesPerSeries: SLICES, seed: 9090, domain: 'base' });
  else writeCtSeries(ct, { count: SLICES, size: 512, seriesIndex: 8 });
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-bench-post-'));
const b = createBackend({ dataDir: path.join(dir, 'data'), transport: 'http' });
await b.ready;
await b.services.settings.update({ autoSegmentOnImport: false });
await b.importer.wait((await b.services.import.start({ paths: [ct] })).jobId);
const frames = new FrameLoader(b.db, new ContentStore(path.join(dir, 'data', 'store')));
const ids = b.db.prepare('SELECT id FROM images ORDER BY position_index').pluck().all() as number[];
const mc = makeMulticlassModel(path.join(dir, 'mc'));
const flips = TTA_FLIPS[2];
const spec: ModelInputSpec = {
  size: [128, 128],
  channels: 3,
  channelMode: 'replicate',
  normalization: { type: 'scale', min: 0, max: 255 },
};

async function logitsOf(onnx: string): Promise<{ logits: Float32Array[]; boxes: Letterbox[]; columns: number; rows: number }> {
  const session = await ort.InferenceSession.create(onnx, { intraOpNumThreads: os.availableParallelism() });
  const out: Float32Array[] = [];
  const boxes: Letterbox[] = [];
  let columns = 0;
  let rows = 0;
  for (const id of ids) {
    const frame = await frames.load(id);
    columns = frame.columns;
    rows = frame.rows;
    const input = new Float32Array(2 * 3 * 128 * 128);
    const box = toModelInput({ ...frame, invert: false }, spec, input, 0);
    input.copyWithin(3 * 128 * 128, 0, 3 * 128 * 128);
    flipPlanes(input, 128, 128, 3, 'h', 3 * 128 * 128);
    const r = await session.run({ [session.inputNames[0]!]: new ort.Tensor('float32', input, [2, 3, 128, 128]) });
    out.push((r[session.outputNames[0]!]!.data as Float32Array).slice());
    boxes.push(box);
  }
  await session.release();
  return { logits: out, boxes, columns, rows };
}

function time(label: string, fn: (i: number) => void, n: number): number {
  fn(0);
  // CPU time of this (single) thread: under a shared machine's load, wall time measures the queue.
  const c = process.cpuUsage();
  const t = performance.now();
  for (let r = 0; r < REPS; r++) for (let i = 0; i < n; i++) fn(i);
  const wall = (performance.now() - t) / (REPS * n);
  const used = process.cpuUsage(c);
  const ms = (used.user + used.system) / 1000 / (REPS * n);
  process.stdout.write(`  ${label.padEnd(52)} ${ms.toFixed(3)} ms CPU per slice (wall ${wall.toFixed(3)})\n`);
  return ms;
}

process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; ${SLICES} ${US ? 'US slices 256×256' : 'CT slices 512×512'}, model grid 128², TTA 2, ${REPS} repetitions\n`,
);
const plane = 128 * 128;
{
  const { logits, boxes, columns, rows } = await logitsOf(path.join(STARTER_DIR, 'model.onnx'));
  process.stdout.write('binary starter (sigmoid):\n');
  const work1 = logits.map((l) => l.slice());
  const mean = new Float32Array(plane);
  const prep = (i: number) => {
    const l = work1[i]!;
    l.set(logits[i]!);
    mean.fill(0);
    for (const [f, flip] of flips.entries()) {
      sigmoidInPlace(l, f * plane, plane);
      flipPlanes(l, 128, 128, 1, flip, f * plane);
      for (let k = 0; k < plane; k++) mean[k]! += l[f * plane + k]! / 2;
    }
    thresholdDice(l, 0, l, plane, plane, 0.5);
  };
  const masker = new SliceMasker();
  const heat = { heat: new Uint8Array(0) };
  const total = [
    time('sigmoid, un-flip, average, agreement', prep, ids.length),
    time('score (letterboxEntropy)', (i) => (prep(i), letterboxEntropy(mean, boxes[i]!)), ids.length) - 0,
    time(
      'mask + clean + RLE (with the above)',
      (i) => (prep(i), encodeSliceMaskRle(masker.mask(mean, 0, boxes[i]!, columns, rows, 0.5, 16, true))),
      ids.length,
    ),
    time('heat map RLE (with the above)', (i) => (prep(i), uncertaintyRle(mean, boxes[i]!, columns, rows, heat)), ids.length),
  ];
  void total;
  // TTA off, as the worker does it: sigmoid of the letterboxed rows, score, mask, RLE.
  const one = logits.map((l) => l.slice(0, plane));
  time(
    'TTA off: sigmoid + score + mask + clean + RLE',
    (i) => {
      const l = one[i]!;
      l.set(logits[i]!.subarray(0, plane));
      sigmoidInPlace(l, 0, plane);
      letterboxEntropy(l, boxes[i]!);
      encodeSliceMaskRle(masker.mask(l, 0, boxes[i]!, columns, rows, 0.5, 16, true));
    },
    ids.length,
  );
}
{
  const { logits, boxes, columns, rows } = await logitsOf(path.join(mc, 'model.onnx'));
  process.stdout.write('multi-class twin (softmax, 5 classes):\n');
  const C = 5;
  const block = C * plane;
  const work1 = logits.map((l) => l.slice());
  const mean = new Float32Array(block);
  const ent = new Float32Array(plane);
  const am = new Uint8Array(2 * plane);
  const softmax = (i: number) => {
    const l = work1[i]!;
    l.set(logits[i]!);
    for (const f of [0, 1]) softmaxArgmax(l, f * block, C, plane, am.subarray(f * plane, (f + 1) * plane));
  };
  const prep = (i: number) => {
    softmax(i);
    const l = work1[i]!;
    for (const [f, flip] of flips.entries()) {
      addFlipped(mean, l, f * block, C, 128, 128, flip, 0.5, f === 0);
      flipLabels(am.subarray(f * plane, (f + 1) * plane), 128, 128, flip);
    }
    argmaxAgreement(am.subarray(0, plane), am.subarray(plane));
  };
  const labeler = new SliceLabeler();
  const heat = { heat: new Uint8Array(0) };
  const copy = (i: number) => work1[i]!.set(logits[i]!);
  time('copy only (subtract)', copy, ids.length);
  time('softmax + argmax (2 flips)', softmax, ids.length);
  time('+ un-flip, average, agreement', prep, ids.length);
  time('+ entropy plane (score)', (i) => (prep(i), entropyPlane(mean, 0, C, boxes[i]!, ent)), ids.length);
  time(
    '+ labels + per-label clean + RLE',
    (i) => (prep(i), encodeSliceMaskRle(labeler.labels(mean, 0, C, boxes[i]!, columns, rows, [1, 2, 4, 5], 16, true))),
    ids.length,
  );
  time(
    '+ heat map at the slice size (before 2026-12-06)',
    (i) => (prep(i), entropyPlane(mean, 0, C, boxes[i]!, ent), entropyRle(ent, boxes[i]!, columns, rows, heat)),
    ids.length,
  );
  const grid = {};
  time(
    '+ heat map on the model grid (as stored)',
    (i) => (prep(i), entropyPlane(mean, 0, C, boxes[i]!, ent), gridHeatMap(ent, boxes[i]!, grid)),
    ids.length,
  );
  const slices = new SoftmaxSlices();
  // TTA off (one block per slice), as the worker does it.
  const one = logits.map((l) => l.slice(0, block));
  const copyOne = (i: number) => one[i]!.set(logits[i]!.subarray(0, block));
  time(
    'TTA off: softmax + score (softmaxLetterbox)',
    (i) => (copyOne(i), softmaxLetterbox(one[i]!, 0, C, boxes[i]!)),
    ids.length,
  );
  {
    const margins = [8, 12, 16, 20, 30].map((t) => {
      let over = 0;
      let all = 0;
      for (const l of logits)
        for (let k = 0; k < plane; k++) {
          let top = -Infinity;
          let second = -Infinity;
          for (let c = 0; c < C; c++) {
            const v = l[k + c * plane]!;
            if (v > top) [second, top] = [top, v];
            else if (v > second) second = v;
          }
          all++;
          if (top - second > t) over++;
        }
      return `>${t}: ${((100 * over) / all).toFixed(1)} %`;
    });
    process.stdout.write(`  top-class margin over the next (logits): ${margins.join(', ')}\n`);
  }
  const probOne = one.map((l, i) => (copyOne(i), softmaxLetterbox(l, 0, C, boxes[i]!), l.slice()));
  time(
    'TTA off: labels + per-label clean + RLE (alone)',
    (i) => encodeSliceMaskRle(labeler.labels(probOne[i]!, 0, C, boxes[i]!, columns, rows, [1, 2, 4, 5], 16, true)),
    ids.length,
  );
  time(
    'TTA off: whole SoftmaxSlices.slice',
    (i) => (copyOne(i), slices.slice(one[i]!, 0, [flips[0]!], C, boxes[i]!, columns, rows, [1, 2, 4, 5], 16, true)),
    ids.length,
  );
  time(
    'whole SoftmaxSlices.slice',
    (i) => (copy(i), slices.slice(work1[i]!, 0, flips, C, boxes[i]!, columns, rows, [1, 2, 4, 5], 16, true)),
    ids.length,
  );
}
b.close();
rmSync(dir, { recursive: true, force: true });
