// NIfTI, PNG and nnU-Net exports through the export service (jobs and audit rows), checked by
// nibabel (label maps and affines), our PNG reader, and nnU-Net v2's dataset layout rules.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { seriesImages, seriesLabels, seriesOfStudy, type SeriesRow } from '../../src/main/export/queries';
import { encodeRle } from '../../src/shared/imaging/rle';
import type { ExportResult } from '../../src/shared/contract';
import { requireFixtures, sources } from '../fixtures';
import { readPng8 } from '../helpers/png';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel, numpy'], { stdio: 'ignore' }).status === 0;
const noNibabel = hasNibabel ? '' : 'Debian python3-nibabel is not installed';

/** nibabel's view of NIfTI files: shape, affine (RAS), voxels in slice/row/column order as hex. */
function nibabel(files: string[]): { shape: number[]; affine: number[][]; canonical: number[][]; data: string }[] {
  const script = `
import json, sys, nibabel as nb, numpy as np
out = []
for f in sys.argv[1:]:
    img = nb.load(f)
    data = np.asanyarray(img.dataobj)
    out.append({"shape": list(data.shape), "affine": img.affine.tolist(), "canonical": nb.as_closest_canonical(img).affine.tolist(),
                "data": data.transpose(2, 1, 0).astype(np.uint8).tobytes().hex() if data.ndim == 3 else ""})
print(json.dumps(out))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, ...files], { encoding: 'utf8', maxBuffer: 1 << 28 })) as never;
}

describe('NIfTI, PNG and nnU-Net exports', () => {
  const tmp = tempDir('lgms-export-');
  let backend: Backend;
  const series = new Map<string, SeriesRow>();

  beforeAll(async () => {
    requireFixtures();
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    const roots = {
      ct: path.join(sources.pydicom, 'test_files', 'dicomdirtests', '98892001', 'CT5N'),
      nifti: path.join(sources.nibabel, 'tests', 'anatomical.nii'),
    };
    for (const [key, root] of Object.entries(roots)) {
      const { jobId } = await backend.importer.start({ paths: [root] });
      const job = await backend.importer.wait(jobId);
      expect(job.status).toBe('done');
      const studyId = (job.result as { studyIds: number[] }).studyIds[0];
      const studyUid = backend.db.prepare('SELECT study_uid FROM studies WHERE id = ?').pluck().get(studyId) as string;
      series.set(key, seriesOfStudy(backend.db, studyUid)[0]!);
    }
    // Labels that differ per slice and per position: (row + column + slice) % 3 == 0 → 1.
    for (const s of series.values()) {
      const insert = backend.db.prepare(
        `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'drawn', 'T')`,
      );
      seriesImages(backend.db, s.id).forEach((im, z) => {
        const map = Uint8Array.from({ length: im.rows * im.columns }, (_, p) =>
          (Math.floor(p / im.columns) + (p % im.columns) + z) % 3 === 0 ? 1 : 0,
        );
        insert.run(im.id, s.id, encodeRle(map), map.filter(Boolean).length);
      });
    }
    // The CT patient's split is frozen as validation.
    backend.db
      .prepare(
        "INSERT INTO splits (split_key, split) SELECT 'patient:' || p.patient_key, 'validation' FROM patients p JOIN studies st ON st.patient_id = p.id WHERE st.study_uid = ?",
      )
      .run(series.get('ct')!.studyUid);
  }, 120_000);
  afterAll(() => {
    backend?.close();
    tmp.cleanup();
  });

  async function exportTo(
    format: 'nifti' | 'png' | 'nnunet' | 'seg',
    keys: string[],
    outDir: string,
    extra: { fallBackToPredictions?: boolean } = {},
  ) {
    const { jobId } = await backend.services.export.start({
      seriesIds: keys.map((k) => series.get(k)!.id),
      format,
      outDir,
      ...extra,
    });
    return backend.exporter.wait(jobId);
  }

  function expectedStack(s: SeriesRow): string {
    const labels = seriesLabels(backend.db, s.id, false);
    return Buffer.concat(seriesImages(backend.db, s.id).map((im) => labels.get(im.id)!.map)).toString('hex');
  }

  it.skipIf(noNibabel)(
    skipTitle('writes NIfTI label maps that nibabel reads with the source geometry', noNibabel),
    async () => {
      const out = path.join(tmp.dir, 'nifti');
      const job = await exportTo('nifti', ['ct', 'nifti'], out);
      expect(job.status, job.error ?? '').toBe('done');
      const result = job.result as ExportResult;
      const [ct, nii] = nibabel(result.series.map((s) => s.files[0]!));
      // CT: the affine from the DICOM geometry (LPS → RAS flips x and y), voxels as stacked.
      const images = seriesImages(backend.db, series.get('ct')!.id);
      const first = images[0]!;
      const last = images[images.length - 1]!;
      const [sr, sc] = first.pixelSpacing!;
      const o = first.orientation!;
      const dz = last.position!.map((v, i) => (v - first.position![i]!) / (images.length - 1));
      const lps = [
        [o[0]! * sc, o[3]! * sr, dz[0]!, first.position![0]],
        [o[1]! * sc, o[4]! * sr, dz[1]!, first.position![1]],
        [o[2]! * sc, o[5]! * sr, dz[2]!, first.position![2]],
      ];
      const ras = lps.map((row, i) => (i < 2 ? row.map((v) => -v!) : row));
      ct!.affine
        .slice(0, 3)
        .forEach((row, i) => row.forEach((v, j) => expect(v, `affine[${i}][${j}]`).toBeCloseTo(ras[i]![j]!, 4)));
      expect(ct!.shape).toEqual([first.columns, first.rows, images.length]);
      expect(ct!.data).toBe(expectedStack(series.get('ct')!));
      // NIfTI source: the same voxel grid in the world as the source file (axes may be reordered
      // or flipped for display, so compare the closest-canonical affines), and the labels.
      const [source] = nibabel([path.join(sources.nibabel, 'tests', 'anatomical.nii')]);
      nii!.canonical.forEach((row, i) =>
        row.forEach((v, j) => expect(v, `canonical[${i}][${j}]`).toBeCloseTo(source!.canonical[i]![j]!, 4)),
      );
      expect(nii!.data).toBe(expectedStack(series.get('nifti')!));
      expect(readdirSync(out).filter((f) => f.startsWith('.'))).toEqual([]);
    },
    60_000,
  );

  it('writes one PNG per slice whose values are the label map', async () => {
    const out = path.join(tmp.dir, 'png');
    const job = await exportTo('png', ['ct'], out);
    expect(job.status, job.error ?? '').toBe('done');
    const all = (job.result as ExportResult).series[0]!.files;
    // Beside the slices, labels.json says what each value means (issue 22).
    expect(all.filter((f) => !f.endsWith('.png')).map((f) => path.basename(f))).toEqual(['labels.json']);
    const files = all.filter((f) => f.endsWith('.png'));
    const s = series.get('ct')!;
    const labels = seriesLabels(backend.db, s.id, false);
    const images = seriesImages(backend.db, s.id);
    expect(files).toHaveLength(images.length);
    files.forEach((f, i) => {
      const png = readPng8(readFileSync(f));
      expect([png.width, png.height]).toEqual([s.columns, s.rows]);
      expect(Buffer.from(png.data).equals(Buffer.from(labels.get(images[i]!.id)!.map))).toBe(true);
    });
  });

  it.skipIf(noNibabel)(
    skipTitle("writes an nnU-Net v2 raw dataset that follows nnU-Net's layout rules and keeps the frozen split", noNibabel),
    async () => {
      const out = path.join(tmp.dir, 'nnunet');
      const { jobId } = await backend.services.export.start({ format: 'nnunet', outDir: out, datasetId: 42 });
      const job = await backend.exporter.wait(jobId);
      expect(job.status, job.error ?? '').toBe('done');
      const root = path.join(out, 'Dataset042_LGMS');
      const dataset = JSON.parse(readFileSync(path.join(root, 'dataset.json'), 'utf8')) as Record<string, unknown>;
      // nnU-Net v2 (documentation/dataset_format.md): required keys, background 0, consecutive labels.
      for (const key of ['channel_names', 'labels', 'numTraining', 'file_ending']) expect(dataset).toHaveProperty(key);
      expect(dataset.file_ending).toBe('.nii.gz');
      const labels = Object.values(dataset.labels as Record<string, number>).sort();
      expect(labels).toEqual(labels.map((_, i) => i));
      expect((dataset.labels as Record<string, number>).background).toBe(0);
      const channels = Object.keys(dataset.channel_names as object);
      const cases = readdirSync(path.join(root, 'labelsTr')).map((f) => f.replace(/\.nii\.gz$/, ''));
      expect(cases).toHaveLength(dataset.numTraining as number);
      expect(readdirSync(path.join(root, 'imagesTr')).sort()).toEqual(
        cases.flatMap((c) => channels.map((ch) => `${c}_${ch.padStart(4, '0')}.nii.gz`)).sort(),
      );
      // Image and label of a case share shape and geometry; label values are the dataset's labels.
      for (const c of cases) {
        const [image, label] = nibabel([
          path.join(root, 'imagesTr', `${c}_0000.nii.gz`),
          path.join(root, 'labelsTr', `${c}.nii.gz`),
        ]);
        expect(image!.shape).toEqual(label!.shape);
        image!.affine.forEach((row, i) => row.forEach((v, j) => expect(v).toBeCloseTo(label!.affine[i]![j]!, 5)));
        for (const v of new Set(Buffer.from(label!.data, 'hex'))) expect(labels).toContain(v);
      }
      const splits = JSON.parse(readFileSync(path.join(root, 'splits_final.json'), 'utf8')) as {
        train: string[];
        val: string[];
      }[];
      const byCase = JSON.parse(readFileSync(path.join(root, 'cases.json'), 'utf8')) as Record<string, { seriesUid: string }>;
      const ctCase = Object.entries(byCase).find(([, v]) => v.seriesUid === series.get('ct')!.seriesUid)![0];
      expect(splits[0]!.val).toEqual([ctCase]);
      expect(splits[0]!.train).toHaveLength(cases.length - 1);
    },
    60_000,
  );

  it('cancels an export between series: a cancelled job, no dataset folder, no audit row', async () => {
    const out = path.join(tmp.dir, 'cancelled');
    const before = backend.db.prepare('SELECT count(*) FROM audit_log').pluck().get();
    const { jobId } = await backend.services.export.start({ format: 'nnunet', outDir: out, datasetId: 43 });
    await backend.services.jobs.cancel({ id: jobId });
    const job = await backend.exporter.wait(jobId);
    expect(job.status).toBe('cancelled');
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    expect(backend.db.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(before);
  }, 60_000);

  it('records an audit row per exported series', () => {
    const rows = backend.db
      .prepare("SELECT action, subject, series_id AS seriesId, detail FROM audit_log WHERE action LIKE 'export.%' ORDER BY id")
      .all() as { action: string; subject: string; seriesId: number; detail: string }[];
    expect(rows.map((r) => r.action)).toEqual(expect.arrayContaining(['export.png', 'export.nnunet']));
    const png = rows.find((r) => r.action === 'export.png')!;
    expect(png.seriesId).toBe(series.get('ct')!.id);
    expect(JSON.parse(png.detail)).toMatchObject({ used: 'labels' });
  });

  it('fails an export with nothing to write cleanly: a failed job, no files, no staging folder, no audit row', async () => {
    backend.db.prepare("UPDATE labels SET superseded_at = 'now' WHERE series_id = ?").run(series.get('nifti')!.id);
    const out = path.join(tmp.dir, 'empty');
    const before = backend.db.prepare('SELECT count(*) FROM audit_log').pluck().get();
    const job = await exportTo('seg', ['nifti'], out);
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/no labels/);
    expect(existsSync(out) ? readdirSync(out) : []).toEqual([]);
    expect(backend.db.prepare('SELECT count(*) FROM audit_log').pluck().get()).toBe(before);
  });
});
