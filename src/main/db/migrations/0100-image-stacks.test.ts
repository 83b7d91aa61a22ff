import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase, ONE_DICOM_IMAGE } from '../../../../tests/helpers/migrations';

describe('migration 0100 image-stacks', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-90 database: existing images have no stack attributes, new ones keep theirs', () => {
    const db = upgradedDatabase(path.join(tmp.dir, 'a.sqlite'), 90, 100, ONE_DICOM_IMAGE);
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
