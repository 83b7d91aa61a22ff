import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0190 label-set-tasks', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('gives every kept label set the starter task and status kept; statuses and detail are checked', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      130,
      190,
      `
      INSERT INTO files (id, sha256, store_path, size, format, original_path) VALUES (1, 'ab', 'x', 1, 'dicom', '/a/seg.dcm');
      INSERT INTO label_sets (id, file_id, sop_instance_uid, referenced_series_uid, segments) VALUES (1, 1, '1.2.3', '1.2.4', '[]');
    `,
    );
    expect(schemaVersion(db)).toBe(190);
    expect(db.prepare('SELECT task_id, status, series_id, detail FROM label_sets').get()).toEqual({
      task_id: 1,
      status: 'kept',
      series_id: null,
      detail: '{}',
    });
    expect(() => db.prepare("UPDATE label_sets SET status = 'lost'").run()).toThrow(/CHECK/);
    expect(() => db.prepare("UPDATE label_sets SET detail = '{'").run()).toThrow(/CHECK/);
    db.prepare("UPDATE label_sets SET status = 'pending'").run();
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
