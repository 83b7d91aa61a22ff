import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0200 cluster-training', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('adds cluster_job to a version-130 database, keeping its runs; JSON with a job id only', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      130,
      200,
      `
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO training_runs (id, status, parent_version_id, hyperparameters, out_dir, pid) VALUES (1, 'running', 1, '{}', 'training/run-1', 42);
    `,
    );
    expect(schemaVersion(db)).toBe(200);
    expect(db.prepare('SELECT status, pid, cluster_job FROM training_runs').get()).toEqual({
      status: 'running',
      pid: 42,
      cluster_job: null,
    });
    expect(() => db.prepare("UPDATE training_runs SET cluster_job = '{'").run()).toThrow(/CHECK/);
    expect(() => db.prepare(`UPDATE training_runs SET cluster_job = '{"scheduler":"slurm"}'`).run()).toThrow(/CHECK/);
    db.prepare(`UPDATE training_runs SET cluster_job = '{"scheduler":"slurm","jobId":"7","dir":"/shared/x"}'`).run();
    expect(db.prepare("SELECT json_extract(cluster_job, '$.jobId') FROM training_runs").pluck().get()).toBe('7');
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
