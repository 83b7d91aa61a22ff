// The review queries on a real SQLite file: queue orders with skipped cases last, which series
// enter the queue (only complete predictions of the active version), the per-version figures,
// and the query plan of the queue (an index, not a scan of every item).
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { openDatabase, type Database } from '../db/database';
import { enqueuePredicted, queueItems, queueSql, versionMetrics } from './queries';

describe('review queries', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'q.sqlite'));
    db.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm1', 'm', '1', 'd', '{}', 'active'), (2, 'm2', 'm', '2', 'd', '{}', 'candidate');
    `);
    // Four segmented series of two images; series 4 lacks one prediction.
    for (let s = 1; s <= 4; s++) {
      db.prepare(
        "INSERT INTO series (id, study_id, series_uid, source_format, rows, columns, image_count, status) VALUES (?, 1, ?, 'png', 2, 2, 2, 'segmented')",
      ).run(s, `se${s}`);
      for (let i = 0; i < 2; i++) {
        const id = s * 10 + i;
        db.prepare("INSERT INTO files (id, sha256, store_path, size, format) VALUES (?, ?, 'p', 1, 'png')").run(id, `h${id}`);
        db.prepare('INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (?, ?, ?, 2, 2)').run(id, s, id);
        if (s === 4 && i === 1) continue;
        // Series 1 is the most uncertain, then 3, then 2.
        const entropy = { 1: 0.9, 2: 0.1, 3: 0.5, 4: 0.7 }[s]!;
        db.prepare(
          'INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (?, 1, ?, 0, ?, 2)',
        ).run(id, Buffer.from([0, 4]), entropy);
      }
    }
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('enters only series whose every image has a prediction of the active version, once', () => {
    expect(enqueuePredicted(db, 1)).toBe(3);
    expect(enqueuePredicted(db, 1)).toBe(0);
    expect(db.prepare('SELECT series_id FROM review_items ORDER BY series_id').pluck().all()).toEqual([1, 2, 3]);
    db.prepare(
      'INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (41, 1, ?, 0, 0.7, 2)',
    ).run(Buffer.from([0, 4]));
    expect(enqueuePredicted(db, 1)).toBe(1);
  });

  it('orders by uncertainty, oldest first, or a fixed random key; skipped cases last, oldest skip first', () => {
    enqueuePredicted(db, 1);
    db.exec(`UPDATE review_items SET entered_at = '2026-01-0' || series_id, random_key = 10 - series_id`);
    const ids = (order: 'uncertainty' | 'fifo' | 'random') => queueItems(db, 'review', order, 100).map((i) => i.seriesId);
    expect(ids('uncertainty')).toEqual([1, 3, 2]);
    expect(ids('fifo')).toEqual([1, 2, 3]);
    expect(ids('random')).toEqual([3, 2, 1]);
    db.exec(
      `UPDATE review_items SET skipped_at = '2026-02-02' WHERE series_id = 1; UPDATE review_items SET skipped_at = '2026-02-01' WHERE series_id = 3`,
    );
    expect(ids('uncertainty')).toEqual([2, 3, 1]);
    // A decided case stays in the list only when asked for (to find its neighbours).
    db.exec(`UPDATE review_items SET state = 'labelled' WHERE series_id = 2`);
    expect(ids('uncertainty')).toEqual([3, 1]);
    expect(queueItems(db, 'review', 'uncertainty', 100, 2).map((i) => i.seriesId)).toEqual([2, 3, 1]);
  });

  it('puts a series unlike the training images first when most uncertain goes first, however certain the model was', () => {
    // Series 2 is the most certain (entropy 0.1), but its inputs lie outside the model's input statistics.
    db.exec('UPDATE predictions SET input_distance = 0');
    db.exec('UPDATE predictions SET input_distance = 0.3 WHERE image_id IN (20, 21)');
    enqueuePredicted(db, 1);
    const items = queueItems(db, 'review', 'uncertainty', 100);
    expect(items.map((i) => [i.seriesId, i.unlikeShare])).toEqual([
      [2, 1],
      [1, 0],
      [3, 0],
    ]);
    // Without statistics (NULL distances) the share is unknown and the order is the model's uncertainty.
    db.exec('UPDATE predictions SET input_distance = NULL; DELETE FROM review_items');
    enqueuePredicted(db, 1);
    expect(queueItems(db, 'review', 'uncertainty', 100).map((i) => [i.seriesId, i.unlikeShare])).toEqual([
      [1, null],
      [3, null],
      [2, null],
    ]);
  });

  it('finds queue items through the state index', () => {
    const plan = (
      db.prepare(`EXPLAIN QUERY PLAN ${queueSql('review', 'uncertainty')}`).all({ include: 1, limit: 10, task: 1 }) as {
        detail: string;
      }[]
    )
      .map((p) => p.detail)
      .join('\n');
    // The state filter and the one included series are each an index search; no full scan.
    expect(plan).toMatch(/SEARCH q USING INDEX review_items_\w+ \(task_id=\? AND state=\?/);
    expect(plan).toMatch(/SEARCH q USING (COVERING )?INDEX sqlite_autoindex_review_items_1 \(series_id=\? AND task_id=\?\)/);
    expect(plan).not.toMatch(/SCAN [rq]\b/);
  });

  it('gives per-version figures from the current labels and the audit log', () => {
    const label = db.prepare(
      "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, model_version_id, seconds, edit_dice, pixels_changed, created_at) VALUES (?, ?, x'0004', 0, ?, 1, ?, ?, ?, ?)",
    );
    label.run(10, 1, 'accepted', 3, null, null, 't1');
    label.run(11, 1, 'accepted', 3, null, null, 't1');
    label.run(20, 2, 'edited', 10, 0.8, 5, 't2');
    label.run(21, 2, 'accepted', 10, null, null, 't2');
    label.run(30, 3, 'edited', 1, 0.6, 9, 't3');
    db.exec(
      `INSERT INTO audit_log (actor, action, model_version_id) VALUES ('a', 'review.accept', 1), ('a', 'review.submit', 1), ('a', 'review.reject', 1), ('a', 'review.skip', 1)`,
    );
    expect(versionMetrics(db)).toEqual([
      {
        modelVersionId: 1,
        decisions: 3,
        rejected: 1,
        labels: 5,
        acceptedShare: 3 / 5,
        meanEditDice: 0.7,
        medianReviewSeconds: 6,
      },
    ]);
  });
});
