// Accept never throws away the reader's work (issue 21, item 1): on a series with a saved draft,
// A decides from the draft (what the viewer shows) by the same rule as submit, and the series'
// labels say whether the viewer's draft still matches what is stored. Real database, the shipped
// starter model's real predictions of two demo series.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { labelMap } from '../../src/main/review/labels';
import { dice } from '../../src/shared/imaging/postprocess';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const MODEL = existsSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx'));

describe.skipIf(!MODEL)('accept on a series with a draft (the starter model is missing otherwise)', () => {
  const tmp = tempDir();
  let b: Backend;
  let series: number[] = [];

  async function predictions(seriesId: number) {
    const ids = b.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index, id')
      .pluck()
      .all(seriesId) as number[];
    return Promise.all(
      ids.map(async (imageId) => {
        const p = (await b.services.inference.prediction({ imageId }))!;
        return { imageId, columns: p.columns, mask: decodeRle(p.mask, p.rows * p.columns) };
      }),
    );
  }

  async function saveDraft(seriesId: number, maps: { imageId: number; map: Uint8Array }[]) {
    const current = await b.services.viewer.draft({ seriesId });
    await b.services.viewer.saveDraft({
      seriesId,
      baseRevision: current?.revision ?? 0,
      slices: maps.map((m) => ({ imageId: m.imageId, labels: encodeRle(m.map) })),
      history: null,
    });
  }

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    await b.services.settings.update({ userName: 'Dr Draft', ttaFlips: 0 });
    await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 2, imagesPerSeries: 2, seed: 2101, domain: 'base' });
    const started = await b.services.import.start({ paths: [path.join(tmp.dir, 'demo')] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    for (const job of await b.services.jobs.list({ kind: 'inference' })) expect(await b.engine.waitForJob(job.id)).toBe('done');
    series = b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[];
    expect(series).toHaveLength(2);
  }, 180_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('decides from the drawn draft: an edited label with its edit Dice, audited as a submit, the draft consumed', async () => {
    const seriesId = series[0]!;
    const [a, c] = await predictions(seriesId);
    const edited = a!.mask.slice();
    for (let y = 0; y < 12; y++) for (let x = 0; x < 12; x++) edited[y * a!.columns + x] = 1;
    const changed = edited.reduce((n, v, i) => n + (v !== a!.mask[i] ? 1 : 0), 0);
    expect(changed).toBeGreaterThan(0);
    await saveDraft(seriesId, [
      { imageId: a!.imageId, map: edited },
      { imageId: c!.imageId, map: c!.mask },
    ]);
    expect((await b.services.review.labels({ seriesId })).draft).toBe('unsubmitted');

    const decision = await b.services.review.accept({ seriesId });
    expect(decision.fromDraft).toBe(true);
    expect(decision.labels.map((l) => l.origin)).toEqual(['edited', 'accepted']);
    expect(decision.labels[0]!.editDice).toBeCloseTo(dice(a!.mask, edited), 12);
    expect(decision.labels[0]!.pixelsChanged).toBe(changed);
    // What is stored is what the viewer showed, not the bare prediction.
    expect(labelMap(b.db, a!.imageId)).toEqual(edited);
    expect(labelMap(b.db, c!.imageId)).toEqual(c!.mask);
    expect(await b.services.viewer.draft({ seriesId })).toBeNull();
    const [audit] = await b.services.review.audit({ seriesId });
    expect(audit).toMatchObject({
      action: 'review.submit',
      detail: { key: 'accept', fromDraft: true, labels: { origins: { edited: 1, accepted: 1 } } },
    });
    expect((await b.services.review.labels({ seriesId })).draft).toBe('none');

    // A later draft on the labelled series: the labels say whether it still matches what is stored.
    await saveDraft(seriesId, [{ imageId: c!.imageId, map: new Uint8Array(c!.mask.length) }]);
    expect((await b.services.review.labels({ seriesId })).draft).toBe('differs');
    await saveDraft(seriesId, [
      { imageId: a!.imageId, map: edited },
      { imageId: c!.imageId, map: c!.mask },
    ]);
    expect((await b.services.review.labels({ seriesId })).draft).toBe('matches');
  });

  it('accepts the prediction unchanged when the draft has nothing drawn in it, and discards that draft', async () => {
    const seriesId = series[1]!;
    const [a, c] = await predictions(seriesId);
    // Drawn, then erased: the draft exists with no labelled slice.
    await saveDraft(seriesId, [{ imageId: a!.imageId, map: new Uint8Array(a!.mask.length) }]);
    expect(await b.services.viewer.draft({ seriesId })).not.toBeNull();
    const decision = await b.services.review.accept({ seriesId });
    expect(decision.fromDraft).toBe(false);
    expect(decision.labels.map((l) => l.origin)).toEqual(['accepted', 'accepted']);
    expect(labelMap(b.db, a!.imageId)).toEqual(a!.mask);
    expect(labelMap(b.db, c!.imageId)).toEqual(c!.mask);
    expect(await b.services.viewer.draft({ seriesId })).toBeNull();
    expect((await b.services.review.audit({ seriesId }))[0]).toMatchObject({ action: 'review.accept' });
  });

  it("accepts one task's prediction without using or discarding another task's draft of the series", async () => {
    const seriesId = series[1]!;
    await b.services.review.reopen({ seriesId });
    const other = await b.services.tasks.create({
      name: 'Breast structures',
      domain: { modalities: ['US'], photometric: ['MONOCHROME2', 'RGB'], bodyPart: 'breast' },
      labels: [{ name: 'Cyst' }],
    });
    const [a] = await predictions(seriesId);
    const drawn = new Uint8Array(a!.mask.length);
    drawn.fill(1, 0, 64);
    const before = await b.services.viewer.draft({ seriesId, taskId: other.id });
    await b.services.viewer.saveDraft({
      seriesId,
      taskId: other.id,
      baseRevision: before?.revision ?? 0,
      slices: [{ imageId: a!.imageId, labels: encodeRle(drawn) }],
      history: null,
    });
    const decision = await b.services.review.accept({ seriesId });
    expect(decision.fromDraft).toBe(false);
    expect(decision.labels.every((l) => l.origin === 'accepted' && l.taskId === 1)).toBe(true);
    expect(labelMap(b.db, a!.imageId)).toEqual(a!.mask);
    // The other task's drawing is still there, untouched.
    const kept = (await b.services.viewer.draft({ seriesId, taskId: other.id }))!;
    expect(decodeRle(kept.slices[0]!.labels, drawn.length)).toEqual(drawn);
  });
});
