// Issue 22, a task of the reader's own: the thyroid phantom's four structures (1 lobe, 2 trachea,
// 3 carotid artery, 4 jugular vein) drawn as the reader's labels through the viewer's draft and
// the review's submit, a label never silently changing meaning (rename, retire), labels from a
// modality the task does not cover (refused with the series named, accepted once confirmed), and
// the whole cold start: first model, per-label gate, promote, segment new series, accept.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { generatePhantom, writeDemoStudies, type DemoDicomFile } from '../../src/main/demo';
import { readModelPackage } from '../../src/main/models/package';
import { labelMap } from '../../src/main/review/labels';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import { labelMapFile } from '../../src/main/training/stage';
import { unwrap } from '../../src/shared/contract/client';
import type { ExportResult, Job } from '../../src/shared/contract';
import { FIRST_MODEL_TIME_LIMIT_SECONDS } from '../../src/shared/contract/training';
import type { Task } from '../../src/shared/contract/tasks';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { sources } from '../fixtures';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const trainer = await probeTrainer(pythonCandidates(''));
const CT = path.join(sources.pydicom, 'test_files', 'CT_small.dcm');
// The multi-class inference pipeline (softmax argmax, branch infer) segments with a task's model.

const THYROID = [{ name: 'Thyroid lobe' }, { name: 'Trachea' }, { name: 'Carotid artery' }, { name: 'Internal jugular vein' }];

interface Imported {
  files: DemoDicomFile[];
  /** Series id → its images (id, ground-truth label map) in instance order. */
  series: Map<number, { imageId: number; truth: Uint8Array }[]>;
}

/** Each segment of a SEG as pydicom reads it: label, type code, algorithm type and name. */
const PYDICOM_SEGMENTS = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps([{"label": str(s.SegmentLabel), "code": str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue),
  "type": str(s.SegmentAlgorithmType),
  "algorithm": str(s.SegmentationAlgorithmIdentificationSequence[0].AlgorithmName) if "SegmentationAlgorithmIdentificationSequence" in s else None}
  for s in ds.SegmentSequence]))`;

/** Writes and imports thyroid phantom studies; each image's ground truth is kept for the reader's drawing. */
async function importThyroid(
  b: Backend,
  dir: string,
  opts: { patients: number; imagesPerSeries: number; seed: number; size?: number },
): Promise<Imported> {
  const files = await writeDemoStudies(dir, { ...opts, domain: 'base', anatomy: 'thyroid' });
  const started = unwrap(await b.api.import.start({ paths: [dir] }));
  const job = await b.importer.wait(started.jobId);
  if (job.status !== 'done') throw new Error(`import ${job.status}: ${job.error ?? ''}`);
  const series = new Map<number, { imageId: number; truth: Uint8Array }[]>();
  for (const f of files) {
    const row = b.db.prepare('SELECT id, series_id FROM images WHERE sop_instance_uid = ?').get(f.sopInstanceUid) as {
      id: number;
      series_id: number;
    };
    const phantom = generatePhantom({
      seed: opts.seed,
      index: f.index,
      domain: 'base',
      anatomy: 'thyroid',
      ...(opts.size ? { width: opts.size, height: opts.size } : {}),
    });
    if (!phantom.labelMap) throw new Error('the thyroid phantom has no ground-truth label map');
    const list = series.get(row.series_id) ?? [];
    list.push({ imageId: row.id, truth: phantom.labelMap });
    series.set(row.series_id, list);
  }
  return { files, series };
}

/** The reader's drawing: the ground truth saved as the task's draft, then submitted in review. */
async function drawAndSubmit(b: Backend, taskId: number, seriesId: number, maps: { imageId: number; truth: Uint8Array }[]) {
  const current = unwrap(await b.api.viewer.draft({ seriesId, taskId }));
  unwrap(
    await b.api.viewer.saveDraft({
      seriesId,
      taskId,
      baseRevision: current?.revision ?? 0,
      slices: maps.map((m) => ({ imageId: m.imageId, labels: encodeRle(m.truth) })),
      history: null,
    }),
  );
  return unwrap(await b.api.review.submit({ seriesId, taskId }));
}

/** Freezes each patient's split before the first submit (the last patients are validation). */
function presetSplits(b: Backend, files: DemoDicomFile[], validationPatients: number) {
  const patients = [...new Set(files.map((f) => f.patientId))];
  const add = b.db.prepare(
    "INSERT OR IGNORE INTO splits (split_key, split) SELECT 'patient:' || patient_key, ? FROM patients WHERE patient_id = ?",
  );
  patients.forEach((p, i) => add.run(i >= patients.length - validationPatients ? 'validation' : 'training', p));
}

async function createThyroidTask(b: Backend, name = 'Thyroid (neck US)'): Promise<Task> {
  return unwrap(
    await b.api.tasks.create({
      name,
      domain: { modalities: ['US'], photometric: ['MONOCHROME2', 'RGB'], bodyPart: 'neck' },
      labels: THYROID,
    }),
  );
}

describe("a task of the reader's own: labels keep their meaning", () => {
  const tmp = tempDir();
  let b: Backend;
  let data: Imported;
  let task: Task;

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    unwrap(await b.api.settings.update({ userName: 'Dr Thyroid' }));
    data = await importThyroid(b, path.join(tmp.dir, 'thyroid'), { patients: 3, imagesPerSeries: 3, seed: 2201, size: 96 });
    presetSplits(b, data.files, 1);
    task = await createThyroidTask(b);
  }, 120_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('stores the drawing under its task, with provenance and an audit row naming the task; the starter task is untouched', async () => {
    const [seriesId, maps] = [...data.series][0]!;
    const decision = await drawAndSubmit(b, task.id, seriesId, maps);
    expect(decision.item).toMatchObject({ seriesId, taskId: task.id, state: 'labelled' });
    expect(decision.labels.map((l) => [l.taskId, l.origin, l.author])).toEqual(maps.map(() => [task.id, 'drawn', 'Dr Thyroid']));
    for (const m of maps) {
      expect(labelMap(b.db, m.imageId, task.id)).toEqual(m.truth);
      expect(labelMap(b.db, m.imageId, 1)).toBeNull();
    }
    expect(new Set(maps.flatMap((m) => [...m.truth])).size).toBeGreaterThanOrEqual(4); // background + the structures
    const audit = unwrap(await b.api.review.audit({ seriesId, taskId: task.id }));
    expect(audit[0]).toMatchObject({ action: 'review.submit', taskId: task.id });
    // The starter's review of the same series knows nothing of it.
    expect(unwrap(await b.api.review.labels({ seriesId })).labels).toEqual([]);
    expect(unwrap(await b.api.review.labels({ seriesId, taskId: task.id })).labels).toHaveLength(maps.length);
    expect(unwrap(await b.api.viewer.draft({ seriesId, taskId: task.id }))).toBeNull();
  });

  it('renames and retires a label: the stored maps are unchanged, the names follow, the value stays reserved', async () => {
    const [seriesId, maps] = [...data.series][0]!;
    const before = maps.map((m) => labelMap(b.db, m.imageId, task.id));
    const rows = b.db
      .prepare('SELECT id, mask FROM labels WHERE series_id = ? AND task_id = ? ORDER BY id')
      .all(seriesId, task.id);
    unwrap(await b.api.tasks.updateLabel({ id: task.id, value: 2, name: 'Windpipe' }));
    const retired = unwrap(await b.api.tasks.retireLabel({ id: task.id, value: 3 }));
    expect(retired.labels.map((l) => [l.value, l.name, l.retiredAt !== null])).toEqual([
      [1, 'Thyroid lobe', false],
      [2, 'Windpipe', false],
      [3, 'Carotid artery', true],
      [4, 'Internal jugular vein', false],
    ]);
    // Not one byte of a stored label map changed, nor a row.
    expect(
      b.db.prepare('SELECT id, mask FROM labels WHERE series_id = ? AND task_id = ? ORDER BY id').all(seriesId, task.id),
    ).toEqual(rows);
    expect(maps.map((m) => labelMap(b.db, m.imageId, task.id))).toEqual(before);
    // The trainer's label map names the values by their current names; the retired value is ignored, never renumbered.
    const file = labelMapFile(retired);
    expect(file.labels).toEqual([
      { value: 1, name: 'Thyroid lobe' },
      { value: 2, name: 'Windpipe' },
      { value: 4, name: 'Internal jugular vein' },
    ]);
    expect(file.ignoreValues).toEqual([3]);
    const added = unwrap(await b.api.tasks.addLabel({ id: task.id, label: { name: 'Nodule' } }));
    expect(added.labels.at(-1)).toMatchObject({ value: 5, name: 'Nodule' });
  });

  it('refuses labels of a modality the task does not cover, naming the series, and takes them once confirmed', async () => {
    // Two more US series drawn: 9 images from 3 series, training and validation patients.
    for (const [seriesId, maps] of [...data.series].slice(1)) await drawAndSubmit(b, task.id, seriesId, maps);
    const ready = unwrap(await b.api.training.firstModel({ taskId: task.id }));
    expect(ready).toMatchObject({ hasModel: false, labelledImages: 9, series: 3, ready: true, reason: null });
    // A CT slice drawn in the same task (value 1, a rectangle).
    const started = unwrap(await b.api.import.start({ paths: [CT] }));
    await b.importer.wait(started.jobId);
    const ct = b.db
      .prepare(
        "SELECT i.id, i.series_id AS seriesId, i.rows * i.columns AS n FROM images i JOIN series s ON s.id = i.series_id WHERE s.modality = 'CT'",
      )
      .get() as {
      id: number;
      seriesId: number;
      n: number;
    };
    const map = new Uint8Array(ct.n);
    map.fill(1, 100, 400);
    await drawAndSubmit(b, task.id, ct.seriesId, [{ imageId: ct.id, truth: map }]);

    const refused = await b.api.training.start({ taskId: task.id, maxSteps: 1 });
    expect(refused.ok).toBe(false);
    if (refused.ok) return;
    expect(refused.error.code).toBe('conflict');
    expect(refused.error.message).toContain(`series ${ct.seriesId} (CT`);
    expect(refused.error.message).toContain('confirm');
    expect(b.db.prepare('SELECT count(*) FROM training_runs WHERE task_id = ?').pluck().get(task.id)).toBe(0);
    // Readiness counts only the series inside the task's applicability.
    expect(unwrap(await b.api.training.firstModel({ taskId: task.id })).series).toBe(3);

    const accepted = unwrap(
      await b.api.training.start({ taskId: task.id, maxSteps: 1, size: 64, batchSize: 2, confirmSeriesIds: [ct.seriesId] }),
    );
    expect(accepted).toMatchObject({ taskId: task.id, parentVersionId: null, init: 'starter' });
    expect(accepted.hyperparameters.confirmedSeriesIds).toEqual([ct.seriesId]);
    // The first model's own recipe (docs/benchmarks.md, firstmodel): ten minutes at most, left-right
    // mirroring only and a random scanner appearance on half the images.
    expect(accepted.hyperparameters).toMatchObject({
      maxSteps: 1,
      timeLimitSeconds: FIRST_MODEL_TIME_LIMIT_SECONDS,
      mirrorOnly: true,
      appearance: 0.5,
      replayFraction: 0,
      anchor: 0,
    });
    const done = await b.training.waitFor(accepted.id);
    if (trainer.available) {
      // The confirmed CT label was staged with the US ones.
      const staged = b.db
        .prepare('SELECT l.series_id FROM training_run_labels r JOIN labels l ON l.id = r.label_id WHERE r.run_id = ?')
        .pluck()
        .all(accepted.id);
      expect(staged).toContain(ct.seriesId);
      expect(staged).toHaveLength(10);
    } else {
      expect(done.status).toBe('failed');
    }
  }, 300_000);
});

describe('every task segments what it covers', () => {
  const tmp = tempDir();
  let b: Backend;
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('segments an import with the active version of each task whose domain matches, each in its own review queue', async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    // A second task covering ultrasound, whose version is the starter's network under another id.
    const task = await createThyroidTask(b, 'Second US task');
    const pkg = readModelPackage(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter'));
    const copy = path.join(tmp.dir, 'second');
    cpSync(pkg.dir, copy, { recursive: true });
    writeFileSync(path.join(copy, 'model.json'), JSON.stringify({ ...pkg.manifest, id: 'second-us-v1', name: 'Second US v1' }));
    const second = b.registry.upsert(readModelPackage(copy), false, task.id);
    unwrap(await b.api.models.activate({ id: second }));
    const starter = b.registry.active(1)!.id;
    expect(starter).not.toBe(second);

    await writeDemoStudies(path.join(tmp.dir, 'us'), { patients: 1, imagesPerSeries: 2, seed: 2205, domain: 'base' });
    const started = unwrap(await b.api.import.start({ paths: [path.join(tmp.dir, 'us'), CT] }));
    await b.importer.wait(started.jobId);
    for (let i = 0; i < 600; i++) {
      const jobs = unwrap(await b.api.jobs.list({ kind: 'inference', limit: 50 }));
      if (jobs.length >= 2 && jobs.every((j) => j.status !== 'queued' && j.status !== 'running')) break;
      await new Promise((r) => setTimeout(r, 500));
    }
    const us = b.db.prepare("SELECT id FROM series WHERE modality = 'US'").pluck().get() as number;
    const ct = b.db.prepare("SELECT id FROM series WHERE modality = 'CT'").pluck().get() as number;
    const jobs = unwrap(await b.api.jobs.list({ kind: 'inference', limit: 50 }));
    // One job per task for the ultrasound series, none for the CT (neither task covers it).
    expect(jobs.map((j) => [j.status, j.kind === 'inference' ? [j.params.seriesId, j.params.taskId ?? 1] : null]).sort()).toEqual(
      [
        ['done', [us, 1]],
        ['done', [us, task.id]],
      ],
    );
    const versions = b.db
      .prepare(
        'SELECT DISTINCT p.model_version_id FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.series_id = ? ORDER BY 1',
      )
      .pluck()
      .all(us);
    expect(versions).toEqual([starter, second].sort((x, y) => x - y));
    for (const [taskId, version] of [
      [1, starter],
      [task.id, second],
    ] as const) {
      expect(unwrap(await b.api.review.item({ seriesId: us, taskId }))).toMatchObject({
        state: 'to-review',
        modelVersionId: version,
        taskId,
      });
      expect(unwrap(await b.api.review.item({ seriesId: ct, taskId }))).toMatchObject({ state: 'outside-domain', taskId });
    }
  }, 300_000);
});

describe('edit Dice per label', () => {
  const tmp = tempDir();
  let b: Backend;
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it("keeps each label's Dice between the task's prediction and the reader's correction, in the labels and the audit row", async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    const task = await createThyroidTask(b);
    const data = await importThyroid(b, path.join(tmp.dir, 'thyroid'), { patients: 1, imagesPerSeries: 2, seed: 2204, size: 64 });
    const [seriesId, maps] = [...data.series][0]!;
    // A version of the task whose stored prediction is the truth with the trachea (2) painted as lobe (1).
    const version = Number(
      b.db
        .prepare(
          "INSERT INTO model_versions (model_id, name, version, dir, manifest, status, task_id) VALUES ('thyroid-v1', 'v1', '1', 'x', ?, 'active', ?)",
        )
        .run(
          JSON.stringify({ id: 'thyroid-v1', output: { activation: 'softmax', classes: 5, labels: THYROID.map((l) => l.name) } }),
          task.id,
        ).lastInsertRowid,
    );
    const predicted = maps.map((m) => m.truth.map((v) => (v === 2 ? 1 : v)));
    maps.forEach((m, i) =>
      b.db
        .prepare(
          'INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (?, ?, ?, 1, 0, 0)',
        )
        .run(m.imageId, version, encodeRle(predicted[i]!)),
    );
    b.db.prepare("UPDATE series SET status = 'segmented' WHERE id = ?").run(seriesId);
    expect(unwrap(await b.api.review.item({ seriesId, taskId: task.id }))).toMatchObject({
      state: 'to-review',
      modelVersionId: version,
      taskId: task.id,
    });
    const decision = await drawAndSubmit(b, task.id, seriesId, maps);
    for (const [i, l] of decision.labels.entries()) {
      expect(l.origin).toBe('edited');
      const truth = maps[i]!.truth;
      const count = (m: Uint8Array, v: number) => m.filter((x) => x === v).length;
      // Lobe: the prediction's lobe is lobe + trachea; trachea: never predicted; the vessels: exact.
      expect(l.editDiceByLabel![1]).toBeCloseTo((2 * count(truth, 1)) / (count(predicted[i]!, 1) + count(truth, 1)), 12);
      expect(l.editDiceByLabel![2]).toBe(0);
      // A label in neither map is left out, not scored as agreement.
      for (const v of [3, 4]) expect(l.editDiceByLabel![v]).toBe(truth.includes(v) ? 1 : undefined);
    }
    expect(unwrap(await b.api.review.labels({ seriesId, taskId: task.id })).labels[0]!.editDiceByLabel).toEqual(
      decision.labels[0]!.editDiceByLabel,
    );
    const [audit] = unwrap(await b.api.review.audit({ seriesId, taskId: task.id }));
    expect(audit).toMatchObject({ action: 'review.submit', taskId: task.id, modelVersionId: version });
    expect((audit!.detail as { labels: { meanEditDiceByLabel: Record<string, number> } }).labels.meanEditDiceByLabel['2']).toBe(
      0,
    );
  }, 120_000);
});

describe.skipIf(!trainer.available)(
  `cold start of a four-label task (${!trainer.available ? `no Python with torch: ${trainer.reason}` : trainer.python})`,
  () => {
    const tmp = tempDir();
    let b: Backend;
    let task: Task;
    let data: Imported;

    beforeAll(async () => {
      process.env.OMP_NUM_THREADS = '2';
      b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
      await b.ready;
      unwrap(await b.api.settings.update({ userName: 'Dr Thyroid', ttaFlips: 0 }));
      task = await createThyroidTask(b);
      // 16 images from 4 series (patients); the last patient's are validation.
      data = await importThyroid(b, path.join(tmp.dir, 'train'), { patients: 4, imagesPerSeries: 4, seed: 2202, size: 128 });
      presetSplits(b, data.files, 1);
    }, 180_000);
    afterAll(() => {
      b?.close();
      tmp.cleanup();
    });

    it('labels 16 images, trains the first model, reads per-label Dice from the gate, promotes it, segments new series with four labels and accepts one', async () => {
      for (const [seriesId, maps] of data.series) await drawAndSubmit(b, task.id, seriesId, maps);
      expect(unwrap(await b.api.training.firstModel({ taskId: task.id }))).toMatchObject({
        labelledImages: 16,
        series: 4,
        ready: true,
      });

      const run = unwrap(await b.api.training.start({ taskId: task.id, maxSteps: 40, size: 64, batchSize: 4 }));
      const done = await b.training.waitFor(run.id);
      expect(done.error).toBeNull();
      expect(done.status).toBe('done');
      expect(done.gateError).toBeNull();
      const gate = done.firstModelGate!;
      console.log(
        `first model (40 steps, 64 px): ${gate.perLabel.map((l) => `${l.name} ${l.mean.toFixed(3)} [${l.ci95.map((x) => x.toFixed(3)).join(', ')}]`).join('; ')}; mean ${gate.meanCandidate.toFixed(3)}`,
      );
      expect(gate.kind).toBe('first-model');
      expect(gate.perLabel.map((l) => l.name)).toEqual(THYROID.map((l) => l.name));
      for (const l of gate.perLabel) {
        expect(l.mean).toBeGreaterThanOrEqual(0);
        expect(l.ci95[0]).toBeLessThanOrEqual(l.mean);
        expect(l.ci95[1]).toBeGreaterThanOrEqual(l.mean);
      }
      const version = unwrap(await b.api.models.list({ taskId: task.id })).find((v) => v.id === done.candidateVersionId)!;
      expect(version).toMatchObject({
        taskId: task.id,
        status: 'candidate',
        labels: THYROID.map((l) => l.name),
        domain: task.domain,
      });
      const manifest = b.registry.get(version.id).manifest;
      expect(manifest.output).toMatchObject({ activation: 'softmax', classes: 5, values: [1, 2, 3, 4] });
      // The trainer got the first model's recipe: its time bound, mirroring only, the appearance change.
      expect(manifest.training.command).toMatch(/--time-limit 600\b/);
      expect(manifest.training.command).toContain('--mirror-only');
      expect(manifest.training.command).toMatch(/--appearance 0\.5\b/);

      // Promote: the task's version becomes active; the starter stays active for its own task.
      const starter = b.registry.active(1)!.id;
      unwrap(await b.api.models.activate({ id: version.id }));
      expect(b.registry.active(task.id)!.id).toBe(version.id);
      expect(b.registry.active(1)!.id).toBe(starter);

      // New series: segmented by the task's model (and the starter's, whose domain covers them too).
      const fresh = await importThyroid(b, path.join(tmp.dir, 'new'), { patients: 2, imagesPerSeries: 2, seed: 2203, size: 128 });
      for (const seriesId of fresh.series.keys()) {
        const { jobId } = unwrap(await b.api.inference.segmentSeries({ seriesId, taskId: task.id }));
        expect(await b.engine.waitForJob(jobId)).toBe('done');
      }
      const values = new Set<number>();
      for (const maps of fresh.series.values())
        for (const m of maps) {
          const p = unwrap(await b.api.inference.prediction({ imageId: m.imageId, taskId: task.id }))!;
          expect(p.modelVersionId).toBe(version.id);
          for (const v of decodeRle(p.mask, p.rows * p.columns)) values.add(v);
        }
      expect([...values].every((v) => v >= 0 && v <= 4)).toBe(true);
      expect([...values].some((v) => v > 0)).toBe(true);

      const queue = unwrap(await b.api.review.queue({ queue: 'review', taskId: task.id }));
      expect(queue.map((i) => i.taskId)).toEqual(queue.map(() => task.id));
      const first = queue.find((i) => fresh.series.has(i.seriesId))!;
      expect(first.modelVersionId).toBe(version.id);
      const accepted = unwrap(await b.api.review.accept({ seriesId: first.seriesId, taskId: task.id }));
      expect(
        accepted.labels.every((l) => l.origin === 'accepted' && l.taskId === task.id && l.modelVersionId === version.id),
      ).toBe(true);
      // The starter's queue holds its own item of the series, undecided.
      expect(unwrap(await b.api.review.item({ seriesId: first.seriesId })).taskId).toBe(1);

      // A later version fine-tunes the task's own and is compared per label, the verdict on the mean over labels.
      const next = unwrap(await b.api.training.start({ taskId: task.id, maxSteps: 10, batchSize: 4 }));
      expect(next).toMatchObject({ taskId: task.id, parentVersionId: version.id, init: null });
      const tuned = await b.training.waitFor(next.id);
      expect(tuned.error).toBeNull();
      expect(tuned.gateError).toBeNull();
      expect(tuned.firstModelGate).toBeNull();
      const perLabel = tuned.gate!.perLabel!;
      expect(perLabel.map((l) => l.value)).toEqual([1, 2, 3, 4]);
      for (const l of perLabel) expect(l.meanDifference).toBeCloseTo(l.meanCandidate - l.meanParent, 12);
      // The verdict's figures come from the validation cases independent of the parent (issue 21).
      const independent = tuned.gate!.cases.filter((c) => c.independent === true);
      const caseMeans = (independent.length ? independent : tuned.gate!.cases).map((c) => c.candidateDice);
      expect(tuned.gate!.meanCandidate).toBeCloseTo(caseMeans.reduce((x, y) => x + y, 0) / caseMeans.length, 12);
      expect(b.registry.get(tuned.candidateVersionId!).taskId).toBe(task.id);

      // The accepted series as a DICOM SEG: one segment per label with the task's names and codes,
      // AUTOMATIC with the model named (dciodvfy finds no error; pydicom reads the four segments);
      // imported back into the task it gives the same label maps under the same labels.
      const acceptedMaps = new Map(accepted.labels.map((l) => [l.imageId, labelMap(b.db, l.imageId, task.id)!]));
      const { jobId: exportJob } = unwrap(
        await b.api.export.start({
          seriesIds: [first.seriesId],
          format: 'seg',
          outDir: path.join(tmp.dir, 'seg'),
          taskId: task.id,
        }),
      );
      const exported = (await b.exporter.wait(exportJob)) as Job & { result: ExportResult };
      expect(exported.status).toBe('done');
      const segFile = exported.result.series[0]!.files.map((f) =>
        path.isAbsolute(f) ? f : path.join(exported.result.outDir, f),
      ).find((f) => f.endsWith('.dcm'))!;
      const dciodvfy = spawnSync('dciodvfy', [segFile], { encoding: 'utf8' });
      expect(dciodvfy.error, 'dciodvfy (apt dicom3tools) must be installed').toBeUndefined();
      expect(`${dciodvfy.stdout}${dciodvfy.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
      const segments = JSON.parse(execFileSync('/usr/bin/python3', ['-c', PYDICOM_SEGMENTS, segFile], { encoding: 'utf8' })) as {
        label: string;
        code: string;
        type: string;
        algorithm: string | null;
      }[];
      expect(segments.map((x) => x.label)).toEqual(task.labels.map((l) => l.name));
      expect(segments.map((x) => x.code)).toEqual(task.labels.map((l) => l.type.value));
      expect(segments.every((x) => x.type === 'AUTOMATIC' && x.algorithm !== null)).toBe(true);
      const { jobId: importJob } = unwrap(await b.api.import.start({ paths: [path.dirname(segFile)], taskId: task.id }));
      expect((await b.importer.wait(importJob)).status).toBe('done');
      const [set] = unwrap(await b.api.import.labelSets({}));
      const proposal = unwrap(await b.api.import.proposeLabelSet({ labelSetId: set!.id, taskId: task.id }));
      expect(proposal.unresolved).toEqual([]);
      expect(proposal.segments.map((x) => [x.value, x.by])).toEqual(task.labels.map((l) => [l.value, 'code']));
      unwrap(await b.api.import.applyLabelSet({ labelSetId: set!.id, taskId: task.id }));
      for (const [imageId, map] of acceptedMaps) expect(labelMap(b.db, imageId, task.id)).toEqual(map);
    }, 900_000);
  },
);
