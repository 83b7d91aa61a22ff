import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { ONE_DICOM_IMAGE, upgradedDatabase } from '../../../../tests/helpers/migrations';
import { schemaVersion } from '../database';

describe('migration 0180 task-drafts-review', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('keeps every draft, draft slice, review item and audit row, under the starter task', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      130,
      180,
      `${ONE_DICOM_IMAGE}
      INSERT INTO drafts (series_id, revision, history) VALUES (1, 3, '{"entries":[]}');
      INSERT INTO draft_slices (series_id, image_id, labels, foreground_pixels) VALUES (1, 1, x'0104', 4);
      INSERT INTO review_items (series_id, state, random_key, note) VALUES (1, 'in-correction', 5, 'look');
      INSERT INTO audit_log (actor, action, series_id) VALUES ('a', 'review.accept', 1);
    `,
    );
    expect(schemaVersion(db)).toBe(180);
    expect(db.prepare('SELECT series_id, task_id, revision FROM drafts').all()).toEqual([
      { series_id: 1, task_id: 1, revision: 3 },
    ]);
    expect(db.prepare('SELECT series_id, task_id, image_id, foreground_pixels FROM draft_slices').all()).toEqual([
      { series_id: 1, task_id: 1, image_id: 1, foreground_pixels: 4 },
    ]);
    expect(db.prepare('SELECT series_id, task_id, state, note FROM review_items').all()).toEqual([
      { series_id: 1, task_id: 1, state: 'in-correction', note: 'look' },
    ]);
    expect(db.prepare('SELECT task_id FROM audit_log').pluck().all()).toEqual([null]);
    expect(db.pragma('foreign_key_check')).toEqual([]);
    db.close();
  });

  it('allows one draft and one review item per series and task; a draft takes its slices with it', () => {
    const db = upgradedDatabase(path.join(tmp.dir, 'b.sqlite'), 130, 180, ONE_DICOM_IMAGE);
    db.prepare("INSERT INTO tasks (id, name, domain) VALUES (2, 'Thyroid', '{}')").run();
    const draft = db.prepare('INSERT INTO drafts (series_id, task_id) VALUES (1, ?)');
    draft.run(1);
    draft.run(2);
    expect(() => draft.run(2)).toThrow(/UNIQUE|PRIMARY/);
    const slice = db.prepare(
      "INSERT INTO draft_slices (series_id, task_id, image_id, labels, foreground_pixels) VALUES (1, ?, 1, x'0204', 4)",
    );
    slice.run(1);
    slice.run(2);
    expect(() =>
      db
        .prepare(
          "INSERT INTO draft_slices (series_id, task_id, image_id, labels, foreground_pixels) VALUES (1, 9, 1, x'0204', 4)",
        )
        .run(),
    ).toThrow(/FOREIGN KEY/);
    db.prepare('DELETE FROM drafts WHERE task_id = 2').run();
    expect(db.prepare('SELECT task_id FROM draft_slices').pluck().all()).toEqual([1]);
    const item = db.prepare("INSERT INTO review_items (series_id, task_id, state, random_key) VALUES (1, ?, 'to-review', 1)");
    item.run(1);
    item.run(2);
    expect(() => item.run(2)).toThrow(/UNIQUE|PRIMARY/);
    db.close();
  });
});
