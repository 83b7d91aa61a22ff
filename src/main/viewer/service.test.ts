// The viewer service on a real backend: a generated CT series and pydicom's CT_small, imported
// through the real worker into a real SQLite file.
import { copyFileSync, existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../../../tests/helpers/api';
import { tempDir } from '../../../tests/helpers/temp';
import { writeCtSeries } from '../../../tests/helpers/ct-series';
import { draftViewSchema, FRAMES_PER_CALL, viewerFrameBatchSchema, viewerFrameSchema } from '../../shared/contract';
import { EditHistory, diffPatch } from '../../shared/imaging/history';
import { decodeRle, encodeRle } from '../../shared/imaging/rle';
import { createBackend, type Backend } from '../backend';
import { missingPath, skipTitle } from '../../../tests/helpers/skip';

const CT_SMALL = '/usr/lib/python3/dist-packages/pydicom/data/test_files/CT_small.dcm';

describe('viewer service', () => {
  const tmp = tempDir();
  let b: Backend;
  let seriesId: number;
  let probe: number[];

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    probe = writeCtSeries(path.join(tmp.dir, 'in', 'ct'), { count: 5, size: 32 }).probe;
    if (existsSync(CT_SMALL)) {
      mkdirSync(path.join(tmp.dir, 'in', 'small'), { recursive: true });
      copyFileSync(CT_SMALL, path.join(tmp.dir, 'in', 'small', 'CT_small.dcm'));
    }
    const { jobId } = await call(b).import.start({ paths: [path.join(tmp.dir, 'in')] });
    expect(await b.importer.wait(jobId)).toMatchObject({ status: 'done' });
    seriesId = b.db.prepare("SELECT id FROM series WHERE series_uid = '2.25.910000000000000000002'").pluck().get() as number;
  });
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  it('lists a series in display order with overlay text and geometry', async () => {
    const s = await call(b).viewer.series({ seriesId });
    expect(s).toMatchObject({ modality: 'CT', patient: { name: 'TEST^CT^1', id: 'CT-1' }, study: { date: '20260102' } });
    expect(s.images).toHaveLength(5);
    expect(s.images.map((i) => i.position?.[2])).toEqual([0, 2.5, 5, 7.5, 10]);
    expect(s.images[0]).toMatchObject({
      rows: 32,
      columns: 32,
      pixelSpacing: [0.7, 0.7],
      orientation: [1, 0, 0, 0, 1, 0],
      windowCenter: 40,
      windowWidth: 400,
    });
    // Slice Thickness (0018,0050) as the files state it (2.5 mm, ct-series.ts), for the overlay.
    expect(s.images.map((i) => i.sliceThickness)).toEqual([2.5, 2.5, 2.5, 2.5, 2.5]);
    await expect(b.dispatch('viewer', 'series', { seriesId: 999 })).resolves.toMatchObject({
      ok: false,
      error: { code: 'not-found' },
    });
  });

  it('sends decoded frames as typed arrays with their range and modality LUT', async () => {
    const s = await call(b).viewer.series({ seriesId });
    for (const [z, image] of s.images.entries()) {
      const f = await call(b).viewer.frame({ imageId: image.imageId });
      expect(f).toMatchObject({ dtype: 'int16', rows: 32, columns: 32, slope: 1, intercept: -1024, photometric: 'MONOCHROME2' });
      expect(f.data).toBeInstanceOf(Uint8Array);
      expect(viewerFrameSchema.safeParse(f).success).toBe(true); // the result's schema holds what the service sends
      const px = new Int16Array(f.data.slice().buffer);
      expect(px[10 * 32 + 20]).toBe(probe[z]);
      expect(f.min).toBe(Math.min(...px));
      expect(f.max).toBe(Math.max(...px));
    }
  });

  it('sends several frames in one call, equal to single calls, and names a frame it cannot read', async () => {
    const s = await call(b).viewer.series({ seriesId });
    const ids = s.images.map((i) => i.imageId);
    const batch = await call(b).viewer.frames({ imageIds: [...ids, 999_999] });
    expect(viewerFrameBatchSchema.safeParse(batch).success).toBe(true);
    expect(batch.frames.map((f) => f.imageId)).toEqual(ids);
    for (const f of batch.frames) expect(f).toEqual(await call(b).viewer.frame({ imageId: f.imageId }));
    expect(batch.failed).toEqual([{ imageId: 999_999, message: 'no image 999999' }]);
    const tooMany = Array.from({ length: FRAMES_PER_CALL + 1 }, (_, i) => i + 1);
    await expect(b.dispatch('viewer', 'frames', { imageIds: tooMany })).resolves.toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
  });

  it.skipIf(missingPath(CT_SMALL))(skipTitle('decodes a real CT file (pydicom CT_small)', missingPath(CT_SMALL)), async () => {
    const small = b.db
      .prepare("SELECT se.id FROM series se WHERE se.series_uid != '2.25.910000000000000000002'")
      .pluck()
      .get() as number;
    const s = await call(b).viewer.series({ seriesId: small });
    const f = await call(b).viewer.frame({ imageId: s.images[0]!.imageId });
    expect(f).toMatchObject({ rows: 128, columns: 128, dtype: 'int16' });
    expect(f.max).toBeGreaterThan(f.min);
  });

  it('saves a draft with its history in one step, restores it, and refuses stale or corrupt saves', async () => {
    const s = await call(b).viewer.series({ seriesId });
    const [a, c] = [s.images[1]!.imageId, s.images[3]!.imageId];
    expect(await call(b).viewer.draft({ seriesId })).toBeNull();
    const map = new Uint8Array(32 * 32);
    map.fill(1, 100, 140);
    const history = new EditHistory();
    history.push({ label: 'Brush', patches: [{ imageId: a, xor: diffPatch(new Uint8Array(1024), map)! }] });
    const first = await call(b).viewer.saveDraft({
      seriesId,
      baseRevision: 0,
      slices: [{ imageId: a, labels: encodeRle(map) }],
      history: history.serialize(),
    });
    expect(first.revision).toBe(1);

    const draft = (await call(b).viewer.draft({ seriesId }))!;
    expect(draftViewSchema.safeParse(draft).success).toBe(true);
    expect(draft.revision).toBe(1);
    expect(draft.slices.map((x) => x.imageId)).toEqual([a]);
    expect(decodeRle(draft.slices[0]!.labels, 1024)).toEqual(map);
    const restored = EditHistory.fromSerialized(draft.history!);
    expect(restored.undoLabel).toBe('Brush');
    expect(restored.undo()!.patches[0]!.xor).toEqual(history.undo()!.patches[0]!.xor);

    // Another window still at revision 0 cannot overwrite it.
    await expect(
      b.dispatch('viewer', 'saveDraft', { seriesId, baseRevision: 0, slices: [], history: null }),
    ).resolves.toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    // A map of the wrong size, or an image of another series, changes nothing.
    const bad = await b.dispatch('viewer', 'saveDraft', {
      seriesId,
      baseRevision: 1,
      slices: [{ imageId: c, labels: encodeRle(new Uint8Array(10)) }],
      history: null,
    });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    expect((await call(b).viewer.draft({ seriesId }))!.revision).toBe(1);

    // Clearing a slice removes its row; another slice is added in the same save.
    const second = await call(b).viewer.saveDraft({
      seriesId,
      baseRevision: 1,
      slices: [
        { imageId: a, labels: encodeRle(new Uint8Array(1024)) },
        { imageId: c, labels: encodeRle(map) },
      ],
      history: null,
    });
    expect(second.revision).toBe(2);
    expect((await call(b).viewer.draft({ seriesId }))!.slices.map((x) => x.imageId)).toEqual([c]);
    expect(await call(b).viewer.discardDraft({ seriesId })).toEqual({ discarded: true });
    expect(await call(b).viewer.draft({ seriesId })).toBeNull();
  });

  it('reads an undo history stored by an earlier version (JSON text, base64 patches)', async () => {
    const s = await call(b).viewer.series({ seriesId });
    const a = s.images[2]!.imageId;
    const xor = encodeRle(Uint8Array.of(0, 1, 1, 0));
    const legacy = JSON.stringify({
      limit: 100,
      cursor: 1,
      entries: [{ label: 'Fill', patches: [{ imageId: a, xor: Buffer.from(xor).toString('base64') }] }],
    });
    b.db.prepare('INSERT INTO drafts (series_id, revision, history) VALUES (?, 7, ?)').run(seriesId, legacy);
    const draft = (await call(b).viewer.draft({ seriesId }))!;
    expect(draft.history!.entries[0]!.patches[0]!.xor).toEqual(xor);
    expect(EditHistory.fromSerialized(draft.history!).undoLabel).toBe('Fill');
    await call(b).viewer.discardDraft({ seriesId });
  });
});
