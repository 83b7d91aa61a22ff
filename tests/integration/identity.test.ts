// Who did it (issue 21, item 7): one identity — Settings → Your name, else the operating-system
// account — on every label, review decision and export, and the audit view's rows name the
// patient, the series and the model version, not database ids. Real database, real demo DICOM,
// a real export; the prediction rows are written directly so no model has to run.
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { encodeRle } from '../../src/shared/imaging/rle';
import { tempDir } from '../helpers/temp';

describe('one identity on labels, decisions and exports', () => {
  const tmp = tempDir();
  let b: Backend;
  let series: number[] = [];
  const osUser = os.userInfo().username;

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    await writeDemoStudies(path.join(tmp.dir, 'demo'), { patients: 2, imagesPerSeries: 1, seed: 4001, domain: 'base' });
    const { jobId } = await b.services.import.start({ paths: [path.join(tmp.dir, 'demo')] });
    expect((await b.importer.wait(jobId)).status).toBe('done');
    // What a finished segmentation leaves: one prediction per image of the active version.
    const active = b.registry.active()!.id;
    const images = b.db.prepare('SELECT id, series_id, rows * columns AS n FROM images').all() as {
      id: number;
      series_id: number;
      n: number;
    }[];
    for (const i of images) {
      const mask = new Uint8Array(i.n).fill(1, 0, 100);
      b.db
        .prepare(
          'INSERT INTO predictions (image_id, model_version_id, mask, foreground_pixels, entropy, tta_flips) VALUES (?, ?, ?, 100, 0.1, 2)',
        )
        .run(i.id, active, Buffer.from(encodeRle(mask)));
    }
    b.db.exec("UPDATE series SET status = 'segmented'");
    series = b.db.prepare('SELECT id FROM series ORDER BY id').pluck().all() as number[];
  }, 60_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('records the operating-system account while Settings names no one, the same on the label, the decision and the export', async () => {
    expect((await b.services.settings.get()).userName).toBe('');
    expect((await b.services.system.getInfo()).osUser).toBe(osUser);
    const decision = await b.services.review.accept({ seriesId: series[0]! });
    expect(decision.labels.map((l) => l.author)).toEqual([osUser]);
    const { jobId } = await b.services.export.start({
      seriesIds: [series[0]!],
      format: 'png',
      outDir: path.join(tmp.dir, 'out-1'),
    });
    expect((await b.exporter.wait(jobId)).status).toBe('done');
    const actors = (await b.services.review.audit({})).map((e) => [e.action, e.actor]);
    expect(actors).toEqual([
      ['export.png', osUser],
      ['review.accept', osUser],
    ]);
  });

  it('records the name set in Settings instead, everywhere', async () => {
    await b.services.settings.update({ userName: 'Dr Ada Reader' });
    const decision = await b.services.review.accept({ seriesId: series[1]! });
    expect(decision.labels.map((l) => l.author)).toEqual(['Dr Ada Reader']);
    const { jobId } = await b.services.export.start({
      seriesIds: [series[1]!],
      format: 'png',
      outDir: path.join(tmp.dir, 'out-2'),
    });
    expect((await b.exporter.wait(jobId)).status).toBe('done');
    const [exported, accepted] = await b.services.review.audit({});
    expect([exported?.actor, accepted?.actor]).toEqual(['Dr Ada Reader', 'Dr Ada Reader']);
    expect((await b.services.review.labels({ seriesId: series[1]! })).labels[0]?.author).toBe('Dr Ada Reader');
  });

  it('names the patient, the series and the model version in each audit row', async () => {
    const [row] = await b.services.review.audit({ action: 'review', seriesId: series[1]! });
    expect(row).toMatchObject({
      patientName: 'DEMO^PHANTOM^0002',
      patientId: 'DEMO-4001-0002',
      modality: 'US',
      seriesDescription: expect.stringMatching(/\S/),
      modelName: expect.stringMatching(/^LGMSNet starter/),
      modelVersion: '1.0.0',
    });
  });
});
