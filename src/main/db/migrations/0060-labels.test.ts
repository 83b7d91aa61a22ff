import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { schemaVersion } from '../database';
import { upgradedDatabase } from '../../../../tests/helpers/migrations';

describe('migration 0060 labels-splits-audit', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('upgrades a version-50 database; one current label per image, superseded rows kept, checks enforced', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      50,
      60,
      `
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's');
      INSERT INTO series (id, study_id, series_uid, source_format, rows, columns) VALUES (1, 1, 'se', 'png', 2, 2);
      INSERT INTO files (id, sha256, store_path, size, format) VALUES (1, 'h', 'p', 1, 'png'), (2, 'h2', 'p2', 1, 'png');
      INSERT INTO images (id, series_id, file_id, rows, columns) VALUES (1, 1, 1, 2, 2), (2, 1, 2, 2, 2);
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
    `,
    );
    expect(schemaVersion(db)).toBe(60);
    const add = db.prepare(
      'INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, model_version_id, edit_dice, pixels_changed) VALUES (?, 1, ?, ?, ?, ?, ?, ?)',
    );
    add.run(1, Buffer.from([0, 4]), 0, 'accepted', 1, null, null);
    // A second current label for the same image is refused; superseding the first allows it.
    expect(() => add.run(1, Buffer.from([1, 4]), 4, 'edited', 1, 0.5, 4)).toThrow(/UNIQUE/);
    db.prepare("UPDATE labels SET superseded_at = 'now' WHERE image_id = 1").run();
    add.run(1, Buffer.from([1, 4]), 4, 'edited', 1, 0.5, 4);
    expect(db.prepare('SELECT count(*) FROM labels WHERE image_id = 1').pluck().get()).toBe(2);
    // A prediction-based origin needs its model version; a Dice outside [0, 1] and unknown origins are refused.
    expect(() => add.run(2, Buffer.from([0, 4]), 0, 'accepted', null, null, null)).toThrow(/CHECK/);
    expect(() => add.run(2, Buffer.from([0, 4]), 0, 'edited', 1, 1.5, 1)).toThrow(/CHECK/);
    expect(() => add.run(2, Buffer.from([0, 4]), 0, 'guessed', 1, null, null)).toThrow(/CHECK/);
    add.run(2, Buffer.from([0, 4]), 0, 'drawn', null, null, null);

    db.prepare("INSERT INTO splits (split_key, split) VALUES ('patient:k', 'validation')").run();
    expect(() => db.prepare("INSERT INTO splits (split_key, split) VALUES ('patient:k', 'training')").run()).toThrow(
      /UNIQUE|PRIMARY/,
    );
    expect(() => db.prepare("INSERT INTO splits (split_key, split) VALUES ('study:s', 'test')").run()).toThrow(/CHECK/);

    db.prepare("INSERT INTO training_exclusions (image_id, reason) VALUES (2, 'motion')").run();
    db.prepare(
      "INSERT INTO audit_log (actor, action, series_id, model_version_id, detail) VALUES ('dr a', 'review.accept', 1, 1, '{}')",
    ).run();
    expect(() => db.prepare("INSERT INTO audit_log (actor, action, detail) VALUES ('a', 'x', 'not json')").run()).toThrow(
      /CHECK/,
    );

    // Removing the series removes its labels and exclusions; the audit row stays, unlinked.
    db.prepare('DELETE FROM series WHERE id = 1').run();
    expect(db.prepare('SELECT count(*) FROM labels').pluck().get()).toBe(0);
    expect(db.prepare('SELECT count(*) FROM training_exclusions').pluck().get()).toBe(0);
    expect(db.prepare('SELECT series_id FROM audit_log').pluck().get()).toBeNull();
    db.close();
  });
});
