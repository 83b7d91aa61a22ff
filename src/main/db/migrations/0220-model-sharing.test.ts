import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';
import { STARTER_TASK_UID } from './0220-model-sharing';

describe('migration 0220 model-sharing', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('gives every task a UID (the starter the fixed one), new tasks one too, and keeps runs and versions', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      200,
      220,
      `
      INSERT INTO tasks (id, name, domain) VALUES (2, 'Neck', '{}');
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO training_runs (id, status, parent_version_id, hyperparameters, out_dir) VALUES (1, 'queued', 1, '{}', 'training/run-1');
    `,
    );
    expect(schemaVersion(db)).toBe(220);
    const uids = db.prepare('SELECT id, uid FROM tasks ORDER BY id').all() as { id: number; uid: string }[];
    expect(uids[0]).toEqual({ id: 1, uid: STARTER_TASK_UID });
    expect(uids[1]!.uid).toMatch(/^[0-9a-f]{32}$/);
    expect(uids[1]!.uid).not.toBe(STARTER_TASK_UID);
    db.prepare("INSERT INTO tasks (id, name, domain) VALUES (3, 'Liver', '{}')").run();
    expect(db.prepare('SELECT uid FROM tasks WHERE id = 3').pluck().get()).toMatch(/^[0-9a-f]{32}$/);
    expect(() => db.prepare('UPDATE tasks SET uid = ? WHERE id = 3').run(STARTER_TASK_UID)).toThrow(/UNIQUE/);
    expect(db.prepare('SELECT status, adopted_from FROM training_runs').get()).toEqual({ status: 'queued', adopted_from: null });
    expect(() => db.prepare(`UPDATE training_runs SET adopted_from = '{"x":1}'`).run()).toThrow(/CHECK/);

    const hash = 'a'.repeat(64);
    db.prepare(
      'INSERT INTO model_version_shares (model_version_id, content_hash, adopted, gate_pending) VALUES (1, ?, 1, 1)',
    ).run(hash);
    expect(() =>
      db.prepare("INSERT INTO model_version_shares (model_version_id, content_hash, adopted) VALUES (1, 'XYZ', 0)").run(),
    ).toThrow(/CHECK|UNIQUE/);
    // A published (not adopted) version has no pending gate.
    db.prepare(
      "INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (2, 'n', 'n', '1', 'e', '{}', 'candidate')",
    ).run();
    expect(() =>
      db
        .prepare('INSERT INTO model_version_shares (model_version_id, content_hash, adopted, gate_pending) VALUES (2, ?, 0, 1)')
        .run(hash),
    ).toThrow(/CHECK/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
