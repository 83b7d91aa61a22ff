// Benchmark: the inference pipeline on a 200-slice generated US series, through the real engine
// (worker thread, provider selection, SQLite): model-only time per slice against the whole
// pipeline per slice (decode → stored mask) with TTA off, the cost of 2 and 4 flips, and the
// main thread's event-loop delay (p99) while the series is segmented.
// With --model multiclass, the five-class softmax twin of the starter (tests/helpers/multiclass-model.py:
// the starter's layers, a fixed five-class head) is made, registered and activated first.
// Run: npx tsx tests/bench/inference.ts [--slices 200] [--model starter|multiclass]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { createBackend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import type { InferenceTimings } from '../../src/shared/contract';
import { makeMulticlassModel } from '../helpers/multiclass-model';

const args = process.argv.slice(2);
const SLICES = Number(args.includes('--slices') ? args[args.indexOf('--slices') + 1] : 200);
const MODEL = args.includes('--model') ? args[args.indexOf('--model') + 1]! : 'starter';
const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-bench-inference-'));
try {
  await writeDemoStudies(path.join(dir, 'demo'), { patients: 1, imagesPerSeries: SLICES, seed: 9090, domain: 'base' });
  const b = createBackend({ dataDir: path.join(dir, 'data'), transport: 'http' });
  await b.ready;
  await b.services.settings.update({ autoSegmentOnImport: false });
  if (MODEL === 'multiclass') {
    const version = await b.services.models.importVersion({ folder: makeMulticlassModel(path.join(dir, 'multiclass')) });
    await b.services.models.activate({ id: version.id });
  }
  const status = await b.services.inference.status();
  const { jobId } = await b.services.import.start({ paths: [path.join(dir, 'demo')] });
  await b.importer.wait(jobId);
  const seriesId = b.db.prepare('SELECT id FROM series').pluck().get() as number;
  process.stdout.write(
    `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; provider ${status.provider}; model ${status.model?.modelId}; ${SLICES} slices 256×256\n`,
  );

  const perSlice: Record<number, InferenceTimings> = {};
  for (const flips of [0, 2, 4] as const) {
    await b.services.settings.update({ ttaFlips: flips });
    const histogram = monitorEventLoopDelay({ resolution: 5 });
    histogram.enable();
    const { jobId: inferenceJob } = await b.services.inference.segmentSeries({ seriesId });
    const final = await b.engine.waitForJob(inferenceJob);
    histogram.disable();
    if (final !== 'done') throw new Error(`inference ${final}`);
    const job = await b.services.jobs.get({ id: inferenceJob });
    const t = (job.result as { timingsMs: InferenceTimings }).timingsMs;
    const per = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, v / SLICES])) as unknown as InferenceTimings;
    perSlice[flips] = per;
    process.stdout.write(
      `TTA ${flips || 'off'}: per slice ${per.total.toFixed(2)} ms = decode ${per.decode.toFixed(2)} + preprocess ${per.preprocess.toFixed(2)} + model ${per.model.toFixed(2)} + postprocess ${per.postprocess.toFixed(2)} + store ${per.store.toFixed(2)}; ` +
        `event-loop delay p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms, max ${(histogram.max / 1e6).toFixed(1)} ms\n`,
    );
  }
  const off = perSlice[0]!;
  process.stdout.write(`pipeline / model-only (TTA off): ${(off.total / off.model).toFixed(3)}×\n`);
  process.stdout.write(
    `TTA cost: 2 flips ${(perSlice[2]!.total / off.total).toFixed(2)}×, 4 flips ${(perSlice[4]!.total / off.total).toFixed(2)}× the TTA-off time\n`,
  );
  b.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
