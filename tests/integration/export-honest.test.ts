// Exports say what they wrote and never destroy an earlier one (issue 21 item 6, issue 23 item 8):
// the demo ultrasound series (five images of different pixel spacings, no positions) is written as
// five 2D NIfTI files in their own spacings, not stacked at the first one's; a CT series is still
// one volume; a second export into the same folder gets new names; an nnU-Net dataset whose every
// case is a validation patient is refused with the reason.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { seriesImages, seriesOfStudy, type SeriesRow } from '../../src/main/export/queries';
import type { ExportResult } from '../../src/shared/contract';
import { encodeRle } from '../../src/shared/imaging/rle';
import { writeCtSeries } from '../helpers/ct-series';
import { tempDir } from '../helpers/temp';

/** dim[1..3] and pixdim[1..3] of a NIfTI-1 file (gzip or not), from its 348-byte header. */
function niftiHeader(file: string): { dim: number[]; pixdim: number[] } {
  const raw = readFileSync(file);
  const bytes = file.endsWith('.gz') ? gunzipSync(raw) : raw;
  const view = new DataView(bytes.buffer, bytes.byteOffset, 348);
  return {
    dim: [1, 2, 3].map((i) => view.getInt16(40 + 2 * i, true)),
    pixdim: [1, 2, 3].map((i) => view.getFloat32(76 + 4 * i, true)),
  };
}

describe('honest exports', () => {
  const tmp = tempDir('lgms-export-honest-');
  let backend: Backend;
  let us: SeriesRow;
  let ct: SeriesRow;

  const importOne = async (root: string): Promise<SeriesRow> => {
    const { jobId } = await backend.importer.start({ paths: [root] });
    const job = await backend.importer.wait(jobId);
    expect(job.status).toBe('done');
    const studyId = (job.result as { studyIds: number[] }).studyIds[0];
    const studyUid = backend.db.prepare('SELECT study_uid FROM studies WHERE id = ?').pluck().get(studyId) as string;
    return seriesOfStudy(backend.db, studyUid)[0]!;
  };
  const exportTo = async (format: 'nifti' | 'seg' | 'nnunet', s: SeriesRow[], outDir: string, datasetId = 501) => {
    const { jobId } = await backend.services.export.start({ seriesIds: s.map((x) => x.id), format, outDir, datasetId });
    const job = await backend.exporter.wait(jobId);
    expect(job.status, job.error ?? '').toBe('done');
    return job.result as ExportResult;
  };

  beforeAll(async () => {
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    await writeDemoStudies(path.join(tmp.dir, 'us'), { patients: 1, imagesPerSeries: 5, seed: 7, size: 128 });
    us = await importOne(path.join(tmp.dir, 'us'));
    writeCtSeries(path.join(tmp.dir, 'ct'), { count: 6, size: 32, seriesIndex: 3 });
    ct = await importOne(path.join(tmp.dir, 'ct'));
    const insert = backend.db.prepare(
      `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'drawn', 'T')`,
    );
    for (const s of [us, ct])
      for (const im of seriesImages(backend.db, s.id)) {
        const map = Uint8Array.from({ length: im.rows * im.columns }, (_, p) => (p % 7 === 0 ? 1 : 0));
        insert.run(im.id, s.id, encodeRle(map), map.filter(Boolean).length);
      }
  }, 120_000);
  afterAll(() => {
    backend?.close();
    tmp.cleanup();
  });

  it('writes ultrasound images of different pixel spacings as 2D files in their own spacing, and says why', async () => {
    const images = seriesImages(backend.db, us.id);
    expect(images).toHaveLength(5);
    expect(new Set(images.map((im) => im.pixelSpacing![0].toFixed(4))).size).toBeGreaterThan(1);
    const result = await exportTo('nifti', [us], path.join(tmp.dir, 'nifti-us'));
    const files = result.series[0]!.files;
    expect(files).toHaveLength(5);
    files.forEach((f, i) => {
      const h = niftiHeader(f);
      expect(h.dim).toEqual([images[i]!.columns, images[i]!.rows, 1]);
      expect(h.pixdim[0]).toBeCloseTo(images[i]!.pixelSpacing![1], 4);
      expect(h.pixdim[1]).toBeCloseTo(images[i]!.pixelSpacing![0], 4);
    });
    expect(result.notes.join('\n')).toMatch(/different pixel spacings \(0\.\d+–0\.\d+ mm\).*5 separate 2D files/);
  }, 60_000);

  it('still writes a CT series as one volume, with no note', async () => {
    const result = await exportTo('nifti', [ct], path.join(tmp.dir, 'nifti-ct'));
    // One volume, and the JSON sidecar that names its label values (issue 22).
    const volumes = result.series[0]!.files.filter((f) => f.endsWith('.nii.gz'));
    expect(volumes).toHaveLength(1);
    expect(result.series[0]!.files.filter((f) => f.endsWith('.json'))).toHaveLength(1);
    expect(niftiHeader(volumes[0]!).dim).toEqual([32, 32, 6]);
    expect(result.notes).toEqual([]);
  }, 60_000);

  it('never overwrites an earlier export in the same folder: the second one gets new names', async () => {
    const out = path.join(tmp.dir, 'seg-twice');
    const first = await exportTo('seg', [ct], out);
    const firstFile = first.series[0]!.files[0]!;
    const before = readFileSync(firstFile);
    const mtime = statSync(firstFile).mtimeMs;
    // Another SEG of the same series (a later review) must not replace the first one.
    backend.db.prepare('UPDATE labels SET mask = ? WHERE series_id = ?').run(encodeRle(new Uint8Array(32 * 32).fill(1)), ct.id);
    const second = await exportTo('seg', [ct], out);
    const secondFile = second.series[0]!.files[0]!;
    expect(secondFile).not.toBe(firstFile);
    expect(path.basename(secondFile)).toMatch(/_SEG-2\.dcm$/);
    expect(readFileSync(firstFile).equals(before)).toBe(true);
    expect(statSync(firstFile).mtimeMs).toBe(mtime);
    expect(second.notes.join('\n')).toMatch(/was already in .*written as .*_SEG-2\.dcm/);
    expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
  }, 60_000);

  it('writes each ultrasound image as its own 2D nnU-Net case', async () => {
    const result = await exportTo('nnunet', [us], path.join(tmp.dir, 'nnunet-us'), 11);
    const root = path.join(tmp.dir, 'nnunet-us', 'Dataset011_LGMS');
    expect(readdirSync(path.join(root, 'labelsTr')).sort()).toEqual(
      ['LGMS_0001_001', 'LGMS_0001_002', 'LGMS_0001_003', 'LGMS_0001_004', 'LGMS_0001_005'].map((c) => `${c}.nii.gz`),
    );
    expect(JSON.parse(readFileSync(path.join(root, 'dataset.json'), 'utf8')).numTraining).toBe(5);
    expect(niftiHeader(path.join(root, 'imagesTr', 'LGMS_0001_003_0000.nii.gz')).dim).toEqual([128, 128, 1]);
    expect(result.notes.join('\n')).toMatch(/2D cases/);
  }, 60_000);

  it('refuses an nnU-Net dataset whose every case is a validation patient: it would have nothing to train on', async () => {
    backend.db
      .prepare(
        "INSERT OR REPLACE INTO splits (split_key, split) SELECT 'patient:' || p.patient_key, 'validation' FROM patients p",
      )
      .run();
    const out = path.join(tmp.dir, 'nnunet-val');
    await expect(
      backend.services.export.start({ seriesIds: [us.id, ct.id], format: 'nnunet', outDir: out, datasetId: 12 }),
    ).rejects.toThrow(/no training case/);
    expect(() => readdirSync(out)).toThrow();
  }, 60_000);
});
