import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { openDatabase, schemaVersion } from '../database';
import { migration0010 } from './0010-settings';
import { migration0020 } from './0020-studies';

describe('migration 0020 studies-and-jobs', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('creates the study tables with cascading deletes and the worklist indexes', () => {
    const db = openDatabase(path.join(tmp.dir, 'a.sqlite'), { migrations: [migration0010, migration0020] });
    expect(schemaVersion(db)).toBe(20);
    db.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'id:1');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, '1.2');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, '1.2.3', 'dicom', 4, 4);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'ab', 'a/b', 10, 'dicom');
      INSERT INTO images (series_id, file_id, sop_instance_uid, rows, columns) VALUES (1, 1, '1.2.3.4', 4, 4);
    `);
    // The same SOP instance (same frame) cannot be indexed twice.
    expect(() =>
      db
        .prepare(
          "INSERT INTO images (series_id, file_id, frame_index, sop_instance_uid, rows, columns) VALUES (1, 1, 1, '1.2.3.4', 4, 4)",
        )
        .run(),
    ).not.toThrow();
    expect(() =>
      db
        .prepare(
          "INSERT INTO images (series_id, file_id, frame_index, sop_instance_uid, rows, columns) VALUES (1, 1, 0, '1.2.3.4', 4, 4)",
        )
        .run(),
    ).toThrow(/UNIQUE/);
    expect(() =>
      db.prepare("INSERT INTO series (study_id, series_uid, source_format, rows, columns) VALUES (1, 'x', 'gif', 1, 1)").run(),
    ).toThrow(/CHECK/);
    db.prepare('DELETE FROM patients WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM images').pluck().get()).toBe(0);
    const plan = db.prepare('EXPLAIN QUERY PLAN SELECT * FROM studies ORDER BY imported_at DESC LIMIT 50').all() as {
      detail: string;
    }[];
    expect(plan.map((p) => p.detail).join()).toMatch(/studies_imported/);
    db.close();
  });
});
