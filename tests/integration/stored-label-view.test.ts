// What the reader sees is what is stored: a series with a stored label of a task and no draft
// opens showing that label (viewer.draft with `storedLabel`), pixel-equal, per task, without
// writing anything; editing it starts a draft that submit turns into the new label, the old one
// superseded with its provenance kept. Real backend, real SQLite, a generated CT series.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { labelMap } from '../../src/main/review/labels';
import { draftViewSchema } from '../../src/shared/contract';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { call } from '../helpers/api';
import { writeCtSeries } from '../helpers/ct-series';
import { tempDir } from '../helpers/temp';

const SIZE = 32;
/** The task painted: one of the reader's own, whose domain takes the CT series (the starter's does not). */
const T = 2;

describe('the stored label as the viewer starting state', () => {
  const tmp = tempDir();
  let b: Backend;
  let seriesId: number;
  let images: number[];
  const count = (table: string) => b.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get() as number;

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    writeCtSeries(path.join(tmp.dir, 'in', 'ct'), { count: 4, size: SIZE });
    const { jobId } = await call(b).import.start({ paths: [path.join(tmp.dir, 'in')] });
    expect(await b.importer.wait(jobId)).toMatchObject({ status: 'done' });
    seriesId = b.db.prepare('SELECT id FROM series').pluck().get() as number;
    images = b.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index, id')
      .pluck()
      .all(seriesId) as number[];
    b.db.prepare("INSERT INTO tasks (id, name, domain) VALUES (2, 'CT task', '{}')").run();
    // The starter task has a label of its own on slice 0 (imported): it must never show in task 2's view.
    b.db
      .prepare(
        "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, task_id) VALUES (?, ?, ?, 30, 'imported', 1)",
      )
      .run(images[0], seriesId, Buffer.from(encodeRle(new Uint8Array(SIZE * SIZE).fill(1, 0, 30))));
  });
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  it('answers null without a stored label, and the stored maps with no draft, per task, writing nothing', async () => {
    expect(await call(b).viewer.draft({ seriesId, taskId: T, storedLabel: true })).toBeNull();
    // The reader draws slices 1 and 2 of the task and submits.
    await call(b).settings.update({ userName: 'Dr First' });
    const drawn = images.map(() => new Uint8Array(SIZE * SIZE));
    drawn[1]!.fill(1, 40, 90);
    drawn[2]!.fill(1, 200, 260);
    await call(b).viewer.saveDraft({
      seriesId,
      taskId: T,
      baseRevision: 0,
      slices: [1, 2].map((i) => ({ imageId: images[i]!, labels: encodeRle(drawn[i]!) })),
      history: null,
    });
    await call(b).review.submit({ seriesId, taskId: T });
    expect(count('drafts')).toBe(0);

    // Without `storedLabel` the draft call is as before: no draft, null.
    expect(await call(b).viewer.draft({ seriesId, taskId: T })).toBeNull();
    const view = (await call(b).viewer.draft({ seriesId, taskId: T, storedLabel: true }))!;
    expect(draftViewSchema.safeParse(view).success).toBe(true);
    expect(view).toMatchObject({ revision: 0, history: null, taskId: T });
    expect(view.storedLabel).toMatchObject({ origins: ['drawn'], authors: ['Dr First'] });
    expect(view.slices.map((s) => s.imageId)).toEqual([images[1], images[2]]);
    for (const s of view.slices) expect(decodeRle(s.labels, SIZE * SIZE)).toEqual(labelMap(b.db, s.imageId, T));
    for (const i of [1, 2, 3]) expect(labelMap(b.db, images[i]!, T)).toEqual(drawn[i]);
    // The starter task's view never shows this task's label; opening wrote no draft.
    expect((await call(b).viewer.draft({ seriesId, taskId: 1, storedLabel: true }))!.slices.map((s) => s.imageId)).toEqual([
      images[0],
    ]);
    expect(labelMap(b.db, images[0]!, T)!.every((v) => v === 0)).toBe(true);
    expect(count('drafts')).toBe(0);
    expect(count('draft_slices')).toBe(0);
    expect((await call(b).review.labels({ seriesId, taskId: T })).draft).toBe('none');
  });

  it('an edit of the stored label is saved as a draft from revision 0 and submitted over it', async () => {
    const view = (await call(b).viewer.draft({ seriesId, taskId: T, storedLabel: true }))!;
    const before = (await call(b).review.labels({ seriesId, taskId: T })).labels;
    await call(b).settings.update({ userName: 'Dr Second' });
    // The viewer's first save: the stored slices plus the edited one (slice 3 painted).
    const edit = new Uint8Array(SIZE * SIZE).fill(1, 500, 520);
    await call(b).viewer.saveDraft({
      seriesId,
      taskId: T,
      baseRevision: view.revision,
      slices: [...view.slices, { imageId: images[3]!, labels: encodeRle(edit) }],
      history: null,
    });
    expect((await call(b).review.labels({ seriesId, taskId: T })).draft).toBe('differs');
    // With a draft, the draft is what is answered, not the stored label.
    const draft = (await call(b).viewer.draft({ seriesId, taskId: T, storedLabel: true }))!;
    expect(draft.storedLabel ?? null).toBeNull();
    expect(draft.revision).toBe(1);
    await call(b).review.submit({ seriesId, taskId: T });
    const after = (await call(b).viewer.draft({ seriesId, taskId: T, storedLabel: true }))!;
    expect(after.slices.map((s) => s.imageId)).toEqual([images[1], images[2], images[3]]);
    expect(decodeRle(after.slices[0]!.labels, SIZE * SIZE)).toEqual(decodeRle(view.slices[0]!.labels, SIZE * SIZE));
    expect(labelMap(b.db, images[3]!, T)).toEqual(edit);
    // The slices left as stored keep their provenance (no one edited them now); the edited one is the second reader's.
    const labels = (await call(b).review.labels({ seriesId, taskId: T })).labels;
    expect(labels.map((l) => [l.imageId, l.origin, l.author])).toEqual([
      [images[0], 'drawn', 'Dr First'],
      [images[1], 'drawn', 'Dr First'],
      [images[2], 'drawn', 'Dr First'],
      [images[3], 'drawn', 'Dr Second'],
    ]);
    // The first label's rows stay, superseded, with their provenance.
    const old = b.db
      .prepare(
        `SELECT id, origin, superseded_at IS NOT NULL AS superseded FROM labels WHERE id IN (${before.map(() => '?').join(',')})`,
      )
      .all(...before.map((l) => l.labelId)) as { origin: string; superseded: number }[];
    expect(old.every((r) => r.origin === 'drawn' && r.superseded === 1)).toBe(true);
  });
});
