import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0230 pull-jobs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it("lets a job be of kind 'pull' and keeps every job, its id and its import items", () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      220,
      230,
      `
      INSERT INTO jobs (id, kind, status, title, params, progress, result, error, started_at, finished_at)
        VALUES (7, 'import', 'done', 'Import CD', '{"paths":["/cd"]}', '{"done":3}', '{"studyIds":[1]}', NULL, 's', 'f');
      INSERT INTO jobs (id, kind, status, title) VALUES (9, 'export', 'failed', 'Send SEG');
      INSERT INTO import_items (id, job_id, path, status) VALUES (1, 7, '/cd/1.dcm', 'imported');
    `,
    );
    expect(schemaVersion(db)).toBe(230);
    expect(
      db.prepare('SELECT id, kind, status, title, params, progress, result, started_at, finished_at FROM jobs ORDER BY id').all(),
    ).toEqual([
      {
        id: 7,
        kind: 'import',
        status: 'done',
        title: 'Import CD',
        params: '{"paths":["/cd"]}',
        progress: '{"done":3}',
        result: '{"studyIds":[1]}',
        started_at: 's',
        finished_at: 'f',
      },
      {
        id: 9,
        kind: 'export',
        status: 'failed',
        title: 'Send SEG',
        params: '{}',
        progress: '{}',
        result: null,
        started_at: null,
        finished_at: null,
      },
    ]);
    db.prepare("INSERT INTO jobs (kind, status, params) VALUES ('pull', 'running', '{\"taskId\":1,\"endpointId\":1}')").run();
    expect(() => db.prepare("INSERT INTO jobs (kind, status) VALUES ('push', 'queued')").run()).toThrow(/CHECK/);
    // The import items still belong to their job, and go with it.
    expect(db.prepare('SELECT job_id FROM import_items').pluck().all()).toEqual([7]);
    db.prepare('DELETE FROM jobs WHERE id = 7').run();
    expect(db.prepare('SELECT count(*) FROM import_items').pluck().get()).toBe(0);
    expect(db.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'jobs_status'").pluck().get()).toBe(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
