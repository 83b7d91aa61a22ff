// A task whose labels have a side (src/shared/model/laterality.ts) is never mirrored: a mirror
// shows the patient's right on the left, so a 2D model trained unmirrored paints "right" on the
// left organ of a flipped image, and flipping that back and averaging mixes the two sides. Its
// inference jobs and its gate run without flip TTA whatever the setting asks, and store the
// truth (predictions.tta_flips, the job's and the gate's ttaFlips: 0, the one unflipped pass);
// a task without a side keeps the setting. The real backend and worker on the shipped 2D starter
// (as parent) and a copy of it (as candidate); the reader gives the starter task's label a side
// by renaming it, as the Tasks view does. The run rows stand for a training run (the gate reads
// only what a run recorded), as in gate-independence.test.ts.
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { copyModelFolder } from '../../src/main/models/transfer';
import { runGate, runReferenceGate, type GateOptions } from '../../src/main/training/gate';
import type { GateResult } from '../../src/shared/contract';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { recordGateRun } from '../helpers/gate-run';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const MODEL = existsSync(path.join(STARTER, 'model.onnx'));
const STARTER_TASK = 1;

describe.skipIf(!MODEL)('no flip TTA for a task whose labels have a side (the starter model is missing otherwise)', () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let b: Backend;
  let gate: GateOptions;
  let parentId = 0;
  let candidateId = 0;
  let seriesId = 0;

  /** Segments the series through a job (the setting's flips unless `ttaFlips`); the job's result and the stored predictions. */
  async function segment(ttaFlips?: 0 | 2 | 4) {
    const { jobId } = await b.services.inference.segmentSeries({ seriesId, ...(ttaFlips !== undefined ? { ttaFlips } : {}) });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    const job = await b.services.jobs.get({ id: jobId });
    const stored = b.db
      .prepare(
        'SELECT p.tta_flips AS flips, p.uncertainty, p.tta_dice AS ttaDice FROM predictions p JOIN images i ON i.id = p.image_id WHERE i.series_id = ? AND p.model_version_id = ?',
      )
      .all(seriesId, parentId) as { flips: number; uncertainty: Uint8Array | null; ttaDice: number | null }[];
    return { result: job.result as { ttaFlips: number }, stored };
  }

  /** The flips stored with each version's predictions of the validation images (what the gate ran). */
  const gateFlips = (versionId: number) =>
    b.db.prepare('SELECT DISTINCT tta_flips FROM predictions WHERE model_version_id = ?').pluck().all(versionId);

  beforeAll(async () => {
    b = createBackend({ dataDir, transport: 'http' });
    await b.ready;
    await b.services.settings.update({ ttaFlips: 2, autoSegmentOnImport: false, userName: 'Dr Side' });
    await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 3, imagesPerSeries: 2, seed: 2301, domain: 'base' });
    const started = await b.services.import.start({ paths: [path.join(tmp.dir, 'demo')] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    const series = b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[];
    seriesId = series[0]!;
    parentId = b.registry.active()!.id;
    // Labels to validate on: each series segmented (the setting's flips) and accepted.
    for (const id of series) {
      const { jobId } = await b.services.inference.segmentSeries({ seriesId: id });
      expect(await b.engine.waitForJob(jobId)).toBe('done');
      await b.services.review.accept({ seriesId: id });
    }
    // The candidate: the starter's own weights under another id, a child of the starter, in the same task.
    const dir = copyModelFolder(STARTER, path.join(tmp.dir, 'candidate')).dir;
    const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, id: 'lgmsnet-starter-ft1', parent: 'lgmsnet-starter' }));
    candidateId = (await b.services.models.importVersion({ folder: dir })).id;
    recordGateRun(b.db, { parentId, candidateId });
    gate = {
      db: b.db,
      dbPath: path.join(dataDir, 'lgms.sqlite'),
      storeDir: b.store.root,
      registry: b.registry,
      ttaFlips: () => 2, // the setting above
    };
  }, 180_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('a task without a side (the ultrasound lesion) keeps the setting: 2 flips run and are stored, in a job and in the gate', async () => {
    const { result, stored } = await segment();
    expect(result.ttaFlips).toBe(2);
    expect(stored.length).toBe(2);
    for (const p of stored) {
      expect(p.flips).toBe(2);
      expect(p.uncertainty).not.toBeNull(); // the flips' heat map
      expect(p.ttaDice).not.toBeNull(); // the flips' agreement
    }
    expect((await segment(4)).stored.every((p) => p.flips === 4)).toBe(true);
    const verdict = (await runGate(gate, candidateId)) as GateResult;
    expect(verdict.ttaFlips).toBe(2);
    expect(gateFlips(candidateId)).toEqual([2]);
    expect((await runReferenceGate(gate, candidateId))!.ttaFlips).toBe(2);
  }, 180_000);

  it('once a label has a side, no flips run whatever the setting or the job asks, and 0 is stored', async () => {
    await b.services.tasks.updateLabel({ id: STARTER_TASK, value: 1, name: 'Right breast lesion' });
    for (const asked of [undefined, 4] as const) {
      const { result, stored } = await segment(asked);
      expect(result.ttaFlips).toBe(0);
      expect(stored.length).toBe(2);
      for (const p of stored) {
        expect(p.flips).toBe(0);
        expect(p.uncertainty).toBeNull(); // one unflipped pass: no flips to disagree
        expect(p.ttaDice).toBeNull();
      }
    }
    const verdict = (await runGate(gate, candidateId)) as GateResult;
    expect(verdict.ttaFlips).toBe(0);
    expect(gateFlips(candidateId)).toEqual([0]);
    expect(gateFlips(parentId)).toEqual([0]);
    expect((await runReferenceGate(gate, candidateId))!.ttaFlips).toBe(0);
  }, 180_000);
});
