// The gate does not grade a parent on its own answers (issue 21, item 2): validation labels that
// are the parent's predictions accepted unchanged score it 100 % by construction, so the gate
// says which labels are independent of the parent, decides on those, and gives no verdict with
// too few; it names the validation images' real domain. The real gate (inference worker,
// onnxruntime) on the shipped starter as parent and a copy of it registered as the candidate,
// with labels made through the review service; the run rows stand for a training run (no trainer
// needed: the gate reads only what a run recorded).
import { readFileSync, writeFileSync } from 'node:fs';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { copyModelFolder } from '../../src/main/models/transfer';
import { runGate, type GateOptions } from '../../src/main/training/gate';
import type { GateResult } from '../../src/shared/contract';
import { MIN_INDEPENDENT_CASES } from '../../src/shared/model/gate';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { recordGateRun } from '../helpers/gate-run';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const MODEL = existsSync(path.join(STARTER, 'model.onnx'));

describe.skipIf(!MODEL)('gate on labels independent of the parent (the starter model is missing otherwise)', () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let b: Backend;
  let gate: GateOptions;
  let parentId = 0;
  let candidateId = 0;
  let series: number[] = [];

  /** Records a done run of `candidateId` from the starter whose validation set is the current labels. */
  const recordRun = (): number => recordGateRun(b.db, { parentId, candidateId });

  beforeAll(async () => {
    b = createBackend({ dataDir, transport: 'http' });
    await b.ready;
    await b.services.settings.update({ ttaFlips: 0, userName: 'Dr Gate' });
    await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 6, imagesPerSeries: 1, seed: 2102, domain: 'base' });
    const started = await b.services.import.start({ paths: [path.join(tmp.dir, 'demo')] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    for (const job of await b.services.jobs.list({ kind: 'inference' })) expect(await b.engine.waitForJob(job.id)).toBe('done');
    series = b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[];
    parentId = b.registry.active()!.id;
    // The candidate: the starter's own weights under another id, a child of the starter.
    const dir = copyModelFolder(STARTER, path.join(tmp.dir, 'candidate')).dir;
    const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, id: 'lgmsnet-starter-ft1', parent: 'lgmsnet-starter' }));
    candidateId = (await b.services.models.importVersion({ folder: dir })).id;
    gate = {
      db: b.db,
      dbPath: path.join(dataDir, 'lgms.sqlite'),
      storeDir: b.store.root,
      registry: b.registry,
      ttaFlips: () => 0,
    };
  }, 180_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it("gives no verdict when every validation label is the parent's prediction accepted unchanged, and names the real domain", async () => {
    for (const seriesId of series) await b.services.review.accept({ seriesId });
    recordRun();
    const result = (await runGate(gate, candidateId)) as GateResult;
    expect(result.n).toBe(6);
    expect(result.independent).toBe(0);
    expect(result.cases.every((c) => c.independent === false)).toBe(true);
    expect(result.meanParent).toBe(1); // the parent grading itself
    expect(result.verdict).toBe('too-few');
    expect(result.domain).toBe('US Demo breast US (base domain) × 6');
  }, 120_000);

  it('decides on the edited labels only once there are enough of them', async () => {
    // Five series corrected by the reader: the accept undone, a square added, submitted.
    for (const seriesId of series.slice(0, MIN_INDEPENDENT_CASES)) {
      await b.services.review.reopen({ seriesId });
      const imageId = b.db.prepare('SELECT id FROM images WHERE series_id = ?').pluck().get(seriesId) as number;
      const p = (await b.services.inference.prediction({ imageId }))!;
      const map = decodeRle(p.mask, p.rows * p.columns);
      for (let y = 0; y < 16; y++) for (let x = 0; x < 16; x++) map[y * p.columns + x] = 1;
      await b.services.viewer.saveDraft({
        seriesId,
        baseRevision: 0,
        slices: [{ imageId, labels: encodeRle(map) }],
        history: null,
      });
      await b.services.review.submit({ seriesId });
    }
    recordRun();
    const result = (await runGate(gate, candidateId)) as GateResult;
    expect(result).toMatchObject({ n: 6, independent: MIN_INDEPENDENT_CASES });
    expect(result.cases.filter((c) => c.independent).length).toBe(MIN_INDEPENDENT_CASES);
    expect(result.meanParent).toBeLessThan(1);
    // Same weights: the same masks, no difference; a verdict now, on the independent labels.
    expect(result.meanDifference).toBe(0);
    expect(result.verdict).toBe('no-evidence');
  }, 120_000);
});
