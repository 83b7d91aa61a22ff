// The CT phantom through the product's import: the real worker, SQLite file and content store.
// Each domain's series arrives as one CT volume in slice order, its geometry (the export's
// stackGeometry) as the generator placed it, and every stored pixel the generator's HU; the
// demo service offers the volume beside the ultrasound studies, its label maps kept aside.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { createCtPhantom, writeCtPhantomSeries } from '../../src/main/demo';
import { seriesByUid, seriesImages } from '../../src/main/export/queries';
import { stackGeometry, volumeProblem } from '../../src/main/export/volume-files';
import { call } from '../helpers/api';
import { tempDir } from '../helpers/temp';

describe('CT phantom import', () => {
  const tmp = tempDir();
  let b: Backend;
  beforeAll(() => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  });
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  for (const domain of ['base', 'shifted'] as const)
    it(`imports the ${domain} series as one CT volume in the generator's geometry and HU`, async () => {
      const opts = { seed: 21, domain, size: 64, slices: 16 } as const;
      const r = await writeCtPhantomSeries({
        ...opts,
        dicomDir: path.join(tmp.dir, 'ct', 'dicom'),
        groundTruthDir: path.join(tmp.dir, 'ct', 'truth'),
      });
      const started = await call(b).import.start({ paths: [path.dirname(r.files[0]!)] });
      const job = await b.importer.wait(started.jobId);
      expect(job.status).toBe('done');
      const report = await call(b).import.report({ jobId: started.jobId, limit: 100 });
      expect(report.counts).toMatchObject({ imported: 16, failed: 0 });
      const series = seriesByUid(b.db, r.seriesInstanceUid)!;
      expect(series).toMatchObject({ modality: 'CT', rows: 64, columns: 64 });
      expect(series.description).toMatch(/synthetic phantom/i);
      const images = seriesImages(b.db, series.id);
      expect(images).toHaveLength(16);
      expect(volumeProblem(images)).toBeNull();
      // Display order runs along +z (inferior → superior): the generator's slices reversed.
      const phantom = createCtPhantom(opts);
      const geometry = stackGeometry(images);
      const [dy, dx] = r.meta.pixelSpacingMm;
      expect(geometry.spacing[0]).toBeCloseTo(dx, 5);
      expect(geometry.spacing[1]).toBeCloseTo(dy, 5);
      expect(geometry.spacing[2]).toBeCloseTo(r.meta.sliceSpacingMm, 5);
      expect(geometry.direction.map((v) => Math.round(v * 1e6) / 1e6)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
      const last = phantom.slice(15).imagePositionPatient;
      for (let j = 0; j < 3; j++) expect(geometry.origin[j]).toBeCloseTo(last[j]!, 5);
      for (const [z, image] of images.entries()) {
        const slice = phantom.slice(15 - z);
        const frame = await b.frames.load(image.id);
        const hu = Array.from(frame.pixels, (v) => v * frame.slope + frame.intercept);
        expect(hu).toEqual(Array.from(slice.hu));
      }
    });

  it('is offered by the demo service beside the ultrasound studies, with its label maps outside the import', async () => {
    const { jobId, files } = await call(b).demo.load({ patients: 1, imagesPerSeries: 1, domain: 'base', ctVolume: true });
    expect(files).toBe(1 + 48);
    expect((await b.importer.wait(jobId)).status).toBe('done');
    const ct = b.db
      .prepare(
        "SELECT se.image_count AS images, se.rows FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id WHERE se.modality = 'CT' AND p.patient_id = 'DEMO-CT-4101-0001'",
      )
      .all();
    expect(ct).toEqual([{ images: 48, rows: 256 }]);
    const truth = path.join(tmp.dir, 'data', 'demo-ground-truth', 'DEMO-CT-4101-0001', 'CT-base', 'ground-truth.json');
    expect(existsSync(truth)).toBe(true);
    expect(JSON.parse(readFileSync(truth, 'utf8')).slices).toHaveLength(48);
    // No PNG label map was imported as an image.
    expect(b.db.prepare("SELECT count(*) FROM series WHERE source_format = 'png'").pluck().get()).toBe(0);
  });
});
