// Closing the whole backend (what the app does when it quits, `lgms serve` on SIGTERM) while the
// inference worker is busy: nothing may touch the database after it is closed (a reply of the
// worker arriving then used to write a job's progress or result into a closed connection: an
// unhandled error at quit), and the next start finds the work either finished or marked
// interrupted, never a series left "segmenting". The real starter model, the real worker, a real
// SQLite file.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
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
    const started = await b.api.import.start({ paths: [path.join(tmp.dir, 'demo')] });
    if (!started.ok) throw new Error(JSON.stringify(started));
    expect((await b.importer.wait(started.value.jobId)).status).toBe('done');
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
});
