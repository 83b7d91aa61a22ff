// Models shared and gated on each desk (issue 26): two workstations (two data folders, two
// backends) and one shared folder. A registers a version (the shipped starter's weights under a
// child's id, as gate-independence.test.ts makes a candidate: no trainer needed) and publishes it;
// B lists it and adopts it: the copy is verified by its content hash, registered as a candidate
// of B's own task, and gated on B's frozen validation labels and the reference set, and B cannot
// promote it before that gate has finished. A truncated copy and a copy with one changed byte are
// refused with their reason and leave nothing behind. Real backends, inference workers and gate.
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { STARTER_TASK_UID } from '../../src/main/db/migrations/0220-model-sharing';
import { writeDemoStudies } from '../../src/main/demo';
import { hashVersion } from '../../src/main/models/content-hash';
import { SHARE_SUBFOLDER } from '../../src/main/models/share';
import { copyModelFolder } from '../../src/main/models/transfer';
import { labelsForTraining } from '../../src/main/training/stage';
import { publicationSchema, type GateResult, type SharedVersion } from '../../src/shared/contract';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { unhandledDuring } from '../helpers/unhandled';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const MODEL = existsSync(path.join(STARTER, 'model.onnx'));

/** A workstation: its own data folder, demo studies segmented by the starter, every prediction accepted as a label. */
async function workstation(dir: string, share: string, user: string, patients: number, seed: number): Promise<Backend> {
  const b = createBackend({ dataDir: path.join(dir, 'data'), transport: 'http' });
  await b.ready;
  await b.services.settings.update({ ttaFlips: 0, userName: user, modelShareFolder: share });
  await writeDemoStudies(path.join(dir, 'demo'), { patients, imagesPerSeries: 1, seed, domain: 'base' });
  const started = await b.services.import.start({ paths: [path.join(dir, 'demo')] });
  expect((await b.importer.wait(started.jobId)).status).toBe('done');
  for (const job of await b.services.jobs.list({ kind: 'inference' })) expect(await b.engine.waitForJob(job.id)).toBe('done');
  for (const seriesId of b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[])
    await b.services.review.accept({ seriesId });
  return b;
}

const validationLabelIds = (b: Backend) =>
  labelsForTraining(b.db, 1)
    .filter((l) => l.split === 'validation')
    .map((l) => l.labelId);

describe.skipIf(!MODEL)(
  'models shared through a folder and gated on each workstation (the starter model is missing otherwise)',
  () => {
    const tmp = tempDir();
    const share = path.join(tmp.dir, 'share');
    let a: Backend;
    let b: Backend;
    let published: SharedVersion;
    let onnx: Buffer;

    beforeAll(async () => {
      mkdirSync(share);
      a = await workstation(path.join(tmp.dir, 'a'), share, 'Dr A', 4, 2601);
      b = await workstation(path.join(tmp.dir, 'b'), share, 'Dr B', 10, 2602);
      // A's version: the starter's weights as its child (what a fine-tune registers, without training).
      const dir = copyModelFolder(STARTER, path.join(tmp.dir, 'a-candidate')).dir;
      const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          ...m,
          id: 'lgmsnet-starter-ft1',
          name: 'LGMSNet (fine-tuned on A)',
          version: '1.0.0+ft1',
          parent: 'lgmsnet-starter',
        }),
      );
      await a.services.models.importVersion({ folder: dir });
    }, 300_000);
    afterAll(() => {
      a?.close();
      b?.close();
      tmp.cleanup();
    });

    it('publishes a version with its manifest, lineage, metrics, task and content hash, whole or not at all', async () => {
      const version = (await a.services.models.list()).find((v) => v.modelId === 'lgmsnet-starter-ft1')!;
      published = await a.services.modelShare.publish({ id: version.id });
      const expected = await hashVersion(a.registry.get(version.id).dir);
      expect(published.contentHash).toBe(expected.contentHash);
      expect(readdirSync(path.join(share, SHARE_SUBFOLDER))).toEqual([
        `lgmsnet-starter-ft1--${expected.contentHash.slice(0, 16)}`,
      ]);
      const publication = publicationSchema.parse(
        JSON.parse(readFileSync(path.join(published.folder, 'publication.json'), 'utf8')),
      );
      expect(publication.files).toEqual(expected.files);
      expect(publication.task).toMatchObject({ uid: STARTER_TASK_UID, name: 'Breast lesion (demo)' });
      expect(publication.lineage.map((l) => l.modelId)).toEqual(['lgmsnet-starter-ft1', 'lgmsnet-starter']);
      expect(publication.metrics.validation?.dice).toBeGreaterThan(0.9);
      expect(publication.publishedBy).toBe('Dr A');
      expect(readFileSync(path.join(published.folder, 'model.json'), 'utf8')).toBe(
        readFileSync(path.join(a.registry.get(version.id).dir, 'model.json'), 'utf8'),
      );
      // The same content again: the same folder, nothing staged left over.
      expect((await a.services.modelShare.publish({ id: version.id })).contentHash).toBe(published.contentHash);
      expect(readdirSync(path.join(share, SHARE_SUBFOLDER))).toHaveLength(1);
      expect((await a.services.modelShare.list())[0]!.here).toMatchObject({ versionId: version.id, status: 'candidate' });
      // The starter, shipped to both workstations: published by A, already here on B.
      await a.services.modelShare.publish({ id: a.registry.active()!.id });
    }, 120_000);

    it("lists the share's versions of B's tasks, saying which are already here", async () => {
      const listed = await b.services.modelShare.list({ taskId: 1 });
      expect(listed.map((v) => [v.modelId, v.localTaskId, v.here?.status ?? null, v.damaged])).toEqual(
        expect.arrayContaining([
          ['lgmsnet-starter-ft1', 1, null, null],
          ['lgmsnet-starter', 1, 'active', null],
        ]),
      );
      expect(listed).toHaveLength(2);
      expect(listed.find((v) => v.modelId === 'lgmsnet-starter-ft1')!.publishedBy).toBe('Dr A');
    }, 60_000);

    it('refuses a truncated copy and a copy with one changed byte, in words, leaving nothing behind', async () => {
      const file = path.join(published.folder, 'model.onnx');
      onnx = readFileSync(file);
      const before = (await b.services.models.list()).length;
      try {
        writeFileSync(file, onnx.subarray(0, 1_000_000)); // an interrupted copy
        const seen = (await b.services.modelShare.list()).find((v) => v.contentHash === published.contentHash)!;
        expect(seen.damaged).toBe(`model.onnx is incomplete (1,000,000 of ${onnx.length.toLocaleString('en')} bytes)`);
        await expect(b.services.modelShare.adopt({ contentHash: published.contentHash })).rejects.toMatchObject({
          code: 'corrupt',
          message: expect.stringMatching(
            /^The shared copy of LGMSNet \(fine-tuned on A\) 1\.0\.0\+ft1 \(published by Dr A\) was not adopted: model\.onnx is incomplete \(1,000,000 of [\d,]+ bytes\), as after an interrupted copy\. Nothing was changed/,
          ),
        });

        const changed = Buffer.from(onnx);
        const at = changed.length >> 1;
        changed[at] = changed[at]! ^ 0xff; // one byte, same size
        writeFileSync(file, changed);
        await expect(b.services.modelShare.adopt({ contentHash: published.contentHash })).rejects.toMatchObject({
          code: 'corrupt',
          message: expect.stringContaining(
            'was not adopted: model.onnx is not the file that was published: its contents changed after publishing (its checksum differs)',
          ),
        });
      } finally {
        writeFileSync(file, onnx);
      }
      expect(await b.services.models.list()).toHaveLength(before);
      expect(readdirSync(path.join(b.dataDir, 'models'))).toEqual([]); // no half copy, no staging folder
    }, 60_000);

    it("refuses a version made for other labels than the task's labels here", async () => {
      await b.services.tasks.addLabel({ id: 1, label: { name: 'cyst' } });
      try {
        await expect(b.services.modelShare.adopt({ contentHash: published.contentHash })).rejects.toMatchObject({
          code: 'conflict',
          message: expect.stringContaining('was made for the labels 1 lesion of "Breast lesion (demo)"'),
        });
      } finally {
        await b.services.tasks.retireLabel({ id: 1, value: 2 });
      }
      expect(readdirSync(path.join(b.dataDir, 'models'))).toEqual([]);
    }, 60_000);

    it("adopts it as a candidate gated on B's own validation labels; promotion waits for the gate", async () => {
      const adopted = await b.services.modelShare.adopt({ contentHash: published.contentHash });
      expect(adopted.here).toMatchObject({ status: 'candidate', gatePending: true });
      const id = adopted.here!.versionId;
      // Before the gate has finished, no one can promote it (the request as the Models view sends it).
      const early = await b.api.models.activate({ id });
      expect(early.ok).toBe(false);
      if (!early.ok) {
        expect(early.error.code).toBe('conflict');
        expect(early.error.message).toContain('still being compared');
      }
      expect(b.registry.active()!.manifest.id).toBe('lgmsnet-starter');

      await b.modelShare.waitForGate(id);
      const run = (await b.services.training.list()).find((r) => r.candidateVersionId === id)!;
      expect(run.adoptedFrom).toMatchObject({ contentHash: published.contentHash, publishedBy: 'Dr A' });
      expect(run.gateError).toBeNull();
      expect(run.parentVersionId).toBe(b.registry.active()!.id); // compared with B's active version
      // The gate's validation set is B's frozen validation labels, not A's.
      const mine = validationLabelIds(b);
      expect(mine.length).toBeGreaterThan(0);
      expect(mine.length).not.toBe(validationLabelIds(a).length);
      const gate = run.gate as GateResult;
      expect(gate.n).toBe(mine.length);
      expect(gate.cases.map((c) => c.labelId).sort((x, y) => x - y)).toEqual(mine);
      const bImages = new Set(b.db.prepare('SELECT id FROM images').pluck().all() as number[]);
      expect(gate.cases.every((c) => bImages.has(c.imageId))).toBe(true);
      expect(gate.meanDifference).toBe(0); // the same weights as B's active starter
      expect(run.referenceGate?.n).toBe(32); // the reference set of the active version's domain
      // The training queue does not count the gate as a run that used B's labels.
      expect((await b.services.training.queue({ taskId: 1 })).lastRunAt).toBeNull();

      const promoted = await b.services.models.activate({ id });
      expect(promoted.status).toBe('active');
      const listed = (await b.services.modelShare.list()).find((v) => v.contentHash === published.contentHash)!;
      expect(listed.here).toEqual({ versionId: id, status: 'active', gatePending: false });
      await expect(b.services.modelShare.adopt({ contentHash: published.contentHash })).rejects.toMatchObject({
        code: 'conflict',
      });
    }, 240_000);
  },
);

/**
 * Publishes the starter's weights under the child id `modelId` from a workstation of its own at
 * `dataDir` (no inference) to `share`; returns the publication's content hash.
 */
async function publishStarterChild(dataDir: string, share: string, modelId: string): Promise<string> {
  const a = createBackend({ dataDir, transport: 'http', inference: false });
  try {
    await a.services.settings.update({ modelShareFolder: share });
    const dir = copyModelFolder(STARTER, `${dataDir}-candidate`).dir;
    const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...m, id: modelId, parent: 'lgmsnet-starter' }));
    return (await a.services.modelShare.publish({ id: (await a.services.models.importVersion({ folder: dir })).id })).contentHash;
  } finally {
    await a.close();
  }
}

describe.skipIf(!MODEL)('an adoption whose gate the app left unfinished (the starter model is missing otherwise)', () => {
  const tmp = tempDir();
  const share = path.join(tmp.dir, 'share');
  afterAll(() => tmp.cleanup());

  it('is gated again at the next start, and cannot be promoted until then', async () => {
    mkdirSync(share);
    const hash = await publishStarterChild(path.join(tmp.dir, 'a'), share, 'lgmsnet-starter-ft7');
    const dataDir = path.join(tmp.dir, 'b');
    let b = createBackend({ dataDir, transport: 'http', inference: false });
    let id = 0;
    try {
      await b.services.settings.update({ modelShareFolder: share });
      id = (await b.services.modelShare.adopt({ contentHash: hash })).here!.versionId;
      await b.modelShare.waitForGate(id);
      // As if the app had stopped during the comparison: the flag still set, no result kept.
      b.db.prepare('UPDATE model_version_shares SET gate_pending = 1 WHERE model_version_id = ?').run(id);
      b.db.prepare('UPDATE model_version_training SET reference_gate = NULL WHERE model_version_id = ?').run(id);
    } finally {
      b.close();
    }
    b = createBackend({ dataDir, transport: 'http', inference: false });
    try {
      await expect(b.services.models.activate({ id })).rejects.toMatchObject({ code: 'conflict' });
      await b.modelShare.waitForGate(id);
      expect(b.db.prepare('SELECT gate_pending FROM model_version_shares WHERE model_version_id = ?').pluck().get(id)).toBe(0);
      const run = (await b.services.training.list()).find((r) => r.candidateVersionId === id)!;
      expect(run.referenceGate?.n).toBe(32);
      expect((await b.services.training.list()).filter((r) => r.adoptedFrom !== null)).toHaveLength(1); // the same record
      expect((await b.services.models.activate({ id })).status).toBe('active');
    } finally {
      b.close();
    }
  }, 300_000);

  it('quitting during the gate writes nothing to the closed database; the next start gates it again', async () => {
    mkdirSync(share, { recursive: true });
    const hash = await publishStarterChild(path.join(tmp.dir, 'a2'), share, 'lgmsnet-starter-ft8');
    const dataDir = path.join(tmp.dir, 'b2');
    let b = createBackend({ dataDir, transport: 'http', inference: false });
    await b.services.settings.update({ modelShareFolder: share });
    const id = (await b.services.modelShare.adopt({ contentHash: hash })).here!.versionId;
    // The gate has started (adopt returns with it running): quit now.
    expect(await unhandledDuring(() => b.close(), 3000)).toEqual([]);
    b = createBackend({ dataDir, transport: 'http', inference: false });
    try {
      expect(b.db.prepare('SELECT gate_pending FROM model_version_shares WHERE model_version_id = ?').pluck().get(id)).toBe(1);
      await expect(b.services.models.activate({ id })).rejects.toMatchObject({ code: 'conflict' });
      await b.modelShare.waitForGate(id);
      const run = (await b.services.training.list()).find((r) => r.candidateVersionId === id)!;
      // Gated again whole: on the reference set (this fresh workstation has no validation labels yet, and says so).
      expect(run.referenceGate?.n).toBe(32);
      expect(run.gateError).toContain('no validation labels');
      expect(b.db.prepare('SELECT gate_pending FROM model_version_shares WHERE model_version_id = ?').pluck().get(id)).toBe(0);
    } finally {
      await b.close();
    }
  }, 300_000);
});
