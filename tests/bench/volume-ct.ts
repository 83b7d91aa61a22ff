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
import { VOLUME_MIRROR_AXES, readVolume, seriesVolume, volumeMemory } from '../../src/main/inference/volume-series';
import type { InferenceTimings } from '../../src/shared/contract';
import { flipVolume, mirrorCombinations, windowStarts } from '../../src/shared/imaging/sliding-window';
import { normalizeVolume, resampleTrilinear, type Shape3 } from '../../src/shared/imaging/volume';
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
  const runs = windows * mirrorCombinations(VOLUME_MIRROR_AXES).length;
  process.stdout.write(
    `provider ${status.provider}; series ${v.shape.join('×')} (D×H×W) at ${v.spacing.map((s) => s.toFixed(3)).join('×')} mm → model grid ` +
      `${modelShape.join('×')} at ${SPACING.join('×')} mm; patch ${PATCH.join('×')}, ${windows} windows, TTA ${TTA || 'off'} (${runs} runs); ` +
      `volumeInferenceBytes ${mb(bytes)}\n`,
  );

  // The model alone: the same windows' inputs (the series read, resampled and normalised here as
  // the pipeline does, each window cut out with the same centred padding and flipped as TTA
  // flips it), run one after the other by onnxruntime with the worker's session options
  // (worker.ts load), before and after the pipeline so that a change of the machine's load shows.
  // (The series' HU are dropped at once; the model-grid copy, 4 B a model voxel, stays in this process during the pipeline.)
  const input = normalizeVolume(resampleTrilinear(await readVolume(b.frames, v), v.shape, modelShape), v.modality);
  const patches = windowPatches(input, modelShape, PATCH);
  const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), {
    executionProviders: [status.provider === 'cuda' ? 'cuda' : 'cpu'],
    intraOpNumThreads: Math.max(1, os.availableParallelism()),
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  });
  const timed = Math.min(runs, MODEL_RUNS);
  const modelOnly = async (): Promise<number> => {
    await session.run({ input: new ort.Tensor('float32', patches(0), [1, 1, ...PATCH]) }); // warm-up, as the worker's probe
    const m0 = performance.now();
    // A sample spread over the volume when not every run is timed.
    for (let i = 0; i < timed; i++)
      await session.run({ input: new ort.Tensor('float32', patches(Math.floor((i * runs) / timed)), [1, 1, ...PATCH]) });
    return ((performance.now() - m0) / timed) * runs;
  };
  const modelBefore = await modelOnly();
  process.stdout.write(`model only (before): ${(modelBefore / 1000).toFixed(1)} s; load ${load()}\n`);
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
      `RSS ${mb(before)} before (the bench's model-grid copy ${mb(input.byteLength)} included), peak ${mb(peak)} (+${mb(peak - before)}), process maxRSS ${mb(process.resourceUsage().maxRSS * 1024)}; load ${load()}\n`,
  );

  const modelAfter = await modelOnly();
  await session.release();
  b.close();
  const modelMs = (modelBefore + modelAfter) / 2;
  process.stdout.write(
    `model only: ${(modelBefore / 1000).toFixed(1)} s before, ${(modelAfter / 1000).toFixed(1)} s after, for ${runs} runs (${(modelMs / runs).toFixed(0)} ms each${timed < runs ? `, ${timed} of them timed` : ''}); ` +
      `pipeline / model-only ${(pipelineMs / modelMs).toFixed(3)}× (the job's own model time ${(t.model / 1000).toFixed(1)} s: non-model steps ${((pipelineMs - t.model) / 1000).toFixed(1)} s, ` +
      `${(pipelineMs / t.model).toFixed(3)}× it); load ${load()} at end\n`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

/**
 * The input of run k (window-major, then mirror combination) as the sliding window builds it:
 * each axis padded to the patch, centred (sliding-window.ts planAxis), pad value 0, flipped.
 */
function windowPatches(volume: Float32Array, shape: Shape3, patch: Shape3): (k: number) => Float32Array {
  const plans = shape.map((size, a) => {
    const padded = Math.max(size, patch[a]!);
    return { before: Math.floor((padded - size) / 2), starts: windowStarts(padded, patch[a]!) };
  });
  const flips = mirrorCombinations(VOLUME_MIRROR_AXES);
  const [D, H, W] = shape;
  const [pd, ph, pw] = patch;
  const out = new Float32Array(pd * ph * pw);
  const flipped = new Float32Array(out.length);
  return (k) => {
    const f = k % flips.length;
    let w = Math.floor(k / flips.length);
    const ix = w % plans[2]!.starts.length;
    w = Math.floor(w / plans[2]!.starts.length);
    const iy = w % plans[1]!.starts.length;
    const iz = Math.floor(w / plans[1]!.starts.length);
    const oz = plans[0]!.starts[iz]! - plans[0]!.before;
    const oy = plans[1]!.starts[iy]! - plans[1]!.before;
    const ox = plans[2]!.starts[ix]! - plans[2]!.before;
    for (let z = 0; z < pd; z++)
      for (let y = 0; y < ph; y++)
        for (let x = 0; x < pw; x++) {
          const vz = oz + z;
          const vy = oy + y;
          const vx = ox + x;
          out[(z * ph + y) * pw + x] =
            vz < 0 || vz >= D || vy < 0 || vy >= H || vx < 0 || vx >= W ? 0 : volume[(vz * H + vy) * W + vx]!;
        }
    if (flips[f]!.length === 0) return out;
    flipVolume(out, flipped, 1, patch, flips[f]!);
    return flipped;
  };
}
