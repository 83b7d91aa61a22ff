import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0240 work-owners', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('adds an owner process to jobs and training runs, null for the rows already there, which keep everything else', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      230,
      240,
      `
      INSERT INTO jobs (id, kind, status, title, params) VALUES (7, 'import', 'running', 'Import CD', '{"paths":["/cd"]}');
      INSERT INTO training_runs (id, status, task_id, hyperparameters, out_dir, pid) VALUES (3, 'running', 1, '{}', 'training/run-3', 4242);
    `,
    );
    expect(schemaVersion(db)).toBe(240);
    expect(db.prepare('SELECT id, kind, status, title, params, owner_pid FROM jobs').all()).toEqual([
      { id: 7, kind: 'import', status: 'running', title: 'Import CD', params: '{"paths":["/cd"]}', owner_pid: null },
    ]);
    expect(db.prepare('SELECT id, status, pid, owner_pid FROM training_runs').all()).toEqual([
      { id: 3, status: 'running', pid: 4242, owner_pid: null },
    ]);
    db.prepare('UPDATE jobs SET owner_pid = ? WHERE id = 7').run(process.pid);
    expect(db.prepare('SELECT owner_pid FROM jobs').pluck().get()).toBe(process.pid);
    db.close();
  });
});
