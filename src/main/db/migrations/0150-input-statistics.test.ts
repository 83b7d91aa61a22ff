import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { ONE_DICOM_IMAGE, upgradedDatabase } from '../../../../tests/helpers/migrations';
import { schemaVersion } from '../database';

describe('migration 0150 input-statistics', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('adds input_distance to predictions and unlike_share to review items, keeping their rows; 0..1 only', () => {
    const db = upgradedDatabase(
      path.join(tmp.dir, 'a.sqlite'),
      120,
      150,
      `${ONE_DICOM_IMAGE}
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm', 'm', '1', 'd', '{}', 'active');
      INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (1, 1, x'0004', 0, 0.1, 2);
      INSERT INTO review_items (series_id, state, model_version_id, uncertainty, random_key) VALUES (1, 'to-review', 1, 0.1, 7);
    `,
    );
    expect(schemaVersion(db)).toBe(150);
    expect(db.prepare('SELECT entropy, input_distance FROM predictions').get()).toEqual({ entropy: 0.1, input_distance: null });
    expect(db.prepare('SELECT uncertainty, unlike_share FROM review_items').get()).toEqual({
      uncertainty: 0.1,
      unlike_share: null,
    });
    expect(() => db.prepare('UPDATE predictions SET input_distance = 1.5').run()).toThrow(/CHECK/);
    expect(() => db.prepare('UPDATE review_items SET unlike_share = -0.1').run()).toThrow(/CHECK/);
    db.prepare('UPDATE predictions SET input_distance = 0.2').run();
    db.prepare('UPDATE review_items SET unlike_share = 1').run();
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
  });
});
