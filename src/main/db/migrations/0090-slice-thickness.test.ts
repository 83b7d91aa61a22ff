import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase, ONE_DICOM_IMAGE } from '../../../../tests/helpers/migrations';

describe('migration 0090 slice-thickness', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-80 database: existing images have no thickness, new ones a positive one or none', () => {
    const db = upgradedDatabase(path.join(tmp.dir, 'a.sqlite'), 80, 90, ONE_DICOM_IMAGE);
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
