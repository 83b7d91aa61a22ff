import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { openDatabase, schemaVersion } from '../database';
import { MIGRATIONS } from './index';

describe('migration 0090 slice-thickness', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-80 database: existing images have no thickness, new ones a positive one or none', () => {
    const file = path.join(tmp.dir, 'a.sqlite');
    const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 80) });
    old.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'dicom', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'dicom');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2);
    `);
    old.close();

    const db = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 90) });
    expect(schemaVersion(db)).toBe(90);
    expect(db.prepare('SELECT slice_thickness FROM images WHERE id = 1').pluck().get()).toBeNull();
    const add = db.prepare(
      'INSERT INTO images (series_id, file_id, frame_index, rows, columns, slice_thickness) VALUES (1, 1, ?, 2, 2, ?)',
    );
    add.run(1, 5);
    add.run(2, null);
    expect(() => add.run(3, 0)).toThrow(/CHECK/);
    expect(() => add.run(4, -2.5)).toThrow(/CHECK/);
    expect(db.prepare('SELECT slice_thickness FROM images ORDER BY id').pluck().all()).toEqual([null, 5, null]);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
