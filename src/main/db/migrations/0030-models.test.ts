import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { openDatabase, schemaVersion } from '../database';
import { MIGRATIONS } from './index';

describe('migration 0030 models-and-predictions', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('allows one active model version and drops predictions with their image', () => {
    const db = openDatabase(path.join(tmp.dir, 'a.sqlite'), { migrations: MIGRATIONS.filter((m) => m.version <= 30) });
    expect(schemaVersion(db)).toBe(30);
    const add = db.prepare(
      "INSERT INTO model_versions (model_id, name, version, dir, manifest, status) VALUES (?, 'n', '1', '/m', '{}', ?)",
    );
    add.run('a', 'active');
    add.run('b', 'candidate');
    expect(() => add.run('c', 'active')).toThrow(/UNIQUE/);
    db.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'png', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'png');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2);
      INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (1, 1, x'0004', 0, 0, 0);
    `);
    db.prepare('DELETE FROM images WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM predictions').pluck().get()).toBe(0);
    db.close();
  });
});
