// Benchmark: whole studies from import to stored masks through the real backend (import worker,
// inference worker, SQLite, the shipped starter model), TTA 2 flips: a generated 300-slice CT
// of 512×512 (one file per slice) and a 40-frame 800×600 RGB ultrasound cine (one multi-frame
// file). Prints seconds, each stage's share and the process's peak memory.
//
// The import and inference workers are threads of the backend's process, so the peak resident
// set (VmHWM) covers the backend and both workers together; the main thread's own V8 heap peak
// is printed beside it, and the inference worker's share is the peak minus the resident set
// sampled just before segmentation started.
// --model starter,multiclass runs each study with each model in turn (the multi-class one is the
// starter's five-class softmax twin, tests/helpers/multiclass-model.py), --rounds N alternates
// them N times, so their ratios are measured under the same load.
// Run: npx tsx tests/bench/whole-study.ts [--study ct|us|both] [--slices 300] [--flips 2] [--model starter] [--rounds 1]
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import type { InferenceTimings } from '../../src/shared/contract';
import { writeCtSeries } from '../helpers/ct-series';
import { makeMulticlassModel } from '../helpers/multiclass-model';
import { ROOT } from '../helpers/serve';
import { writeUsCine } from '../helpers/us-cine';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const STUDY = opt('study', 'both');
const SLICES = Number(opt('slices', '300'));
const FLIPS = Number(opt('flips', '2')) as 0 | 2 | 4;
const MODELS = opt('model', 'starter').split(',');
const ROUNDS = Number(opt('rounds', '1'));
const work = path.join(ROOT, '.tmp', 'bench');

function status(field: string): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync('/proc/self/status', 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

let multiclass: string | undefined;
async function run(study: string, source: string, model: string): Promise<void> {
  const name = `${study}, ${model}`;
  const data = path.join(work, `whole-${study}-data`);
  rmSync(data, { recursive: true, force: true });
  const b = createBackend({ dataDir: data, transport: 'http' });
  await b.ready;
  await b.services.settings.update({ autoSegmentOnImport: false, ttaFlips: FLIPS });
  if (model === 'multiclass') {
    multiclass ??= makeMulticlassModel(path.join(work, 'multiclass-model'));
    const version = await b.services.models.importVersion({ folder: multiclass });
    await b.services.models.activate({ id: version.id });
  }
  let heapPeak = 0;
  let rssPeak = 0;
  const sampler = setInterval(() => {
    const m = process.memoryUsage();
    heapPeak = Math.max(heapPeak, m.heapUsed);
    rssPeak = Math.max(rssPeak, m.rss);
  }, 50);
  const started = performance.now();
  const { jobId } = await b.services.import.start({ paths: [source] });
  const imported = await b.importer.wait(jobId);
  const importEnd = performance.now();
  if (imported.status !== 'done') throw new Error(`import ${imported.status}`);
  const { phasesMs: phases, elapsedMs } = imported.result as {
    phasesMs: { scan: number; read: number; index: number };
    elapsedMs: number;
  };
  const beforeInference = process.memoryUsage().rss;
  const series = b.db.prepare('SELECT id FROM series').pluck().all() as number[];
  const steps: InferenceTimings = { decode: 0, preprocess: 0, model: 0, postprocess: 0, store: 0, total: 0 };
  for (const seriesId of series) {
    const { jobId: inference } = await b.services.inference.segmentSeries({ seriesId, ttaFlips: FLIPS });
    const final = await b.engine.waitForJob(inference);
    if (final !== 'done') throw new Error(`inference ${final}`);
    const t = ((await b.services.jobs.get({ id: inference })).result as { timingsMs: InferenceTimings }).timingsMs;
    for (const k of Object.keys(steps) as (keyof InferenceTimings)[]) steps[k] += t[k];
  }
  const ended = performance.now();
  clearInterval(sampler);
  const images = b.db.prepare('SELECT count(*) FROM images').pluck().get() as number;
  const masks = b.db.prepare('SELECT count(*) FROM predictions').pluck().get() as number;
  if (masks !== images) throw new Error(`${masks} stored masks for ${images} images`);
  const total = ended - started;
  const importMs = importEnd - started;
  const inferenceMs = ended - importEnd;
  const share = (ms: number) => `${((100 * ms) / total).toFixed(0)}%`;
  const s = (ms: number) => `${(ms / 1000).toFixed(2)} s`;
  process.stdout.write(
    `${name}: ${images} images, import to ${masks} stored masks (TTA ${FLIPS || 'off'}) in ${s(total)}; load ${os.loadavg()[0]!.toFixed(1)}\n` +
      `  import ${s(importMs)} (${share(importMs)}): scan ${s(phases.scan)}, read + hash + parse + store ${s(phases.read)}, index ${s(phases.index)}; ` +
      `import worker start ${s(importMs - elapsedMs)} (${share(importMs - elapsedMs)}; compiled from TypeScript by tsx here, bundled in the app)\n` +
      `  inference ${s(inferenceMs)} (${share(inferenceMs)}): decode ${s(steps.decode)} (${share(steps.decode)}), preprocess ${s(steps.preprocess)} (${share(steps.preprocess)}), ` +
      `model ${s(steps.model)} (${share(steps.model)}; inference / model ${(inferenceMs / steps.model).toFixed(3)}), postprocess ${s(steps.postprocess)} (${share(steps.postprocess)}), store ${s(steps.store)} (${share(steps.store)}), ` +
      `between batches ${s(inferenceMs - steps.total)}\n` +
      `  peak memory: process (backend + import and inference workers) ${Math.max(status('VmHWM'), rssPeak / 2 ** 20).toFixed(0)} MB resident; ` +
      `main-thread V8 heap ${(heapPeak / 2 ** 20).toFixed(0)} MB; resident before inference ${(beforeInference / 2 ** 20).toFixed(0)} MB, ` +
      `inference added ≤ ${((rssPeak - beforeInference) / 2 ** 20).toFixed(0)} MB\n`,
  );
  b.close();
  rmSync(data, { recursive: true, force: true });
}

process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; ${new Date().toISOString()}\n`,
);
if (STUDY === 'ct' || STUDY === 'both') {
  const ct = path.join(work, `ct-${SLICES}-512`);
  if (!existsSync(ct) || readdirSync(ct).length !== SLICES) {
    rmSync(ct, { recursive: true, force: true });
    writeCtSeries(ct, { count: SLICES, size: 512, seriesIndex: 8 });
  }
  for (let r = 0; r < ROUNDS; r++) for (const model of MODELS) await run(`CT ${SLICES} × 512×512`, ct, model);
}
if (STUDY === 'us' || STUDY === 'both') {
  const us = path.join(work, 'us-cine-40-800x600');
  if (!existsSync(path.join(us, 'cine.dcm'))) {
    mkdirSync(us, { recursive: true });
    writeUsCine(us, { frames: 40, columns: 800, rows: 600 });
  }
  for (let r = 0; r < ROUNDS; r++) for (const model of MODELS) await run('US cine 40 × 800×600 RGB', us, model);
}
