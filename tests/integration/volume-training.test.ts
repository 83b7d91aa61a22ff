// A 3D task's training data and gate (issue 25), with real parts: two CT phantom series
// (src/main/demo) through the real import, every 4th slice labelled with the generator's organ
// maps, one patient in each frozen split. The training service stages the run in SPEC3D's
// volume format and passes --dims 3 --patch --spacing to the trainer (the trainer itself is
// replaced by a launcher that keeps what it was given: the 3D training is train3d's part and is
// not needed to check the staging). The gate compares a 3D candidate with a 2D parent (both
// seeded, untrained LGMSNets exported by the trainer's code) on the same validation slices.
import { cpSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { createCtPhantom, CT_LABELS, writeCtPhantomSeries } from '../../src/main/demo';
import { seriesByUid, seriesImages } from '../../src/main/export/queries';
import { setSeriesSplit } from '../../src/main/review/labels';
import type { TrainerLauncher } from '../../src/main/training/launcher';
import { TrainingMainService } from '../../src/main/training/service';
import { runGate } from '../../src/main/training/gate';
import { medianSpacing, UNLABELLED } from '../../src/main/training/stage-volume';
import type { GateResult } from '../../src/shared/contract';
import { encodeRle } from '../../src/shared/imaging/rle';
import { codesForName } from '../../src/shared/model/codes';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';
import { recordGateRun } from '../helpers/gate-run';
import { makeVolumeModel, TORCH_PYTHON } from '../helpers/volume-model';

const skip = TORCH_PYTHON ? '' : 'no Python with torch (apt-get install python3-torch)';
const SIZE = 64;
const SLICES = 32;
const VALUES = CT_LABELS.map((l) => l.value);

/** A .npy file's dtype, shape and body (version 1.0 header). */
function readNpy(file: string): { descr: string; shape: number[]; body: Buffer } {
  const bytes = readFileSync(file);
  expect([...bytes.subarray(0, 8)]).toEqual([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0]);
  const length = bytes.readUInt16LE(8);
  const header = bytes.subarray(10, 10 + length).toString('latin1');
  expect((10 + length) % 64).toBe(0);
  return {
    descr: /'descr': '([^']+)'/.exec(header)![1]!,
    shape: /'shape': \(([^)]*)\)/.exec(header)![1]!.split(',').filter(Boolean).map(Number),
    body: bytes.subarray(10 + length),
  };
}

describe.skipIf(skip)(skipTitle('a 3D task: volumes staged for the trainer, and the gate across model kinds', skip), () => {
  const tmp = tempDir();
  let b: Backend;
  let taskId: number;
  const series: { id: number; seed: number; index: number }[] = [];
  /** The generator's label map of each labelled image. */
  const truth = new Map<number, Uint8Array>();

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    await b.services.settings.update({ autoSegmentOnImport: false, ttaFlips: 0 });
    for (const index of [0, 1]) {
      const r = await writeCtPhantomSeries({
        seed: 31,
        index,
        size: SIZE,
        slices: SLICES,
        dicomDir: path.join(tmp.dir, `ct${index}`, 'dicom'),
        groundTruthDir: path.join(tmp.dir, `ct${index}`, 'truth'),
      });
      const started = await b.services.import.start({ paths: [path.join(tmp.dir, `ct${index}`, 'dicom')] });
      expect((await b.importer.wait(started.jobId)).status).toBe('done');
      const s = seriesByUid(b.db, r.seriesInstanceUid)!;
      series.push({ id: s.id, seed: 31, index });
    }
    const task = await b.services.tasks.create({
      name: 'Abdominal organs CT 3D',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      modelKind: '3d',
      labels: CT_LABELS.map((l) => ({ name: l.name, ...codesForName(l.name, l.value) })),
    });
    taskId = task.id;
    // The first patient trains, the second validates; every 4th slice of each is labelled.
    const insert = b.db.prepare(
      "INSERT INTO labels (image_id, series_id, task_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, ?, 'drawn', 'DR^VOLUME')",
    );
    for (const [n, s] of series.entries()) {
      setSeriesSplit(b.db, s.id, n === 0 ? 'training' : 'validation');
      const phantom = createCtPhantom({ seed: s.seed, index: s.index, size: SIZE, slices: SLICES });
      for (const [z, image] of seriesImages(b.db, s.id).entries()) {
        if (z % 4 !== 1) continue;
        // Display order runs inferior → superior: the generator's slices reversed.
        const map = phantom.slice(SLICES - 1 - z).labelMap;
        truth.set(image.id, map);
        insert.run(image.id, s.id, taskId, encodeRle(map), map.filter((v) => v !== 0).length);
      }
    }
  }, 300_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('medianSpacing: per axis, the lower middle of the training series', () => {
    const v = (s: [number, number, number]) => ({ spacing: s });
    expect(medianSpacing([v([5, 0.7, 0.7]), v([2.5, 0.9, 0.8]), v([3, 0.8, 0.6])])).toEqual([3, 0.8, 0.7]);
    expect(medianSpacing([v([5, 1, 1]), v([2.5, 0.5, 0.5])])).toEqual([2.5, 0.5, 0.5]);
  });

  it('a 3D run stages each series in SPEC3D’s format and gives the trainer --dims 3, the patch and the median spacing', async () => {
    const kept = path.join(tmp.dir, 'staged');
    let args: string[] = [];
    const launcher: TrainerLauncher = {
      kind: 'local',
      start: async (spec) => {
        args = spec.args;
        cpSync(path.join(tmp.dir, 'runs', 'training', 'staging', `run-${spec.runId}`), kept, { recursive: true });
        return {
          pid: null,
          cluster: null,
          onLine: () => undefined,
          ended: Promise.resolve({ code: 1, signal: null, stderr: 'a stand-in trainer: staging only' }),
          cancel: () => undefined,
        };
      },
    };
    const training = new TrainingMainService({
      db: b.db,
      dataDir: path.join(tmp.dir, 'runs'),
      frames: b.frames,
      registry: b.registry,
      events: b.events,
      trainer: async () => ({ available: true, checking: false, python: TORCH_PYTHON! }),
      trainerDir: tmp.dir,
      launcher: () => launcher,
    });
    const run = await training.start({ taskId });
    const done = await training.waitFor(run.id);
    expect(done.error).toMatch(/a stand-in trainer/);
    expect(done).toMatchObject({ trainingLabels: 8, validationLabels: 8, init: 'scratch' });

    const value = (name: string) => args[args.indexOf(`--${name}`) + 1];
    const train = series[0]!;
    const meta = createCtPhantom({ seed: train.seed, index: train.index, size: SIZE, slices: SLICES }).meta;
    const spacing = [meta.sliceSpacingMm, ...meta.pixelSpacingMm];
    expect(value('dims')).toBe('3');
    // The CPU recipe of a 3D first model (stage-volume.ts FIRST_VOLUME_MODEL).
    expect([value('patch'), value('width'), value('batch-size'), value('lr'), value('val-every')]).toEqual([
      '32,64,64',
      '8',
      '2',
      '0.01',
      '4',
    ]);
    expect(value('spacing')!.split(',').map(Number)).toEqual(spacing.map((s) => expect.closeTo(s, 5)) as unknown as number[]);
    expect(value('normalization')).toBe('window:40,400');
    expect(args).not.toContain('--init-from');
    expect(JSON.parse(readFileSync(path.join(kept, 'label-map.json'), 'utf8')).labels).toHaveLength(4);

    for (const [n, s] of series.entries()) {
      const folder = path.join(kept, n === 0 ? 'training' : 'validation', 'volumes', `series-${s.id}`);
      expect(existsSync(path.join(kept, n === 0 ? 'validation' : 'training', 'volumes', `series-${s.id}`))).toBe(false);
      const image = readNpy(path.join(folder, 'image.npy'));
      const labels = readNpy(path.join(folder, 'labels.npy'));
      const m = JSON.parse(readFileSync(path.join(folder, 'meta.json'), 'utf8')) as Record<string, unknown>;
      const [d, h, w] = image.shape as [number, number, number];
      expect(image.descr).toBe('<f4');
      expect(labels.descr).toBe('|u1');
      expect(labels.shape).toEqual(image.shape);
      expect(image.body.length).toBe(d * h * w * 4);
      const voxels = new Float32Array(image.body.buffer, image.body.byteOffset, d * h * w);
      expect(voxels.every((x) => x >= 0 && x <= 1)).toBe(true);
      expect(m).toMatchObject({
        modality: 'CT',
        normalization: { type: 'window', center: 40, width: 400 },
        seriesInstanceUid: b.db.prepare('SELECT series_uid FROM series WHERE id = ?').pluck().get(s.id),
      });
      expect(m.series).toMatch(/synthetic phantom/i);
      expect((m.spacing as number[]).map((x, i) => Math.abs(x - spacing[i]!) < 1e-6)).toEqual([true, true, true]);
      const labelled = m.labelledSlices as number[];
      expect(labelled.length).toBeGreaterThan(0);
      const plane = h * w;
      for (let z = 0; z < d; z++) {
        const sliceValues = new Set(labels.body.subarray(z * plane, (z + 1) * plane));
        if (labelled.includes(z)) expect([...sliceValues].every((v) => v === 0 || VALUES.includes(v))).toBe(true);
        else expect([...sliceValues]).toEqual([UNLABELLED]);
      }
      if (n === 0) {
        // At the series' own spacing the grid is the series': slice z holds image z's label map exactly.
        expect([d, h, w]).toEqual([SLICES, SIZE, SIZE]);
        expect(labelled).toEqual(Array.from({ length: 8 }, (_, k) => 4 * k + 1));
        const images = seriesImages(b.db, s.id);
        for (const z of labelled)
          expect(Buffer.compare(labels.body.subarray(z * plane, (z + 1) * plane), Buffer.from(truth.get(images[z]!.id)!))).toBe(
            0,
          );
      }
    }
  }, 300_000);

  it('the gate compares a 3D candidate with a 2D parent on the same validation slices, per label', async () => {
    const validation = series[1]!;
    const meta = createCtPhantom({ seed: validation.seed, index: validation.index, size: SIZE, slices: SLICES }).meta;
    const parentDir = makeVolumeModel(path.join(tmp.dir, 'parent2d'), { dims: 2, size: 64, values: VALUES, id: 'test-ct-2d' });
    const candidateDir = makeVolumeModel(path.join(tmp.dir, 'candidate3d'), {
      patch: [32, 32, 32],
      spacing: [meta.sliceSpacingMm, meta.pixelSpacingMm[0] * 2, meta.pixelSpacingMm[1] * 2],
      values: VALUES,
      id: 'test-ct-3d',
    });
    const parentId = (await b.services.models.importVersion({ folder: parentDir, taskId })).id;
    const candidateId = (await b.services.models.importVersion({ folder: candidateDir, taskId })).id;
    recordGateRun(b.db, { taskId, parentId, candidateId, validationSeriesId: validation.id });
    const result = (await runGate(
      {
        db: b.db,
        dbPath: path.join(tmp.dir, 'data', 'lgms.sqlite'),
        storeDir: b.store.root,
        registry: b.registry,
        ttaFlips: () => 0,
      },
      candidateId,
    )) as GateResult;
    expect(result.set).toBe('validation');
    expect(result.cases).toHaveLength(8);
    for (const c of result.cases) {
      expect(c.candidateDice).toBeGreaterThanOrEqual(0);
      expect(c.parentDice).toBeGreaterThanOrEqual(0);
      expect(Object.keys(c.candidateByLabel!).every((v) => VALUES.includes(Number(v)))).toBe(true);
    }
    expect(result.perLabel!.length).toBeGreaterThan(0);
    const count = (version: number) =>
      b.db
        .prepare(
          'SELECT count(*) FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.model_version_id = ? AND i.series_id = ?',
        )
        .pluck()
        .get(version, validation.id);
    // The 3D candidate segmented the validation series whole; the 2D parent only its validation slices.
    expect(count(candidateId)).toBe(SLICES);
    expect(count(parentId)).toBe(8);
  }, 300_000);
});
