// The inference queries on a real SQLite file: which series a version still has to segment, a
// series' images in display order, and the status a segmentation job leaves on its series.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { openDatabase, type Database } from '../db/database';
import {
  newSeriesOfStudies,
  seriesImageIds,
  seriesMissingPredictions,
  setSeriesStatus,
  studiesWithNewSeries,
  studyOfSeries,
} from './queries';

describe('inference queries', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'i.sqlite'));
    db.exec(`
      INSERT INTO patients (id, patient_key) VALUES (1, 'k');
      INSERT INTO studies (id, patient_id, study_uid) VALUES (1, 1, 's1'), (2, 1, 's2');
      INSERT INTO model_versions (id, model_id, name, version, dir, manifest, status) VALUES (1, 'm1', 'm', '1', 'd', '{}', 'active');
    `);
    // Series 1 (study 1): both images predicted. Series 2 (study 2): one of two. Series 3 (study 2): none.
    for (let s = 1; s <= 3; s++) {
      db.prepare(
        "INSERT INTO series (id, study_id, series_uid, modality, source_format, rows, columns, image_count, status) VALUES (?, ?, ?, 'US', 'png', 2, 2, 2, ?)",
      ).run(s, s === 1 ? 1 : 2, `se${s}`, s === 1 ? 'segmented' : 'new');
      for (let i = 0; i < 2; i++) {
        const id = s * 10 + i;
        db.prepare("INSERT INTO files (id, sha256, store_path, size, format) VALUES (?, ?, 'p', 1, 'png')").run(id, `h${id}`);
        // Display order is position_index, not id: the second image comes first.
        db.prepare('INSERT INTO images (id, series_id, file_id, rows, columns, position_index) VALUES (?, ?, ?, 2, 2, ?)').run(
          id,
          s,
          id,
          1 - i,
        );
        if (s === 1 || (s === 2 && i === 0))
          db.prepare(
            'INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (?, 1, ?, 0, 0, 2)',
          ).run(id, Buffer.from([0, 4]));
      }
    }
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('finds the series a version has not segmented whole, and the studies with new series', () => {
    expect(seriesMissingPredictions(db, 1)).toEqual([2, 3]);
    expect(studiesWithNewSeries(db)).toEqual([2]);
    expect(newSeriesOfStudies(db, [1, 2]).map((s) => s.id)).toEqual([2, 3]);
  });

  it("lists a series' images in display order and keeps the status a job leaves", () => {
    expect(seriesImageIds(db, 2)).toEqual([21, 20]);
    setSeriesStatus(db, 2, 'segmenting');
    expect(studiesWithNewSeries(db)).toEqual([2]);
    setSeriesStatus(db, 3, 'segmented');
    setSeriesStatus(db, 2, 'segmented');
    expect(studiesWithNewSeries(db)).toEqual([]);
    expect(studyOfSeries(db, 3)).toBe(2);
  });
});
