// Benchmark (issue 25, the CT part; the MR part is tests/bench/volume.ts): a phantom CT of
// 512×512×N (src/main/demo/ct-series.ts, default N = 300) imported through the real import and
// segmented by a 3D model through the real job path (engine → inference worker: read the
// slices, resample, normalise, sliding windows, back to the series' grid, one label map per
// slice stored), against the model alone: the same number of windows run by onnxruntime in this
// thread with nothing else, same session options. Prints pipeline / model-only (issue target
// ≤ 1.15) and the peak resident memory of the process (sampled every 50 ms while the job runs,
// and the process's maxRSS). The model is a seeded, untrained 3D LGMSNet of the shipped size
// (64³ patch, 5 classes: tests/helpers/volume-model.py): the timing does not depend on weights.
// --model-runs K times K of the runs alone and scales the mean to all of them (every run is
// the same patch size, so its time does not depend on which window it is): for the full size,
// where timing every run twice would take most of an hour on this machine.
// Run: npx tsx tests/bench/volume-ct.ts [--slices 300] [--size 512] [--patch 64,64,64] [--spacing 2.5,1.5,1.5] [--tta 0] [--model-runs K]
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { createBackend } from '../../src/main/backend';
import { CT_LABELS, writeCtPhantomSeries } from '../../src/main/demo';
import { seriesByUid } from '../../src/main/export/queries';
import { mirrorAxesOf, seriesVolume, volumeMemory } from '../../src/main/inference/volume-series';
import type { InferenceTimings } from '../../src/shared/contract';
import { mirrorCombinations, windowStarts } from '../../src/shared/imaging/sliding-window';
import { codesForName } from '../../src/shared/model/codes';
import { makeVolumeModel } from '../helpers/volume-model';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const args = process.argv.slice(2);
const arg = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const SLICES = Number(arg('slices', '300'));
const SIZE = Number(arg('size', '512'));
const PATCH = arg('patch', '64,64,64').split(',').map(Number) as [number, number, number];
const SPACING = arg('spacing', '2.5,1.5,1.5').split(',').map(Number) as [number, number, number];
const TTA = Number(arg('tta', '0')) as 0 | 2 | 4;
const MODEL_RUNS = args.includes('--model-runs') ? Number(arg('model-runs', '0')) : Infinity;
const mb = (bytes: number) => `${Math.round(bytes / 1e6)} MB`;

const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-bench-volume-ct-'));
try {
  const load = () =>
    os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ');
  process.stdout.write(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores; load ${load()} at start\n`);
  const written = await writeCtPhantomSeries({
    seed: 4242,
    size: SIZE,
    slices: SLICES,
    dicomDir: path.join(dir, 'ct', 'dicom'),
    groundTruthDir: path.join(dir, 'ct', 'truth'),
  });
  const modelDir = makeVolumeModel(path.join(dir, 'model3d'), {
    patch: PATCH,
    spacing: SPACING,
    values: CT_LABELS.map((l) => l.value),
  });
  const b = createBackend({ dataDir: path.join(dir, 'data'), transport: 'http' });
  await b.ready;
  await b.services.settings.update({ autoSegmentOnImport: false });
  const imported = await b.services.import.start({ paths: [path.join(dir, 'ct', 'dicom')] });
  if ((await b.importer.wait(imported.jobId)).status !== 'done') throw new Error('import failed');
  const seriesId = seriesByUid(b.db, written.seriesInstanceUid)!.id;
  const task = await b.services.tasks.create({
    name: 'Abdominal organs CT',
    domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
    modelKind: '3d',
    labels: CT_LABELS.map((l) => ({ name: l.name, ...codesForName(l.name, l.value) })),
  });
  const version = await b.services.models.importVersion({ folder: modelDir, taskId: task.id });
  await b.services.models.activate({ id: version.id });
  const status = await b.services.inference.status();

  const v = seriesVolume(b.db, seriesId);
  const { modelShape, bytes } = volumeMemory(v, { patch: PATCH, spacing: SPACING }, CT_LABELS.length + 1);
  const windows = modelShape.reduce((n, size, a) => n * windowStarts(Math.max(size, PATCH[a]!), PATCH[a]!).length, 1);
  const runs = windows * mirrorCombinations(mirrorAxesOf(TTA)).length;
  process.stdout.write(
    `provider ${status.provider}; series ${v.shape.join('×')} (D×H×W) at ${v.spacing.map((s) => s.toFixed(3)).join('×')} mm → model grid ` +
      `${modelShape.join('×')} at ${SPACING.join('×')} mm; patch ${PATCH.join('×')}, ${windows} windows, TTA ${TTA || 'off'} (${runs} runs); ` +
      `volumeInferenceBytes ${mb(bytes)}\n`,
  );

  // The pipeline through the job path, RSS sampled while it runs.
  let peak = process.memoryUsage().rss;
  const before = peak;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50);
  const started = performance.now();
  const { jobId } = await b.services.inference.segmentSeries({ seriesId, taskId: task.id, ttaFlips: TTA });
  const final = await b.engine.waitForJob(jobId);
  const pipelineMs = performance.now() - started;
  clearInterval(sampler);
  const job = await b.services.jobs.get({ id: jobId });
  if (final !== 'done') throw new Error(`inference ${final}: ${job.error}`);
  const t = (job.result as { timingsMs: InferenceTimings }).timingsMs;
  const stored = b.db.prepare('SELECT count(*) FROM predictions WHERE model_version_id = ?').pluck().get(version.id);
  process.stdout.write(
    `pipeline: ${(pipelineMs / 1000).toFixed(1)} s wall (job: decode ${(t.decode / 1000).toFixed(1)} + preprocess/blend ${(t.preprocess / 1000).toFixed(1)} + ` +
      `model ${(t.model / 1000).toFixed(1)} + postprocess ${(t.postprocess / 1000).toFixed(1)} + store ${(t.store / 1000).toFixed(1)} s); ${stored} label maps stored; ` +
      `RSS ${mb(before)} before, peak ${mb(peak)} (+${mb(peak - before)}), process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)}; load ${load()}\n`,
  );
  b.close();

  // The model alone: the same number of window runs, same session options as the worker (worker.ts load).
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
    executionProviders: [status.provider === 'cuda' ? 'cuda' : 'cpu'],
    intraOpNumThreads: Math.max(1, os.availableParallelism()),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const patch = new Float32Array(PATCH[0] * PATCH[1] * PATCH[2]).fill(0.5);
  await session.run({ input: new ort.Tensor('float32', patch, [1, 1, ...PATCH]) }); // warm-up, as the worker's probe
  const timed = Math.min(runs, MODEL_RUNS);
  const m0 = performance.now();
  for (let i = 0; i < timed; i++) await session.run({ input: new ort.Tensor('float32', patch, [1, 1, ...PATCH]) });
  const modelMs = ((performance.now() - m0) / timed) * runs;
  await session.release();
  process.stdout.write(
    `model only: ${(modelMs / 1000).toFixed(1)} s for ${runs} runs (${(modelMs / runs).toFixed(0)} ms each${timed < runs ? `, ${timed} of them timed` : ''}); ` +
      `pipeline / model-only ${(pipelineMs / modelMs).toFixed(3)}×; load ${load()} at end\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}
