import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { openDatabase, schemaVersion } from '../database';
import { MIGRATIONS } from './index';

describe('migration 0100 image-stacks', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-90 database: existing images have no stack attributes, new ones keep theirs', () => {
    const file = path.join(tmp.dir, 'a.sqlite');
    const old = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 90) });
    old.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'dicom', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'dicom');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2);
    `);
    old.close();

    const db = openDatabase(file, { migrations: MIGRATIONS.filter((m) => m.version <= 100) });
    expect(schemaVersion(db)).toBe(100);
    const stack = db.prepare(
      'SELECT temporal_position_identifier AS t, echo_numbers AS e, acquisition_number AS a FROM images WHERE id = ?',
    );
    expect(stack.get(1)).toEqual({ t: null, e: null, a: null });
    db.prepare(
      'INSERT INTO images (id, series_id, file_id, frame_index, rows, columns, temporal_position_identifier, echo_numbers, acquisition_number) VALUES (2, 1, 1, 1, 2, 2, 2, 1, 3)',
    ).run();
    expect(stack.get(2)).toEqual({ t: 2, e: 1, a: 3 });
    // STRICT: an integer column refuses text.
    expect(() => db.prepare("UPDATE images SET echo_numbers = 'two' WHERE id = 2").run()).toThrow(/cannot store TEXT/);
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
