// The training queries on a real SQLite file: a run's life in training_runs (queued, running,
// ended) with the labels it used, and the plans of the per-run reads (an index, not a scan).
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { openDatabase, type Database } from '../db/database';
import {
  endedRunFolders,
  finishRun,
  insertQueuedRun,
  insertRunLabels,
  markRunning,
  nextQueuedRun,
  RUN_LABEL_COUNTS_SQL,
  runLabelCounts,
  runningRuns,
  runRow,
} from './queries';

describe('training queries', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 't.sqlite'));
    db.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns, image_count, status) VALUES (1, 1, 'se', 'png', 2, 2, 3, 'segmented');
    `);
    for (let i = 1; i <= 3; i++) {
      db.prepare("INSERT INTO files (id, sha256, store_path, size, format) VALUES (?, ?, 'p', 1, 'png')").run(i, `h${i}`);
      db.prepare('INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (?, 1, ?, 2, 2)').run(i, i);
      db.prepare(
        "INSERT INTO labels (id, image_id, series_id, mask, foreground_pixels, origin) VALUES (?, ?, 1, ?, 0, 'drawn')",
      ).run(i, i, Buffer.from([0, 4]));
    }
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  const plan = (sql: string, ...params: unknown[]) =>
    (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('\n');

  it('queues runs in order with their folders, runs one, ends it, and counts its labels', () => {
    const first = insertQueuedRun(db, {
      taskId: 1,
      parentVersionId: null,
      hyperparameters: { maxSteps: 4 },
      folderOf: (id) => `training/run-${id}`,
    });
    const second = insertQueuedRun(db, {
      taskId: 1,
      parentVersionId: null,
      hyperparameters: {},
      folderOf: (id) => `training/run-${id}`,
    });
    expect(runRow(db, first)).toMatchObject({
      status: 'queued',
      out_dir: `training/run-${first}`,
      hyperparameters: '{"maxSteps":4}',
    });
    expect(nextQueuedRun(db)).toBe(first);

    insertRunLabels(db, first, { training: [{ labelId: 1 }, { labelId: 2 }], validation: [{ labelId: 3 }] });
    expect(runLabelCounts(db, first)).toEqual({ training: 2, validation: 1 });
    expect(runLabelCounts(db, second)).toEqual({ training: 0, validation: 0 });

    markRunning(db, first, 1234, '/usr/bin/python3', null);
    expect(runningRuns(db).map((r) => [r.id, r.pid])).toEqual([[first, 1234]]);
    expect(nextQueuedRun(db)).toBe(second);

    finishRun(db, first, 'failed', 'Fine-tuning failed: out of memory');
    expect(runRow(db, first)).toMatchObject({ status: 'failed', pid: null, error: 'Fine-tuning failed: out of memory' });
    expect(runRow(db, first)?.finished_at).toMatch(/^\d{4}-\d\d-\d\dT/);
    expect(runningRuns(db)).toEqual([]);
    expect(endedRunFolders(db, 'ended')).toEqual([`training/run-${first}`]);
    expect(endedRunFolders(db, 'done')).toEqual([]);
  });

  it("reads a run's labels by the primary key, not a scan", () => {
    expect(plan(RUN_LABEL_COUNTS_SQL, 1)).toMatch(/SEARCH training_run_labels USING PRIMARY KEY \(run_id=\?\)/);
  });
});
