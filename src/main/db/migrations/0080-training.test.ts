import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0080 training-runs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-60 database; one running run, done needs a candidate, exact label lists', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      60,
      80,
      `
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'png', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'png');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2);
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO labels (id, image_id, series_id, mask, foreground_pixels, origin) VALUES (1, 1, 1, x'0004', 0, 'drawn');
    `,
    );
    expect(schemaVersion(db)).toBe(80);
    const add = db.prepare(
      "INSERT INTO training_runs (status, parent_version_id, hyperparameters, out_dir) VALUES (?, 1, '{}', 'training/x')",
    );
    const first = add.run('running').lastInsertRowid;
    // A second running run is refused; queued ones wait.
    expect(() => add.run('running')).toThrow(/UNIQUE/);
    add.run('queued');
    // done without a registered candidate, unknown statuses and bad JSON are refused.
    expect(() => db.prepare("UPDATE training_runs SET status = 'done' WHERE id = ?").run(first)).toThrow(/CHECK/);
    expect(() => add.run('paused')).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE training_runs SET curve = '[' WHERE id = ?").run(first)).toThrow(/CHECK/);
    db.prepare("INSERT INTO training_run_labels (run_id, label_id, split) VALUES (?, 1, 'training')").run(first);
    expect(() =>
      db.prepare("INSERT INTO training_run_labels (run_id, label_id, split) VALUES (?, 1, 'test')").run(first),
    ).toThrow(/CHECK/);
    db.prepare(
      "INSERT INTO model_versions (id, model_id, name, version, parent_id, dir, manifest, status) VALUES (2, 'c', 'c', '1', 'm', 'e', '{}', 'candidate')",
    ).run();
    db.prepare("UPDATE training_runs SET status = 'done', candidate_version_id = 2 WHERE id = ?").run(first);
    db.prepare(
      "INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics) VALUES (2, ?, 1, '{}', '0.2.0', '1.13', '{}')",
    ).run(first);
    expect(db.prepare('SELECT gate FROM model_version_training').pluck().get()).toBeNull();
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });
});
