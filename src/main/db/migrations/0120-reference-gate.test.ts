import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0120 reference-gate', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('adds reference_gate to a version-80 database, keeping its rows; JSON only', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      80,
      120,
      `
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO model_versions (id, model_id, name, version, parent_id, dir, manifest, status) VALUES (2, 'c', 'c', '1', 'm', 'e', '{}', 'candidate');
      INSERT INTO training_runs (id, status, parent_version_id, candidate_version_id, hyperparameters, out_dir) VALUES (1, 'done', 1, 2, '{}', 'training/x');
      INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics, gate)
        VALUES (2, 1, 1, '{}', '0.2.0', '1.13', '{}', '{"set":"validation"}');
    `,
    );
    expect(schemaVersion(db)).toBe(120);
    expect(db.prepare('SELECT gate, reference_gate FROM model_version_training').get()).toEqual({
      gate: '{"set":"validation"}',
      reference_gate: null,
    });
    expect(() => db.prepare("UPDATE model_version_training SET reference_gate = '{'").run()).toThrow(/CHECK/);
    db.prepare(`UPDATE model_version_training SET reference_gate = '{"set":"reference"}'`).run();
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
