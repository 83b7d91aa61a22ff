import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { ONE_DICOM_IMAGE, upgradedDatabase } from '../../../../tests/helpers/migrations';
import { schemaVersion } from '../database';

describe('migration 0130 tasks', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('makes the starter lesion task 1 and keeps every label, draft, review item, version and run under it', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      120,
      130,
      `${ONE_DICOM_IMAGE}
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO model_versions (id, model_id, name, version, parent_id, dir, manifest, status) VALUES (2, 'c', 'c', '1', 'm', 'e', '{}', 'candidate');
      INSERT INTO labels (id, image_id, series_id, mask, foreground_pixels, origin, model_version_id) VALUES (7, 1, 1, x'00', 0, 'accepted', 1);
      INSERT INTO drafts (series_id) VALUES (1);
      INSERT INTO review_items (series_id, state, random_key) VALUES (1, 'labelled', 5);
      INSERT INTO training_runs (id, status, parent_version_id, candidate_version_id, hyperparameters, out_dir) VALUES (3, 'done', 1, 2, '{}', 'training/x');
      INSERT INTO training_run_labels (run_id, label_id, split) VALUES (3, 7, 'training');
      INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics, gate, reference_gate)
        VALUES (2, 3, 1, '{}', '0.2.0', '1.13', '{}', '{"set":"validation"}', '{"set":"reference"}');
    `,
    );
    expect(schemaVersion(db)).toBe(130);
    expect(db.prepare('SELECT id, name FROM tasks').all()).toEqual([{ id: 1, name: 'Breast lesion (demo)' }]);
    const label = db.prepare('SELECT value, name, type FROM task_labels WHERE task_id = 1').get() as {
      value: number;
      name: string;
      type: string;
    };
    expect(label).toMatchObject({ value: 1, name: 'lesion' });
    expect(JSON.parse(label.type)).toEqual({ value: '52988006', scheme: 'SCT', meaning: 'Lesion' });
    expect(db.prepare('SELECT task_id FROM model_versions ORDER BY id').pluck().all()).toEqual([1, 1]);
    expect(db.prepare('SELECT task_id FROM labels').pluck().all()).toEqual([1]);
    expect(db.prepare('SELECT task_id FROM drafts').pluck().all()).toEqual([1]);
    expect(db.prepare('SELECT task_id FROM review_items').pluck().all()).toEqual([1]);
    // The rebuilt run tables keep their rows and the references into them.
    expect(db.prepare('SELECT id, task_id, parent_version_id, candidate_version_id FROM training_runs').all()).toEqual([
      { id: 3, task_id: 1, parent_version_id: 1, candidate_version_id: 2 },
    ]);
    expect(db.prepare('SELECT run_id, label_id FROM training_run_labels').all()).toEqual([{ run_id: 3, label_id: 7 }]);
    expect(db.prepare('SELECT gate, reference_gate FROM model_version_training').get()).toEqual({
      gate: '{"set":"validation"}',
      reference_gate: '{"set":"reference"}',
    });
    expect(db.pragma('foreign_key_check')).toEqual([]);
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });

  it('allows one current label per image and task, one active version per task, and a run without a parent', () => {
    const db = upgradedDatabase(path.join(tmp.dir, 'b.sqlite'), 120, 130, ONE_DICOM_IMAGE);
    db.prepare("INSERT INTO tasks (id, name, domain) VALUES (2, 'Thyroid', '{}')").run();
    const label = db.prepare(
      "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, task_id) VALUES (1, 1, x'00', 0, 'drawn', ?)",
    );
    label.run(1);
    label.run(2);
    expect(() => label.run(2)).toThrow(/UNIQUE/);
    const version = db.prepare(
      "INSERT INTO model_versions (model_id, name, version, dir, manifest, status, task_id) VALUES (?, 'n', '1', 'd', '{}', 'active', ?)",
    );
    version.run('a', 1);
    version.run('b', 2);
    expect(() => version.run('c', 2)).toThrow(/UNIQUE/);
    db.prepare(
      "INSERT INTO training_runs (status, task_id, hyperparameters, out_dir) VALUES ('queued', 2, '{}', 'training/y')",
    ).run();
    expect(() =>
      db
        .prepare(
          "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, task_id) VALUES (1, 1, x'00', 0, 'drawn', 9)",
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
    expect(() =>
      db
        .prepare(
          "INSERT INTO task_labels (task_id, value, name, colour, category, type) VALUES (2, 255, 'x', '#000000', '{}', '{}')",
        )
        .run(),
    ).toThrow(/CHECK/);
    db.close();
  });
});
