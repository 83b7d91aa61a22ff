// Closing the whole backend (what the app does when it quits, `lgms serve` on SIGTERM) while the
// inference worker or an import is busy: nothing may touch the database after it is closed (a
// reply of a worker arriving then used to write a job's progress or result into a closed
// connection: an unhandled error at quit), and the next start finds the work either finished or
// marked interrupted, never a series left "segmenting", never a half-imported series or an orphan
// pack. The real starter model, the real workers, real SQLite files. (Training: training.test.ts.)
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { unwrap } from '../../src/shared/contract/client';
import { writeDemoStudies } from '../../src/main/demo';
import { writeCtSeries } from '../helpers/ct-series';
import { storeProblems } from '../helpers/store';
import { importLabelledStudies } from '../helpers/training-data';
import { INTERRUPTED } from '../../src/main/jobs/store';
import { ROOT } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';
import { unhandledDuring } from '../helpers/unhandled';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.json');
const missing = existsSync(STARTER) ? '' : 'the starter model.json is missing';

describe.skipIf(missing)(skipTitle('closing the backend while the inference worker is busy', missing), () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('close() resolves after the worker has stopped, nothing writes to the closed database, and the next start marks the job interrupted and segments the series again', async () => {
    const dataDir = path.join(tmp.dir, 'data');
    await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 2, imagesPerSeries: 48, seed: 11, domain: 'base' });
    const b = createBackend({ dataDir, transport: 'http' });
    await b.ready;
    const started = unwrap(await b.api.import.start({ paths: [path.join(tmp.dir, 'demo')] }));
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    // The import queued both series' segmentations: close as soon as the first reports progress,
    // with the second still queued (the queue used to go on to it on the closed database).
    await expect
      .poll(
        () =>
          b.db
            .prepare("SELECT count(*) FROM jobs WHERE kind = 'inference' AND status = 'running' AND progress IS NOT NULL")
            .pluck()
            .get(),
        {
          timeout: 60_000,
          interval: 5,
        },
      )
      .toBe(1);
    const errors = await unhandledDuring(async () => {
      const closed = b.close();
      expect(closed).toBeInstanceOf(Promise);
      await closed;
    }, 1500);
    expect(errors).toEqual([]);

    // The next start: the job the quit stopped is marked interrupted (or it had finished), the
    // series is not left "segmenting" by a job that no longer runs, and the start's automatic
    // segmentation finishes it.
    const again = createBackend({ dataDir, transport: 'http' });
    try {
      const first = again.db.prepare("SELECT status, error FROM jobs WHERE kind = 'inference' ORDER BY id LIMIT 1").get() as {
        status: string;
        error: string | null;
      };
      if (first.status !== 'done') expect(first, JSON.stringify(first)).toEqual({ status: 'failed', error: INTERRUPTED });
      const statuses = () => again.db.prepare('SELECT status FROM series ORDER BY id').pluck().all();
      for (const status of statuses()) expect(['new', 'segmented']).toContain(status);
      await again.ready;
      await expect.poll(statuses, { timeout: 120_000, interval: 100 }).toEqual(['segmented', 'segmented']);
    } finally {
      await again.close();
    }
  }, 180_000);

  it('an import stops at its next series: whole series kept, no orphan pack, the job interrupted, and importing again completes it', async () => {
    const source = path.join(tmp.dir, 'ct');
    for (let i = 1; i <= 20; i++) writeCtSeries(path.join(source, `s${i}`), { count: 40, size: 64, seriesIndex: i });
    const dataDir = path.join(tmp.dir, 'import-data');
    const b = createBackend({ dataDir, transport: 'http', inference: false });
    const started = unwrap(await b.api.import.start({ paths: [source] }));
    // A second import waits for the first (one at a time): quitting records it interrupted too.
    const queued = unwrap(await b.api.import.start({ paths: [path.join(source, 's1')] }));
    const series = () => b.db.prepare('SELECT count(*) FROM series').pluck().get() as number;
    await expect.poll(series, { timeout: 60_000, interval: 5 }).toBeGreaterThan(0);
    const waited = b.importer.wait(started.jobId).catch((e: unknown) => (e as Error).message);
    const errors = await unhandledDuring(() => b.close(), 1500);
    expect(errors).toEqual([]);
    expect(await waited).toBe('The app closed during the import: start it again to finish it.');

    const again = createBackend({ dataDir, transport: 'http', inference: false });
    try {
      for (const id of [started.jobId, queued.jobId])
        expect(again.db.prepare('SELECT status, error FROM jobs WHERE id = ?').get(id)).toEqual({
          status: 'failed',
          error: INTERRUPTED,
        });
      const counts = again.db.prepare('SELECT count(*) FROM images GROUP BY series_id').pluck().all() as number[];
      expect(counts.length).toBeLessThan(20); // stopped before the end
      for (const n of counts) expect(n).toBe(40); // each series kept is whole
      expect(storeProblems(dataDir)).toEqual([]);
      const rerun = unwrap(await again.api.import.start({ paths: [source] }));
      expect((await again.importer.wait(rerun.jobId)).status).toBe('done');
      expect(again.db.prepare('SELECT count(*) FROM images GROUP BY series_id').pluck().all()).toEqual(Array(20).fill(40));
      expect(storeProblems(dataDir)).toEqual([]);
    } finally {
      await again.close();
    }
  }, 180_000);

  it('an export stops before its next series: recorded as interrupted, its stage removed, nothing in the output folder', async () => {
    const dataDir = path.join(tmp.dir, 'export-data');
    const b = createBackend({ dataDir, transport: 'http', inference: false });
    await importLabelledStudies(b, tmp.dir, {
      patients: 12,
      imagesPerSeries: 12,
      seed: 5,
      domain: 'base',
      validationPatients: 0,
    });
    const seriesIds = b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[];
    const out = path.join(tmp.dir, 'export-out');
    const { jobId } = unwrap(await b.api.export.start({ seriesIds, format: 'nifti', outDir: out }));
    const errors = await unhandledDuring(() => b.close(), 1500);
    expect(errors).toEqual([]);
    const again = createBackend({ dataDir, transport: 'http', inference: false });
    try {
      const job = again.db.prepare('SELECT status, error FROM jobs WHERE id = ?').get(jobId);
      expect(job).toEqual({ status: 'failed', error: INTERRUPTED });
      expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
      const stages = path.join(dataDir, 'export-staging');
      expect(existsSync(stages) ? readdirSync(stages) : []).toEqual([]);
    } finally {
      await again.close();
    }
  }, 180_000);
});
