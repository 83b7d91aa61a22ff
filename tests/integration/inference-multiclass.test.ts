// A multi-class (softmax) model through the whole engine (issue 22): the test makes its own
// five-class LGMSNet from the starter's layers (tests/helpers/multiclass-model.py: background,
// then four nested rings by the starter's lesion logit, painted as label values 1, 2, 4, 5),
// registers and activates it, segments generated ultrasound studies with and without TTA and
// checks the stored label maps, heat maps and scores against the binary starter's.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/api';
import { createBackend, type Backend } from '../../src/main/backend';
import { generatePhantom, writeDemoStudies } from '../../src/main/demo';
import { dice } from '../../src/shared/imaging/postprocess';
import { decodeHeatMap, gridHeatMapSize, isGridHeatMap } from '../../src/shared/imaging/heat-map';
import { decodeRle } from '../../src/shared/imaging/rle';
import { makeMulticlassModel, STARTER_DIR } from '../helpers/multiclass-model';
import { tempDir } from '../helpers/temp';

const SEED = 303;
const VALUES = [1, 2, 4, 5];

describe.skipIf(!existsSync(path.join(STARTER_DIR, 'weights.pt')))('inference with a multi-class softmax model', () => {
  const tmp = tempDir();
  let b: Backend;
  let files: Awaited<ReturnType<typeof writeDemoStudies>>;
  let seriesId: number;
  let versionId: number;
  const starter = new Map<number, Uint8Array>();
  beforeAll(async () => {
    makeMulticlassModel(path.join(tmp.dir, 'model'), { values: VALUES });
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    await call(b).settings.update({ autoSegmentOnImport: false });
    files = await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 1, imagesPerSeries: 8, seed: SEED, domain: 'base' });
    const started = await call(b).import.start({ paths: [path.join(tmp.dir, 'demo')] });
    expect((await b.importer.wait(started.jobId)).status).toBe('done');
    seriesId = b.db.prepare('SELECT id FROM series').pluck().get() as number;
    // The binary starter's masks first, for comparison.
    const { jobId } = await call(b).inference.segmentSeries({ seriesId, ttaFlips: 2 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    for (const f of files) {
      const imageId = imageOf(f.sopInstanceUid);
      const p = (await call(b).inference.prediction({ imageId }))!;
      starter.set(imageId, decodeRle(p.mask, p.rows * p.columns));
    }
  }, 300_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });
  const imageOf = (uid: string) => b.db.prepare('SELECT id FROM images WHERE sop_instance_uid = ?').pluck().get(uid) as number;

  it('loads the softmax model (probe with five output channels) and stores label values from the argmax, with the softmax TTA uncertainty', async () => {
    const version = await call(b).models.importVersion({ folder: path.join(tmp.dir, 'model') });
    versionId = version.id;
    await call(b).models.activate({ id: version.id });
    expect((await call(b).inference.status()).model?.modelId).toBe('test-multiclass');
    const { jobId } = await call(b).inference.segmentSeries({ seriesId, ttaFlips: 2 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    const seen = new Set<number>();
    const agreement: number[] = [];
    const truthDice: number[] = [];
    for (const f of files) {
      const imageId = imageOf(f.sopInstanceUid);
      const p = (await call(b).inference.prediction({ imageId }))!;
      expect(p.modelVersionId).toBe(version.id);
      const labels = decodeRle(p.mask, p.rows * p.columns);
      for (const v of new Set(labels)) seen.add(v);
      expect(p.foregroundPixels).toBe(labels.filter((v) => v !== 0).length);
      // Background wins where the starter's logit is below 0: the foreground is the starter's.
      agreement.push(dice(labels, starter.get(imageId)!));
      truthDice.push(dice(labels, generatePhantom({ seed: SEED, index: f.index, domain: 'base' }).mask));
      expect(p.uncertainty).not.toBeNull();
      // Stored on the model's grid (the letterboxed part of 128²), shown at the slice's size.
      expect(isGridHeatMap(p.uncertainty!)).toBe(true);
      expect(Math.max(gridHeatMapSize(p.uncertainty!).width, gridHeatMapSize(p.uncertainty!).height)).toBe(128);
      const heat = decodeHeatMap(p.uncertainty!, p.columns, p.rows);
      expect(heat.some((v) => v > 0)).toBe(true);
      expect(p.entropy).toBeGreaterThanOrEqual(0);
      expect(p.entropy).toBeLessThanOrEqual(1);
      expect(p.ttaDice).toBeGreaterThan(0.5);
    }
    // Only the model's label values appear (3 is not one of them), and the rings give several.
    expect([...seen].every((v) => v === 0 || VALUES.includes(v))).toBe(true);
    expect(seen.size).toBeGreaterThanOrEqual(3);
    const mean = (a: number[]) => a.reduce((s, v) => s + v, 0) / a.length;
    expect(mean(agreement)).toBeGreaterThan(0.95);
    expect(mean(truthDice)).toBeGreaterThan(0.85);
  }, 180_000);

  it('2.5D: a model whose input.channelMode is adjacent gets slices z−1, z, z+1 of the series and segments every slice', async () => {
    const folder = makeMulticlassModel(path.join(tmp.dir, 'adjacent'), { values: VALUES, channelMode: 'adjacent' });
    const version = await call(b).models.importVersion({ folder });
    await call(b).models.activate({ id: version.id });
    const { jobId } = await call(b).inference.segmentSeries({ seriesId, ttaFlips: 2 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    let differs = 0;
    for (const f of files) {
      const imageId = imageOf(f.sopInstanceUid);
      const p = (await call(b).inference.prediction({ imageId }))!;
      expect(p.modelVersionId).toBe(version.id);
      const labels = decodeRle(p.mask, p.rows * p.columns);
      expect([...new Set(labels)].every((v) => v === 0 || VALUES.includes(v))).toBe(true);
      const single = (await call(b).inference.prediction({ imageId, modelVersionId: versionId }))!;
      if (dice(labels, decodeRle(single.mask, p.rows * p.columns)) < 0.999) differs++;
    }
    // The generated series' slices are different phantoms: with its neighbours as channels the model sees other input.
    expect(differs).toBeGreaterThan(0);
    await call(b).models.activate({ id: versionId });
  }, 180_000);

  it('without TTA: the same labels, no heat map, a score from the single softmax', async () => {
    const { jobId } = await call(b).inference.segmentSeries({ seriesId, ttaFlips: 0 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    for (const f of files) {
      const p = (await call(b).inference.prediction({ imageId: imageOf(f.sopInstanceUid) }))!;
      expect(p.modelVersionId).toBe(versionId);
      const labels = decodeRle(p.mask, p.rows * p.columns);
      expect([...new Set(labels)].every((v) => v === 0 || VALUES.includes(v))).toBe(true);
      expect(p.uncertainty).toBeNull();
      expect(p.ttaDice).toBeNull();
      expect(p.entropy).toBeGreaterThan(0);
      expect(p.entropy).toBeLessThan(1);
    }
  }, 120_000);
});
