// The worklist service on a real data folder: generated CT series imported by the real importer.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WORKLIST_SORTS } from '../../shared/contract';
import { writeCtSeries } from '../../../tests/helpers/ct-series';
import { tempDir } from '../../../tests/helpers/temp';
import { createBackend, type Backend } from '../backend';

describe('worklist service', () => {
  const tmp = tempDir();
  let b: Backend;
  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    for (const [s, count] of [
      [1, 3],
      [2, 5],
      [3, 4],
    ] as const)
      writeCtSeries(path.join(tmp.dir, `ct${s}`), { count, size: 16, seriesIndex: s });
    const { jobId } = await b.services.import.start({ paths: [1, 2, 3].map((s) => path.join(tmp.dir, `ct${s}`)) });
    expect((await b.importer.wait(jobId)).status).toBe('done');
  }, 60_000);
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  it('finds a study by the words of its shown name, whatever the carets, commas or case', async () => {
    for (const query of ['TEST, CT 2', 'test ct 2', 'TEST^CT^2', 'ct-2']) {
      expect(
        (await b.services.worklist.list({ patient: query })).rows.map((r) => r.patientName),
        query,
      ).toEqual(['TEST^CT^2']);
    }
    expect((await b.services.worklist.list({ patient: 'TEST CT' })).total).toBe(3);
    expect((await b.services.worklist.list({ patient: 'TEST 9' })).total).toBe(0);
  });

  it('sorts by every column, both ways', async () => {
    for (const sort of WORKLIST_SORTS) {
      const up = await b.services.worklist.list({ sort, direction: 'asc' });
      const down = await b.services.worklist.list({ sort, direction: 'desc' });
      expect(up.rows.length, sort).toBe(3);
      if (sort === 'imageCount') expect(up.rows.map((r) => r.imageCount)).toEqual([3, 4, 5]);
      if (sort === 'patientId') expect(down.rows.map((r) => r.patientId)).toEqual(['CT-3', 'CT-2', 'CT-1']);
    }
  });

  it('gives each row its thumbnail series, uncertainty and edited series, and marks an edited series', async () => {
    const row = (await b.services.worklist.list({ patient: 'CT-1' })).rows[0]!;
    const [series] = await b.services.worklist.series({ studyId: row.studyId });
    expect(row).toMatchObject({ thumbnailSeriesId: series!.seriesId, uncertainty: null, editedSeries: 0 });
    expect(series!.edited).toBe(false);
    // A working draft with one labelled slice, as the viewer's draft save leaves it.
    const imageId = b.db.prepare('SELECT id FROM images WHERE series_id = ? LIMIT 1').pluck().get(series!.seriesId) as number;
    b.db.prepare('INSERT INTO drafts (series_id) VALUES (?)').run(series!.seriesId);
    b.db
      .prepare('INSERT INTO draft_slices (series_id, image_id, labels, foreground_pixels) VALUES (?, ?, ?, 1)')
      .run(series!.seriesId, imageId, Buffer.from([1]));
    expect((await b.services.worklist.list({ patient: 'CT-1' })).rows[0]!.editedSeries).toBe(1);
    expect((await b.services.worklist.series({ studyId: row.studyId }))[0]!.edited).toBe(true);
  });

  it('calls a series edited only when the reader changed it: not for a prediction accepted unchanged', async () => {
    const row = (await b.services.worklist.list({ patient: 'CT-2' })).rows[0]!;
    const [series] = await b.services.worklist.series({ studyId: row.studyId });
    const imageId = b.db.prepare('SELECT id FROM images WHERE series_id = ? LIMIT 1').pluck().get(series!.seriesId) as number;
    const label = b.db.prepare(
      "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, model_version_id, seconds, created_at) VALUES (?, ?, x'0004', 0, ?, ?, 1, 't')",
    );
    const version = b.registry.active()!.id;
    label.run(imageId, series!.seriesId, 'accepted', version);
    expect((await b.services.worklist.list({ patient: 'CT-2' })).rows[0]!.editedSeries).toBe(0);
    expect((await b.services.worklist.series({ studyId: row.studyId }))[0]!.edited).toBe(false);
    b.db.prepare("UPDATE labels SET superseded_at = 't2' WHERE series_id = ?").run(series!.seriesId);
    label.run(imageId, series!.seriesId, 'edited', version);
    expect((await b.services.worklist.list({ patient: 'CT-2' })).rows[0]!.editedSeries).toBe(1);
  });

  it("gives each row one word per series: the review state where it has one (the filter's 'labelled'), else the status", async () => {
    const row = (await b.services.worklist.list({ patient: 'CT-3' })).rows[0]!;
    // A CT is outside the ultrasound starter's domain (the review loop took it in after the import).
    expect(row.stateCounts).toEqual({ 'outside-domain': 1 });
    const [series] = await b.services.worklist.series({ studyId: row.studyId });
    b.db.prepare("UPDATE review_items SET state = 'labelled' WHERE series_id = ?").run(series!.seriesId);
    expect((await b.services.worklist.series({ studyId: row.studyId }))[0]!.reviewState).toBe('labelled');
    const filtered = await b.services.worklist.list({ reviewState: 'labelled' });
    expect(filtered.rows.map((r) => [r.patientId, r.stateCounts])).toEqual([['CT-3', { labelled: 1 }]]);
  });

  it('counts a series reviewed for two tasks once, by its least advanced state, and gives it that state', async () => {
    const row = (await b.services.worklist.list({ patient: 'CT-1' })).rows[0]!;
    const [series] = await b.services.worklist.series({ studyId: row.studyId });
    const task = await b.services.tasks.create({
      name: 'Second task',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: '' },
      labels: [{ name: 'Liver' }],
    });
    b.db.prepare("UPDATE review_items SET state = 'labelled' WHERE series_id = ?").run(series!.seriesId);
    b.db
      .prepare("INSERT INTO review_items (series_id, task_id, state, random_key) VALUES (?, ?, 'to-review', 7)")
      .run(series!.seriesId, task.id);
    const counted = (await b.services.worklist.list({ patient: 'CT-1' })).rows[0]!;
    expect(counted.stateCounts).toEqual({ 'to-review': 1 });
    expect((await b.services.worklist.series({ studyId: row.studyId }))[0]!.reviewState).toBe('to-review');
    // The filter agrees with the word shown: labelled for one task is not labelled yet.
    expect((await b.services.worklist.list({ reviewState: 'labelled' })).rows.map((r) => r.patientId)).not.toContain('CT-1');
    expect((await b.services.worklist.list({ reviewState: 'to-review' })).rows.map((r) => r.patientId)).toContain('CT-1');
    b.db.prepare('DELETE FROM review_items WHERE task_id = ?').run(task.id);
  });
});
