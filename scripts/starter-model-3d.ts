// Reproduces the shipped 3D starter (resources/demo-models/lgmsnet3d-ct-demo) through the app's own
// path: generated CT phantom volumes (src/main/demo/ct.ts: body, liver, spleen, two kidneys;
// base domain unenhanced, shifted domain portal-venous with another field of view and slice
// thickness) imported as DICOM, their organ maps given as a 3D task's labels on every slice,
// the task's first model trained by the training service (staging SPEC3D volumes, the trainer's
// --dims 3), then scored on held-out phantoms of both domains through the inference jobs, and
// its folder copied into resources/demo-models with the task's identity (model.json `task`):
// "Load demo studies" with the CT volumes registers it (registry.ts registerBuiltins), which
// creates the task once and activates the model there, before the volumes are imported.
// Synthetic, not clinical.
//
//   LGMS_PYTHON=/usr/bin/python3 npx tsx scripts/starter-model-3d.ts [--time-limit 900] [--train 8]
//     [--val 2] [--test 3] [--size 128] [--slices 48] [--work .tmp/starter3d] [--no-install]
//
// Seeds: 5101 train and validation (patients 0…train+val−1), 5303 held-out test (both domains).
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../src/main/backend';
import { createCtPhantom, CT_LABELS, writeCtPhantomSeries } from '../src/main/demo';
import { seriesByUid, seriesImages } from '../src/main/export/queries';
import { setSeriesSplit } from '../src/main/review/labels';
import { decodeRle, encodeRle } from '../src/shared/imaging/rle';
import { codesForName } from '../src/shared/model/codes';
import type { ModelManifest } from '../src/shared/model/manifest';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const TIME_LIMIT = Number(opt('time-limit', '900'));
const TRAIN = Number(opt('train', '8'));
const VAL = Number(opt('val', '2'));
const TEST = Number(opt('test', '3'));
const SIZE = Number(opt('size', '128'));
const SLICES = Number(opt('slices', '48'));
const ROOT = path.resolve(path.dirname(new URL(import.meta.url).pathname), '..');
const WORK = path.resolve(ROOT, opt('work', '.tmp/starter3d'));
const MODEL_ID = 'lgmsnet3d-ct-demo';
const OUT = path.join(ROOT, 'resources', 'demo-models', MODEL_ID);
/** The demo CT task's identity on every workstation (model.json task.uid). */
const TASK_UID = 'a3d0c7a5d0e14f6b9e2c8d1f0b7a4e53';
const TASK_NAME = 'Abdominal organs CT (demo)';
const SEEDS = { train: 5101, test: 5303 } as const;

const log = (s: string) => process.stdout.write(`[${new Date().toISOString().slice(11, 19)}] ${s}\n`);

rmSync(WORK, { recursive: true, force: true });
mkdirSync(WORK, { recursive: true });
const b = createBackend({ dataDir: path.join(WORK, 'data'), transport: 'http', modelsDir: path.join(WORK, 'no-models') });
await b.ready;
await b.services.settings.update({ autoSegmentOnImport: false, ttaFlips: 0 });

interface Volume {
  seriesId: number;
  seed: number;
  index: number;
  domain: 'base' | 'shifted';
}

/** Writes and imports one phantom series; returns where it landed. */
async function phantom(seed: number, index: number, domain: 'base' | 'shifted'): Promise<Volume> {
  const dir = path.join(WORK, 'dicom', `${seed}-${index}-${domain}`);
  const r = await writeCtPhantomSeries({
    seed,
    index,
    domain,
    size: SIZE,
    slices: SLICES,
    dicomDir: dir,
    groundTruthDir: path.join(WORK, 'truth'),
  });
  const started = await b.services.import.start({ paths: [dir] });
  const done = await b.importer.wait(started.jobId);
  if (done.status !== 'done') throw new Error(`import of ${dir}: ${done.status}`);
  const s = seriesByUid(b.db, r.seriesInstanceUid)!;
  return { seriesId: s.id, seed, index, domain };
}

/** The generator's organ map of each slice of a series, in the series' display order (inferior → superior). */
function truthMaps(v: Volume): Map<number, Uint8Array> {
  const ct = createCtPhantom({ seed: v.seed, index: v.index, domain: v.domain, size: SIZE, slices: SLICES });
  const out = new Map<number, Uint8Array>();
  for (const [z, image] of seriesImages(b.db, v.seriesId).entries()) out.set(image.id, ct.slice(SLICES - 1 - z).labelMap);
  return out;
}

log(`generating and importing ${TRAIN + VAL} training/validation phantoms and ${2 * TEST} test phantoms (${SIZE}² × ${SLICES})`);
const fitting: Volume[] = [];
for (let i = 0; i < TRAIN + VAL; i++) fitting.push(await phantom(SEEDS.train, i, 'base'));
const tests: Volume[] = [];
for (const domain of ['base', 'shifted'] as const)
  for (let i = 0; i < TEST; i++) tests.push(await phantom(SEEDS.test, i, domain));

const task = await b.services.tasks.create({
  name: TASK_NAME,
  domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
  modelKind: '3d',
  labels: CT_LABELS.map((l) => ({ name: l.name, ...codesForName(l.name, l.value) })),
});
const insert = b.db.prepare(
  "INSERT INTO labels (image_id, series_id, task_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, ?, 'drawn', 'PHANTOM^GROUND TRUTH')",
);
b.db.transaction(() => {
  for (const [n, v] of fitting.entries()) {
    setSeriesSplit(b.db, v.seriesId, n < TRAIN ? 'training' : 'validation');
    for (const [imageId, map] of truthMaps(v))
      insert.run(imageId, v.seriesId, task.id, encodeRle(map), map.filter((x) => x !== 0).length);
  }
})();

log(`training the task's first 3D model (time limit ${TIME_LIMIT} s)`);
const started = Date.now();
const run = await b.services.training.start({ taskId: task.id, init: 'scratch', timeLimitSeconds: TIME_LIMIT });
const finished = await b.training.waitFor(run.id);
if (finished.status !== 'done' || finished.candidateVersionId === null)
  throw new Error(`training ${finished.status}: ${finished.error}`);
const trainSeconds = (Date.now() - started) / 1000;
const versionId = finished.candidateVersionId;
await b.services.models.activate({ id: versionId });
log(
  `trained in ${trainSeconds.toFixed(0)} s; first-model gate: mean ${finished.firstModelGate?.meanCandidate.toFixed(3)} ${JSON.stringify(finished.firstModelGate?.perLabel.map((l) => [l.name, Number(l.mean.toFixed(3))]) ?? null)}`,
);

// Held-out phantoms of both domains, segmented by the inference jobs; Dice per organ pooled over the volumes.
const scores: Record<string, { tp: number[]; fp: number[]; fn: number[]; n: number; seconds: number }> = {};
for (const v of tests) {
  const t0 = Date.now();
  const { jobId } = await b.services.inference.segmentSeries({ seriesId: v.seriesId, taskId: task.id, ttaFlips: 0 });
  if ((await b.engine.waitForJob(jobId)) !== 'done') throw new Error(`segmenting the ${v.domain} test phantom ${v.index} failed`);
  const s = (scores[v.domain] ??= {
    tp: CT_LABELS.map(() => 0),
    fp: CT_LABELS.map(() => 0),
    fn: CT_LABELS.map(() => 0),
    n: 0,
    seconds: 0,
  });
  s.seconds += (Date.now() - t0) / 1000;
  s.n++;
  const stored = b.db.prepare('SELECT mask FROM predictions WHERE image_id = ? AND model_version_id = ?');
  for (const [imageId, truth] of truthMaps(v)) {
    const predicted = decodeRle((stored.get(imageId, versionId) as { mask: Uint8Array }).mask, truth.length);
    for (const [k, l] of CT_LABELS.entries())
      for (let i = 0; i < truth.length; i++) {
        const t = truth[i] === l.value;
        const p = predicted[i] === l.value;
        if (t && p) s.tp[k]!++;
        else if (p) s.fp[k]!++;
        else if (t) s.fn[k]!++;
      }
  }
}

const metricsOf = (s: (typeof scores)[string]) => {
  const per = CT_LABELS.map((l, k) => {
    const tp = s.tp[k]!;
    const fp = s.fp[k]!;
    const fn = s.fn[k]!;
    return {
      name: l.name,
      dice: (2 * tp) / Math.max(1, 2 * tp + fp + fn),
      iou: tp / Math.max(1, tp + fp + fn),
      sensitivity: tp / Math.max(1, tp + fn),
      precision: tp / Math.max(1, tp + fp),
    };
  });
  const mean = (k: 'dice' | 'iou' | 'sensitivity' | 'precision') => per.reduce((a, p) => a + p[k], 0) / per.length;
  return {
    metric: { dice: mean('dice'), iou: mean('iou'), sensitivity: mean('sensitivity'), precision: mean('precision'), n: s.n },
    perLabel: Object.fromEntries(per.map((p) => [p.name, Number(p.dice.toFixed(4))])),
    secondsPerVolume: s.seconds / s.n,
  };
};
const base = metricsOf(scores['base']!);
const shifted = metricsOf(scores['shifted']!);
log(`held-out mean Dice: base ${base.metric.dice.toFixed(3)} ${JSON.stringify(base.perLabel)}`);
log(`held-out mean Dice: shifted ${shifted.metric.dice.toFixed(3)} ${JSON.stringify(shifted.perLabel)}`);

const version = b.registry.get(versionId);
const summary = {
  trainSeconds,
  machine: `${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores`,
  firstModelGate: finished.firstModelGate && { ...finished.firstModelGate, cases: undefined },
  testBase: base,
  testShifted: shifted,
  steps: (version.manifest.training as { steps?: number }).steps,
};
writeFileSync(path.join(WORK, 'summary.json'), `${JSON.stringify(summary, null, 2)}\n`);

if (!args.includes('--no-install')) {
  rmSync(OUT, { recursive: true, force: true });
  cpSync(version.dir, OUT, { recursive: true });
  const manifest = JSON.parse(readFileSync(path.join(OUT, 'model.json'), 'utf8')) as ModelManifest & Record<string, unknown>;
  const described = `${TRAIN} generated CT phantom volumes (src/main/demo/ct.ts, base domain, seed ${SEEDS.train}, ${SIZE}×${SIZE}×${SLICES}) with every slice labelled for training; ${VAL} (same seed, next patients) frozen for validation. Synthetic, not clinical.`;
  const out: Record<string, unknown> = {
    ...manifest,
    id: MODEL_ID,
    name: 'LGMSNet 3D starter (synthetic CT phantoms: liver, spleen, kidneys)',
    version: '1.0.0',
    parent: null,
    domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
    task: {
      uid: TASK_UID,
      name: TASK_NAME,
      modelKind: '3d',
      labels: CT_LABELS.map((l) => ({ value: l.value, name: l.name, ...codesForName(l.name, l.value) })),
    },
    training: {
      ...manifest.training,
      data: described,
      command: `LGMS_PYTHON=${process.env['LGMS_PYTHON'] ?? 'python3'} npx tsx scripts/starter-model-3d.ts --time-limit ${TIME_LIMIT} --train ${TRAIN} --val ${VAL} --test ${TEST} --size ${SIZE} --slices ${SLICES}`,
      durationSeconds: Math.round(trainSeconds),
      machine: summary.machine,
      evaluation: `scripts/starter-model-3d.ts: ${TEST} held-out phantoms per domain (seed ${SEEDS.test}), every slice, segmented by the app's inference jobs without TTA; Dice per organ pooled over the volumes, metrics the mean over the four organs`,
    },
    metrics: { ...manifest.metrics, 'test-base': base.metric, 'test-shifted': shifted.metric },
  };
  writeFileSync(path.join(OUT, 'model.json'), `${JSON.stringify(out, null, 2)}\n`);
  if (!existsSync(path.join(OUT, 'model.onnx'))) throw new Error('the trained version has no model.onnx');
  log(`installed in ${path.relative(ROOT, OUT)}`);
}
b.close();
