import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0040 label-drafts', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-30 database, keeps one draft per series and drops slices with their image or series', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      30,
      40,
      `
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'png', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'png'), (2, 'h2', 'p2', 1, 'png');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2), (2, 1, 2, 2, 2);
    `,
    );
    expect(schemaVersion(db)).toBe(40);
    db.exec(`INSERT INTO drafts (series_id, revision, history) VALUES (1, 3, '{"limit":100,"cursor":0,"entries":[]}')`);
    expect(() => db.exec('INSERT INTO drafts (series_id) VALUES (1)')).toThrow(/UNIQUE|PRIMARY/);
    expect(() => db.exec("INSERT INTO drafts (series_id, history) VALUES (1, 'not json')")).toThrow();
    const add = db.prepare('INSERT INTO draft_slices (series_id, image_id, labels, foreground_pixels) VALUES (1, ?, ?, ?)');
    add.run(1, Buffer.from([1, 4]), 4);
    add.run(2, Buffer.from([0, 2, 1, 2]), 2);
    expect(() => add.run(2, Buffer.from([0, 4]), 0)).toThrow(/CHECK|PRIMARY|UNIQUE/);
    db.prepare('DELETE FROM images WHERE id = 2').run();
    expect(db.prepare('SELECT count(*) FROM draft_slices').pluck().get()).toBe(1);
    db.prepare('DELETE FROM series WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM drafts').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM draft_slices').pluck().get()).toBe(0);
    db.close();
  });
});
