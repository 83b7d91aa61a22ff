// A 3D model through the product's job path (issue 25): a seeded, untrained 3D LGMSNet exported
// by the trainer's code (tests/helpers/volume-model.py) is a CT task's active version; a CT
// phantom series (src/main/demo, 64×64×32) is imported through the real import and segmented as
// one volume by the inference worker: one stored label map per slice with the model's label
// values, on the series' grid and in its slice order (compared with the pipeline run here on the
// generator's own HU); cancel mid-volume and kill -9 mid-volume leave none of the series'
// slices stored; a series that is not a regular stack and one over the memory budget are refused
// with the reason. Weights are random: the checks are about shapes, order and storage.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import type * as Ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { createCtPhantom, CT_LABELS, writeCtPhantomSeries } from '../../src/main/demo';
import { seriesByUid } from '../../src/main/export/queries';
import { isGridHeatMap } from '../../src/shared/imaging/heat-map';
import { cleanLabels } from '../../src/shared/imaging/multiclass';
import { decodeRle } from '../../src/shared/imaging/rle';
import { segmentVolume } from '../../src/shared/imaging/volume-pipeline';
import type { Job } from '../../src/shared/contract';
import { codesForName } from '../../src/shared/model/codes';
import { ROOT } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';
import { makeVolumeModel, TORCH_PYTHON } from '../helpers/volume-model';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const skip = TORCH_PYTHON ? '' : 'no Python with torch (apt-get install python3-torch)';
const PHANTOM = { seed: 25, size: 64, slices: 32 } as const;
const VALUES = CT_LABELS.map((l) => l.value);
const PATCH: [number, number, number] = [32, 32, 32];

describe.skipIf(skip)(skipTitle('a 3D model segments a CT series as one volume through the job path', skip), () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let b: Backend;
  let seriesId: number;
  let taskId: number;
  let versionId: number;
  let modelDir: string;
  const meta = createCtPhantom(PHANTOM).meta;
  // The model grid: slices as they are, rows and columns at 4/3 of the pixel spacing → 32×48×48, 4 windows of 32³.
  const spacing: [number, number, number] = [
    meta.sliceSpacingMm,
    (meta.pixelSpacingMm[0] * 4) / 3,
    (meta.pixelSpacingMm[1] * 4) / 3,
  ];

  const predictions = (version = versionId) =>
    b.db
      .prepare(
        'SELECT p.image_id AS imageId, p.mask, p.uncertainty, p.foreground_pixels AS foreground, p.entropy, p.tta_flips AS flips, i.rows, i.columns, i.position_index AS z FROM predictions p JOIN images i ON i.id = p.image_id WHERE p.model_version_id = ? AND i.series_id = ? ORDER BY i.position_index',
      )
      .all(version, seriesId) as {
      imageId: number;
      mask: Uint8Array;
      uncertainty: Uint8Array | null;
      foreground: number;
      entropy: number;
      flips: number;
      rows: number;
      columns: number;
    }[];

  beforeAll(async () => {
    modelDir = makeVolumeModel(path.join(tmp.dir, 'model3d'), { patch: PATCH, spacing, values: VALUES });
    b = createBackend({ dataDir, transport: 'http' });
    await b.ready;
    await b.services.settings.update({ autoSegmentOnImport: false });
    const r = await writeCtPhantomSeries({
      ...PHANTOM,
      dicomDir: path.join(tmp.dir, 'ct', 'dicom'),
      groundTruthDir: path.join(tmp.dir, 'ct', 'truth'),
    });
    const started = await b.services.import.start({ paths: [path.dirname(r.files[0]!)] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    seriesId = seriesByUid(b.db, r.seriesInstanceUid)!.id;
    const task = await b.services.tasks.create({
      name: 'Abdominal organs CT',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      modelKind: '3d',
      labels: CT_LABELS.map((l) => ({ name: l.name, ...codesForName(l.name, l.value) })),
    });
    taskId = task.id;
    versionId = (await b.services.models.importVersion({ folder: modelDir, taskId })).id;
    await b.services.models.activate({ id: versionId });
  }, 300_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('stores one label map per slice in slice order, as the volume pipeline segments the generator’s HU, with progress per window', async () => {
    const seen: Job[] = [];
    const off = b.events.on('onDidChangeJob', (j) => seen.push(j));
    const { jobId } = await b.services.inference.segmentSeries({ seriesId, taskId, ttaFlips: 2 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    off();
    const job = await b.services.jobs.get({ id: jobId });
    // Asked for 2 flips (which asks for the heat map), a volume runs unmirrored: 0 flips ran and are recorded.
    expect(job.result).toMatchObject({ seriesId, segmented: PHANTOM.slices, failed: [], ttaFlips: 0 });
    const windows = seen.flatMap((j) => (j.kind === 'inference' && j.progress?.unit === 'windows' ? [j.progress] : []));
    expect(windows.length).toBeGreaterThan(0);
    expect(windows.every((p) => p.total === 4)).toBe(true);

    const stored = predictions();
    expect(stored).toHaveLength(PHANTOM.slices);
    // The same pipeline run here on the generator's HU (display order runs inferior → superior: the generator's slices reversed).
    const phantom = createCtPhantom(PHANTOM);
    const n = PHANTOM.size * PHANTOM.size;
    const hu = new Float32Array(PHANTOM.slices * n);
    for (let z = 0; z < PHANTOM.slices; z++) hu.set(phantom.slice(PHANTOM.slices - 1 - z).hu, z * n);
    const session = await ort.InferenceSession.create(path.join(modelDir, 'model.onnx'), { intraOpNumThreads: 1 });
    const expected = await segmentVolume(
      {
        values: hu,
        shape: [PHANTOM.slices, PHANTOM.size, PHANTOM.size],
        spacing: [meta.sliceSpacingMm, ...meta.pixelSpacingMm],
        modality: 'CT',
      },
      { spacing, values: VALUES },
      async (patch, shape) =>
        (await session.run({ input: new ort.Tensor('float32', patch, [1, 1, ...shape]) })).logits!.data as Float32Array,
      // A volume is not mirrored (volume-series.ts VOLUME_MIRROR_AXES).
      { patch: PATCH, mirrorAxes: [] },
    );
    await session.release();
    let same = 0;
    const values = new Set<number>();
    for (const [z, p] of stored.entries()) {
      expect([p.rows, p.columns, p.flips]).toEqual([PHANTOM.size, PHANTOM.size, 0]);
      const labels = decodeRle(p.mask, n);
      for (const v of labels) values.add(v);
      expect(p.foreground).toBe(labels.filter((v) => v !== 0).length);
      expect(p.uncertainty && isGridHeatMap(p.uncertainty)).toBe(true);
      expect(p.entropy).toBeGreaterThanOrEqual(0);
      expect(p.entropy).toBeLessThanOrEqual(1);
      const mine = expected.labeler.slice(z, false).labels;
      cleanLabels(mine, PHANTOM.size, PHANTOM.size, 16, true);
      for (let i = 0; i < n; i++) if (mine[i] === labels[i]) same++;
    }
    expect([...values].every((v) => v === 0 || VALUES.includes(v))).toBe(true);
    expect(values.size).toBeGreaterThan(1);
    // Threads and rounding may move a tie: all but a few voxels agree.
    expect(same / (n * PHANTOM.slices)).toBeGreaterThan(0.99);
    // Read back through the service as any 2D prediction is.
    const shown = await b.services.inference.prediction({ imageId: stored[5]!.imageId, taskId });
    expect(shown).toMatchObject({ modelVersionId: versionId, rows: PHANTOM.size, columns: PHANTOM.size });
    // The Models view can tell a 3D version by its patch and spacing.
    const info = (await b.services.models.list({ taskId })).find((v) => v.id === versionId)!;
    expect(info).toMatchObject({ kind: '3d', patch: PATCH, spacing });
  }, 300_000);

  it('cancel mid-volume: the job is cancelled and none of the series’ slices is stored', async () => {
    b.db.prepare('DELETE FROM predictions WHERE model_version_id = ?').run(versionId);
    const { jobId } = await b.services.inference.segmentSeries({ seriesId, taskId, ttaFlips: 4 });
    await new Promise<void>((resolve) => {
      const off = b.events.on('onDidChangeJob', (j) => {
        if (j.id === jobId && j.kind === 'inference' && j.progress?.unit === 'windows' && (j.progress.done ?? 0) >= 1) {
          off();
          resolve();
        }
      });
    });
    await b.services.jobs.cancel({ id: jobId });
    expect(await b.engine.waitForJob(jobId)).toBe('cancelled');
    expect(predictions()).toHaveLength(0);
    expect(b.db.prepare('SELECT status FROM series WHERE id = ?').pluck().get(seriesId)).toBe('new');
  }, 300_000);

  it('a series that is not a regular stack is refused with the reason, nothing stored', async () => {
    const middle = b.db
      .prepare('SELECT id, image_position AS position FROM images WHERE series_id = ? ORDER BY position_index LIMIT 1 OFFSET 10')
      .get(seriesId) as { id: number; position: string };
    const moved = (JSON.parse(middle.position) as number[]).map((v, i) => (i === 2 ? v + 1.3 : v));
    b.db.prepare('UPDATE images SET image_position = ? WHERE id = ?').run(JSON.stringify(moved), middle.id);
    try {
      const { jobId } = await b.services.inference.segmentSeries({ seriesId, taskId, ttaFlips: 0 });
      expect(await b.engine.waitForJob(jobId)).toBe('failed');
      const job = await b.services.jobs.get({ id: jobId });
      expect(job.error).toMatch(
        /^A 3D model segments a series as one volume, but this series is not a regular stack of slices: its slices are not evenly spaced/,
      );
      expect(predictions()).toHaveLength(0);
    } finally {
      b.db.prepare('UPDATE images SET image_position = ? WHERE id = ?').run(middle.position, middle.id);
    }
  }, 120_000);

  it('kill -9 of the backend mid-volume: no half series stored; the next start marks the job interrupted', async () => {
    b.close();
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(ROOT, 'tests', 'helpers', 'segment-child.ts'), dataDir, String(seriesId), String(taskId)],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, OMP_NUM_THREADS: '1' } },
    );
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        if (/window \d+/.test(buf)) resolve();
      });
      child.on('exit', (code) => reject(new Error(`child exited ${code} before a window: ${buf}`)));
    });
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const raw = new BetterSqlite3(path.join(dataDir, 'lgms.sqlite'));
    const running = raw.prepare("SELECT id FROM jobs WHERE kind = 'inference' AND status = 'running'").pluck().all() as number[];
    const rows = raw.prepare('SELECT count(*) FROM predictions WHERE model_version_id = ?').pluck().get(versionId);
    raw.close();
    expect(running).toHaveLength(1);
    expect(rows).toBe(0);
    b = createBackend({ dataDir, transport: 'http', volumeMemoryBytes: 1_000_000 });
    await b.ready;
    const job = await b.services.jobs.get({ id: running[0]! });
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/interrupted/);
    expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok');
  }, 300_000);

  it('a series over the memory budget is refused before any slice is read, saying how much it would need', async () => {
    // This backend (reopened above) allows 1 MB: the 64×64×32 series needs more.
    const { jobId } = await b.services.inference.segmentSeries({ seriesId, taskId, ttaFlips: 0 });
    expect(await b.engine.waitForJob(jobId)).toBe('failed');
    const job = await b.services.jobs.get({ id: jobId });
    expect(job.error).toMatch(
      /^This series is too large to segment with this 3D model on this workstation: its 64×64×32 voxels would need about \d+(\.\d)? MB of memory .* more than the 1(\.0)? MB allowed\.$/,
    );
    // Refused before any slice was read: no progress was reported.
    expect(job.kind === 'inference' && job.progress?.unit).toBeFalsy();
    expect(predictions()).toHaveLength(0);
  }, 120_000);

  it('auto-segmentation after an import queues a 3D version for a CT volume, not for a single CT image', async () => {
    await b.services.settings.update({ autoSegmentOnImport: true });
    const imported: number[] = [];
    for (const [index, slices] of [
      [1, 1],
      [2, 2],
    ] as const) {
      const r = await writeCtPhantomSeries({
        seed: 26,
        index,
        size: 32,
        slices,
        dicomDir: path.join(tmp.dir, `auto${index}`, 'dicom'),
        groundTruthDir: path.join(tmp.dir, `auto${index}`, 'truth'),
      });
      const started = await b.services.import.start({ paths: [path.join(tmp.dir, `auto${index}`, 'dicom')] });
      expect((await b.importer.wait(started.jobId)).status).toBe('done');
      imported.push(seriesByUid(b.db, r.seriesInstanceUid)!.id);
    }
    const jobsOf = async (id: number) =>
      (await b.services.jobs.list({ kind: 'inference', limit: 500 })).filter(
        (j) => j.kind === 'inference' && j.params.seriesId === id,
      );
    await expect.poll(async () => (await jobsOf(imported[1]!)).length, { timeout: 10_000 }).toBe(1);
    expect(await jobsOf(imported[0]!)).toEqual([]);
    // Waited for (refused by the reopened backend's 1 MB budget), so that closing finds no job running.
    expect(['done', 'failed']).toContain(await b.engine.waitForJob((await jobsOf(imported[1]!))[0]!.id));
  }, 120_000);
});
