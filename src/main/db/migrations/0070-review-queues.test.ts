import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0070 review-queues', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-60 database; one item per series, states checked, removed with its series', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      60,
      70,
      `
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'png', 2, 2), (2, 1, 'se2', 'png', 2, 2);
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
    `,
    );
    expect(schemaVersion(db)).toBe(70);
    const add = db.prepare(
      'INSERT INTO review_items (series_id, state, model_version_id, uncertainty, random_key) VALUES (?, ?, ?, ?, ?)',
    );
    add.run(1, 'to-review', 1, 0.2, 7);
    expect(() => add.run(1, 'labelled', 1, 0.2, 8)).toThrow(/UNIQUE|PRIMARY/);
    expect(() => add.run(2, 'approved', 1, 0.2, 8)).toThrow(/CHECK/);
    expect(() => add.run(2, 'to-review', 9, 0.2, 8)).toThrow(/FOREIGN KEY/);
    add.run(2, 'outside-domain', null, null, 8);
    const row = db.prepare('SELECT * FROM review_items WHERE series_id = 2').get() as Record<string, unknown>;
    expect(row).toMatchObject({ reject_reason: '', assignee: '', note: '', skipped_at: null, opened_at: null });
    expect(String(row.entered_at)).toMatch(/^\d{4}-\d\d-\d\dT/);
    // The queue's ordering uses an index, not a scan of every item.
    const plan = db
      .prepare("EXPLAIN QUERY PLAN SELECT series_id FROM review_items WHERE state = 'to-review' ORDER BY uncertainty DESC")
      .all() as { detail: string }[];
    expect(plan.map((p) => p.detail).join(' ')).toMatch(/review_items_uncertainty/);
    db.prepare('DELETE FROM series WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM review_items').pluck().get()).toBe(1);
    db.close();
  });
});
