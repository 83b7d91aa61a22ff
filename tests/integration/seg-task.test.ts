// Issue 22: exports keep a task's meaning, and label maps from other tools become the task's
// labels. A four-label task on a real MR series (pydicom's MR_small.dcm, six slices): the SEG
// export carries the task's names, codes and per-segment algorithm types (dciodvfy clean, read by
// pydicom); it imports back to the same label maps under the same labels; the SEGs other tools
// write (pydicom variants: an unknown code, two segments of one code, a segment number gap,
// FRACTIONAL, overlapping segments, frames placed by position only, a SEG before its series)
// map by code then name and ask when unsure; a NIfTI label map imports with its sidecar and without.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { seriesImages, seriesLabels, seriesOfStudy, type SeriesRow } from '../../src/main/export/queries';
import { writeTaskLabels } from '../../src/main/import/task-labels';
import type { Job, Task } from '../../src/shared/contract';
import { CODE_CATALOGUE } from '../../src/shared/model/codes';
import { requireFixtures, sources } from '../fixtures';
import { writeMrSeries } from '../helpers/mr-series';
import { tempDir } from '../helpers/temp';

const PYTHON = '/usr/bin/python3';
const VARIANTS = path.join(import.meta.dirname, '..', 'fixtures', 'seg_variants.py');
const hasDciodvfy = spawnSync('dciodvfy', ['-'], { stdio: 'ignore' }).error === undefined;
const hasPydicom = spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { stdio: 'ignore' }).status === 0;
const NO_DCIODVFY = 'dciodvfy (apt dicom3tools) is not installed';
const NO_PYDICOM = 'Debian python3-pydicom is not installed';
/** A test's title that names why it is skipped, when it is. */
const titled = (title: string, skipped: boolean, reason: string) => (skipped ? `${title} — skipped: ${reason}` : title);

const STRUCTURES = ['Thyroid', 'Trachea', 'Common carotid artery', 'Internal jugular vein'];
const entry = (meaning: string) => CODE_CATALOGUE.find((e) => e.type.meaning === meaning)!;

/** Label map of slice `z` (64 × 64): four rectangles; values 2 and 4 only on some slices. */
function drawnMap(z: number): Uint8Array {
  const map = new Uint8Array(64 * 64);
  const box = (v: number, r0: number, r1: number, c0: number, c1: number) => {
    for (let r = r0; r <= r1; r++) for (let c = c0; c <= c1; c++) map[r * 64 + c] = v;
  };
  box(1, 5, 20, 5 + z, 20 + z);
  box(2, 25, 35, 25, 35);
  if (z < 3) box(3, 40, 50, 5, 15);
  if (z >= 3) box(4, 40, 50, 40, 55);
  return map;
}

function pydicomSegments(file: string): {
  number: number;
  label: string;
  type: string;
  code: string;
  scheme: string;
  category: string;
  algorithm: string | null;
  description: string;
}[] {
  const script = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps([{"number": int(s.SegmentNumber), "label": str(s.SegmentLabel), "type": str(s.SegmentAlgorithmType),
  "code": str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue), "scheme": str(s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator),
  "category": str(s.SegmentedPropertyCategoryCodeSequence[0].CodeValue), "description": str(s.get("SegmentDescription", "")),
  "algorithm": str(s.SegmentationAlgorithmIdentificationSequence[0].AlgorithmName) if "SegmentationAlgorithmIdentificationSequence" in s else None}
  for s in ds.SegmentSequence]))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, file], { encoding: 'utf8' })) as ReturnType<typeof pydicomSegments>;
}

function dciodvfyErrors(file: string): string[] {
  const out = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.split('\n').filter((l) => /^Error/.test(l));
}

describe('a task with several named labels: SEG, NIfTI and PNG export and import', () => {
  const tmp = tempDir('lgms-seg-task-');
  let backend: Backend;
  let task: Task;
  let series: SeriesRow;
  let mrDir: string;
  let segFile: string;
  const original = new Map<number, Uint8Array>();

  const currentMaps = (b: Backend, s: SeriesRow, taskId: number) => {
    const labels = seriesLabels(b.db, s.id, false, taskId);
    return seriesImages(b.db, s.id).map((im) => labels.get(im.id));
  };
  const exportTo = async (format: 'seg' | 'nifti' | 'png' | 'nnunet', outDir: string): Promise<Job> => {
    const { jobId } = await backend.services.export.start({
      seriesIds: [series.id],
      format,
      outDir,
      taskId: task.id,
      datasetId: 77,
    });
    return backend.exporter.wait(jobId);
  };
  const variant = (name: string): string => {
    const out = path.join(tmp.dir, 'variants', name, `${name}.dcm`);
    if (existsSync(out)) return out;
    mkdirSync(path.dirname(out), { recursive: true });
    execFileSync(PYTHON, [VARIANTS, segFile, out, name]);
    return out;
  };
  /** Imports `file` into `b` under the task and returns its label set and the report's line for it. */
  const importSeg = async (b: Backend, file: string, taskId: number) => {
    const { jobId } = await b.services.import.start({ paths: [path.dirname(file)], taskId });
    const job = await b.importer.wait(jobId);
    expect(job.status).toBe('done');
    const report = await b.services.import.report({ jobId, limit: 100 });
    // The newest label set is this file's (labelSets lists newest first).
    const sets = await b.services.import.labelSets({});
    expect(sets[0]).toBeDefined();
    return { set: sets[0]!, report };
  };
  /** Puts the original label maps back as drawn labels (between variants). */
  const restore = () =>
    writeTaskLabels(
      backend.db,
      task.id,
      series.id,
      seriesImages(backend.db, series.id).map((im) => ({ imageId: im.id, map: original.get(im.id)! })),
      'drawn',
      'DR^ONE',
    );
  const expectOriginal = () => {
    const maps = currentMaps(backend, series, task.id);
    seriesImages(backend.db, series.id).forEach((im, i) =>
      expect(Buffer.from(maps[i]!.map).equals(Buffer.from(original.get(im.id)!)), `image ${i + 1}`).toBe(true),
    );
  };

  beforeAll(async () => {
    requireFixtures();
    mrDir = path.join(tmp.dir, 'mr');
    writeMrSeries(mrDir, path.join(sources.pydicom, 'test_files', 'MR_small.dcm'), 6);
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    const { jobId } = await backend.services.import.start({ paths: [mrDir] });
    const job = await backend.importer.wait(jobId);
    const study = backend.db
      .prepare('SELECT study_uid FROM studies WHERE id = ?')
      .pluck()
      .get((job.result as { studyIds: number[] }).studyIds[0]) as string;
    series = seriesOfStudy(backend.db, study)[0]!;
    task = await backend.services.tasks.create({
      name: 'Neck structures',
      domain: { modalities: ['MR'], photometric: ['MONOCHROME2'], bodyPart: 'neck' },
      labels: STRUCTURES.map((name) => ({ name, ...entry(name) })),
    });
    const model = backend.db.prepare("SELECT id FROM model_versions WHERE status = 'active'").pluck().get() as number;
    // Slices 1-3 drawn, 4-6 accepted predictions: Thyroid and Trachea are on both (SEMIAUTOMATIC),
    // the carotid only on drawn slices (MANUAL), the jugular only on accepted ones (AUTOMATIC).
    const insert = backend.db.prepare(
      `INSERT INTO labels (image_id, series_id, task_id, mask, foreground_pixels, origin, model_version_id, author) VALUES (?, ?, ?, ?, ?, ?, ?, 'DR^ONE')`,
    );
    const { encodeRle } = await import('../../src/shared/imaging/rle');
    seriesImages(backend.db, series.id).forEach((im, z) => {
      const map = drawnMap(z);
      original.set(im.id, map);
      insert.run(
        im.id,
        series.id,
        task.id,
        encodeRle(map),
        map.filter((v) => v).length,
        z < 3 ? 'drawn' : 'accepted',
        z < 3 ? null : model,
      );
    });
    const seg = await exportTo('seg', path.join(tmp.dir, 'out-seg'));
    expect(seg.status, seg.error ?? '').toBe('done');
    segFile = (seg.result as { series: { files: string[] }[] }).series[0]!.files[0]!;
  }, 120_000);
  afterAll(() => {
    backend?.close();
    tmp.cleanup();
  });

  it.skipIf(!hasDciodvfy)(
    titled('exports a SEG of the four-label task that dciodvfy passes with no errors', !hasDciodvfy, NO_DCIODVFY),
    () => {
      expect(dciodvfyErrors(segFile)).toEqual([]);
    },
  );

  it.skipIf(!hasPydicom)(
    titled(
      "exports four segments that pydicom reads with the task's names, codes, values and algorithm types",
      !hasPydicom,
      NO_PYDICOM,
    ),
    () => {
      const segments = pydicomSegments(segFile);
      expect(segments.map((s) => s.number)).toEqual([1, 2, 3, 4]);
      expect(segments.map((s) => s.label)).toEqual(STRUCTURES);
      expect(segments.map((s) => s.code)).toEqual(STRUCTURES.map((n) => entry(n).type.value));
      expect(segments.map((s) => s.category)).toEqual(STRUCTURES.map((n) => entry(n).category.value));
      expect(segments.every((s) => s.scheme === 'SCT')).toBe(true);
      expect(segments.map((s) => s.description)).toEqual([1, 2, 3, 4].map((v) => `label value ${v} of task Neck structures`));
      expect(segments.map((s) => s.type)).toEqual(['SEMIAUTOMATIC', 'SEMIAUTOMATIC', 'MANUAL', 'AUTOMATIC']);
      expect(segments.map((s) => s.algorithm === null)).toEqual([false, false, true, false]);
    },
  );

  it('re-imports that SEG to the same label maps under the same labels (asking first, as it would replace labels)', async () => {
    const { set, report } = await importSeg(backend, segFile, task.id);
    expect(set.status).toBe('needs-mapping');
    expect(set.message).toMatch(/6 images already have labels of task Neck structures/);
    expect(report.notes.map((n) => n.reason).join('\n')).toMatch(/needs the reader's choice/);
    const proposal = await backend.services.import.proposeLabelSet({ labelSetId: set.id, taskId: task.id });
    expect(proposal.unresolved).toEqual([]);
    expect(proposal.segments.map((s) => [s.number, s.value, s.by])).toEqual([
      [1, 1, 'code'],
      [2, 2, 'code'],
      [3, 3, 'code'],
      [4, 4, 'code'],
    ]);
    expect(proposal.wouldReplace).toBe(6);
    const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
    expect(applied).toMatchObject({ imagesLabelled: 6, replaced: 6, conflicts: [], author: 'DR^ONE' });
    expectOriginal();
    expect(currentMaps(backend, series, task.id).every((l) => l?.origin === 'imported')).toBe(true);
    expect((await backend.services.import.labelSets({})).find((s) => s.id === set.id)?.status).toBe('attached');
  });

  describe.skipIf(!hasPydicom)(titled('SEGs other tools write', !hasPydicom, NO_PYDICOM), () => {
    it.skipIf(!hasDciodvfy)(
      titled('are real SEGs: dciodvfy finds no error in them but the segment number gap itself', !hasDciodvfy, NO_DCIODVFY),
      () => {
        for (const name of ['unknown-code', 'same-code', 'fractional', 'overlap', 'position-only'])
          expect(dciodvfyErrors(variant(name)), name).toEqual([]);
        // The standard wants Segment Numbers 1…n (PS3.3 C.8.20.2.4); tools write gaps all the same.
        expect(dciodvfyErrors(variant('gap')).map((e) => e.replace(/ - have .*/, ''))).toEqual([
          'Error - SegmentNumber not monotonically increasing from one by one',
        ]);
      },
    );

    it('asks for a segment whose code and name are no label of the task, and imports it only as the reader chooses', async () => {
      restore();
      const file = variant('unknown-code');
      const { set } = await importSeg(backend, file, task.id);
      expect(set.status).toBe('needs-mapping');
      const proposal = await backend.services.import.proposeLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(proposal.unresolved).toEqual([3]);
      expect(proposal.segments[2]!.problem).toMatch(
        /Unknown thing \(SCT 999999\).*Mystery structure.*not labels of task Neck structures/,
      );
      await expect(backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id })).rejects.toThrow(
        /segment 3 "Mystery structure"/,
      );
      const applied = await backend.services.import.applyLabelSet({
        labelSetId: set.id,
        taskId: task.id,
        choices: [{ segment: 3, value: null }],
      });
      expect(applied.leftOutPixels).toBe(3 * 11 * 11);
      const maps = currentMaps(backend, series, task.id);
      expect(maps.every((l) => !l!.map.includes(3))).toBe(true);
      await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id, choices: [{ segment: 3, value: 3 }] });
      expectOriginal();
    });

    it('never merges two segments of one code: both go to the reader', async () => {
      restore();
      const file = variant('same-code');
      const { set } = await importSeg(backend, file, task.id);
      const proposal = await backend.services.import.proposeLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(proposal.unresolved).toEqual([1, 2]);
      expect(proposal.segments[0]!.problem).toMatch(/segments 1 and 2 both match label Thyroid/);
      await backend.services.import.applyLabelSet({
        labelSetId: set.id,
        taskId: task.id,
        choices: [
          { segment: 1, value: 1 },
          { segment: 2, value: 2 },
        ],
      });
      expectOriginal();
    });

    it('reads segment numbers with a gap (1, 2, 5, 7) by their codes, never renumbering', async () => {
      restore();
      const file = variant('gap');
      const { set } = await importSeg(backend, file, task.id);
      const proposal = await backend.services.import.proposeLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(proposal.segments.map((s) => [s.number, s.value])).toEqual([
        [1, 1],
        [2, 2],
        [5, 3],
        [7, 4],
      ]);
      const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(applied.message).toMatch(/segment numbers 1, 2, 5, 7 are not 1…4/);
      expectOriginal();
    });

    it('thresholds a FRACTIONAL SEG at half its Maximum Fractional Value', async () => {
      restore();
      const file = variant('fractional');
      const { set } = await importSeg(backend, file, task.id);
      const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(applied.message).toMatch(/FRACTIONAL SEG.*Maximum Fractional Value \(200\)/);
      expectOriginal();
    });

    it('says which pixels and segments overlap and how they were resolved', async () => {
      restore();
      const file = variant('overlap');
      const { set } = await importSeg(backend, file, task.id);
      const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(applied.conflicts).toHaveLength(6);
      const images = seriesImages(backend.db, series.id);
      applied.conflicts.forEach((c, i) => {
        expect(c).toMatchObject({ imageId: images[i]!.id, segments: [1, 2], kept: 2, pixels: 6 * 16 });
        expect(c.box).toEqual({ rowMin: 5, rowMax: 10, columnMin: 5 + i, columnMax: 20 + i });
      });
      expect(applied.message).toMatch(
        /segments 1 and 2 overlap on 96 pixels of image 1 \(rows 5–10, columns 5–20\): they keep segment 2's label/,
      );
      const maps = currentMaps(backend, series, task.id);
      expect(maps[0]!.map[5 * 64 + 5]).toBe(2);
      expect(maps[0]!.map[11 * 64 + 5]).toBe(1);
    });

    it('finds the series by Frame of Reference and places frames by Plane Position (Patient), in any order, the first image missing', async () => {
      restore();
      const empty = new Uint8Array(64 * 64);
      const images = seriesImages(backend.db, series.id);
      // Every slice but the first gets empty labels, so the import visibly writes them back.
      writeTaskLabels(
        backend.db,
        task.id,
        series.id,
        images.slice(1).map((im) => ({ imageId: im.id, map: empty })),
        'drawn',
        'DR^ONE',
      );
      const file = variant('position-only');
      const { set } = await importSeg(backend, file, task.id);
      const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
      expect(applied).toMatchObject({ placedBy: 'position', imagesLabelled: 5, replaced: 5 });
      // Counted in the worklist with its series, though it names no series itself.
      const studyId = backend.db.prepare('SELECT study_id FROM series WHERE id = ?').pluck().get(series.id) as number;
      const before = (await backend.services.worklist.series({ studyId })).find((x) => x.seriesId === series.id)!.labelSets;
      expect(before).toBe(
        (await backend.services.import.labelSets({})).filter(
          (x) => x.seriesId === series.id || x.referencedSeriesUid === series.seriesUid,
        ).length,
      );
      expect(applied.message).toMatch(/1 images have no frame in it and keep their labels/);
      expectOriginal();
    });

    it('fails a SEG whose frames lie on no image of its series, saying so, and writes nothing', async () => {
      restore();
      const file = variant('unplaceable');
      const { set, report } = await importSeg(backend, file, task.id);
      expect(set.status).toBe('failed');
      expect(set.message).toMatch(
        /DICOM SEG not attached to series .*: 18 frames of the SEG lie on no image of the series: frame 1 \(segment 1\)/,
      );
      expect(report.notes.map((n) => n.reason).join('\n')).toContain(set.message);
      expectOriginal();
      expect(currentMaps(backend, series, task.id).every((l) => l?.origin === 'drawn')).toBe(true);
    });

    it('keeps a SEG whose series is not imported yet pending, says so, and attaches it when the series arrives', async () => {
      const other = createBackend({ dataDir: path.join(tmp.dir, 'data-2'), transport: 'http', inference: false });
      try {
        const neck = await other.services.tasks.create({
          name: 'Neck structures',
          domain: { modalities: ['MR'], photometric: ['MONOCHROME2'], bodyPart: 'neck' },
          labels: STRUCTURES.map((name) => ({ name, ...entry(name) })),
        });
        const dir = path.join(tmp.dir, 'seg-first');
        mkdirSync(dir, { recursive: true });
        copyFileSync(segFile, path.join(dir, 'seg.dcm'));
        const first = await importSeg(other, path.join(dir, 'seg.dcm'), neck.id);
        expect(first.set.status).toBe('pending');
        expect(first.report.notes.map((n) => n.reason).join('\n')).toMatch(/waiting for its series .* not imported yet/);
        const { jobId } = await other.services.import.start({ paths: [mrDir] });
        await other.importer.wait(jobId);
        const report = await other.services.import.report({ jobId, limit: 100 });
        expect(report.notes.map((n) => n.reason).join('\n')).toMatch(
          /imported earlier: a DICOM SEG became labels of task Neck structures on 6 of 6 images/,
        );
        expect((await other.services.import.labelSets({})).find((s) => s.id === first.set.id)?.status).toBe('attached');
        const s = seriesOfStudy(other.db, series.studyUid)[0]!;
        const maps = currentMaps(other, s, neck.id);
        maps.forEach((l, z) => {
          expect(l?.origin).toBe('imported');
          expect(l?.author).toBe('DR^ONE');
          expect(Buffer.from(l!.map).equals(Buffer.from(drawnMap(z)))).toBe(true);
        });
      } finally {
        other.close();
      }
    });
  });

  describe('NIfTI, PNG and nnU-Net exports keep label values with their names', () => {
    it('writes a sidecar of names, values, colours and codes beside the NIfTI, and imports it back by code', async () => {
      restore();
      const job = await exportTo('nifti', path.join(tmp.dir, 'out-nifti'));
      expect(job.status, job.error ?? '').toBe('done');
      const files = (job.result as { series: { files: string[] }[] }).series[0]!.files;
      const nifti = files.find((f) => f.endsWith('.nii.gz'))!;
      const sidecar = JSON.parse(
        readFileSync(
          files.find((f) => f.endsWith('.json'))!,
          'utf8',
        ),
      ) as {
        labels: { value: number; name: string; colour: string; type: { value: string } }[];
      };
      expect(sidecar.labels.map((l) => [l.value, l.name, l.type.value])).toEqual(
        STRUCTURES.map((n, i) => [i + 1, n, entry(n).type.value]),
      );
      expect(sidecar.labels.every((l) => /^#[0-9a-f]{6}$/.test(l.colour))).toBe(true);
      const proposal = await backend.services.import.proposeLabelMap({ path: nifti, seriesId: series.id, taskId: task.id });
      expect(proposal.unresolved).toEqual([]);
      expect(proposal.segments.map((s) => [s.number, s.value, s.by])).toEqual([1, 2, 3, 4].map((v) => [v, v, 'code']));
      const empty = new Uint8Array(64 * 64);
      writeTaskLabels(
        backend.db,
        task.id,
        series.id,
        seriesImages(backend.db, series.id).map((im) => ({ imageId: im.id, map: empty })),
        'drawn',
        '',
      );
      const applied = await backend.services.import.applyLabelMap({
        path: nifti,
        seriesId: series.id,
        taskId: task.id,
        author: 'NIFTI^READER',
      });
      expect(applied).toMatchObject({ imagesLabelled: 6, placedBy: 'position', author: 'NIFTI^READER' });
      expectOriginal();
    });

    it('asks for every value of a NIfTI label map without a sidecar, and imports the values as chosen', async () => {
      const bare = path.join(tmp.dir, 'bare', 'labels.nii.gz');
      mkdirSync(path.dirname(bare), { recursive: true });
      const job = await exportTo('nifti', path.join(tmp.dir, 'out-nifti-2'));
      copyFileSync(
        (job.result as { series: { files: string[] }[] }).series[0]!.files.find((f) => f.endsWith('.nii.gz'))!,
        bare,
      );
      expect(existsSync(bare.replace(/\.nii\.gz$/, '.json'))).toBe(false);
      const proposal = await backend.services.import.proposeLabelMap({ path: bare, seriesId: series.id, taskId: task.id });
      expect(proposal.unresolved).toEqual([1, 2, 3, 4]);
      await expect(backend.services.import.applyLabelMap({ path: bare, seriesId: series.id, taskId: task.id })).rejects.toThrow(
        /choose a label/,
      );
      const empty = new Uint8Array(64 * 64);
      writeTaskLabels(
        backend.db,
        task.id,
        series.id,
        seriesImages(backend.db, series.id).map((im) => ({ imageId: im.id, map: empty })),
        'drawn',
        '',
      );
      await backend.services.import.applyLabelMap({
        path: bare,
        seriesId: series.id,
        taskId: task.id,
        choices: [1, 2, 3, 4].map((v) => ({ segment: v, value: v })),
      });
      expectOriginal();
    });

    it('writes labels.json beside the PNG slices and the task labels in the nnU-Net dataset.json', async () => {
      restore();
      const png = await exportTo('png', path.join(tmp.dir, 'out-png'));
      const pngFiles = (png.result as { series: { files: string[] }[] }).series[0]!.files;
      const sidecar = JSON.parse(
        readFileSync(
          pngFiles.find((f) => f.endsWith('labels.json'))!,
          'utf8',
        ),
      ) as { labels: { name: string }[] };
      expect(sidecar.labels.map((l) => l.name)).toEqual(STRUCTURES);
      const nnunet = await exportTo('nnunet', path.join(tmp.dir, 'out-nnunet'));
      expect(nnunet.status, nnunet.error ?? '').toBe('done');
      const dataset = JSON.parse(readFileSync(path.join(tmp.dir, 'out-nnunet', 'Dataset077_LGMS', 'dataset.json'), 'utf8')) as {
        labels: Record<string, number>;
      };
      expect(dataset.labels).toEqual({
        background: 0,
        Thyroid: 1,
        Trachea: 2,
        'Common carotid artery': 3,
        'Internal jugular vein': 4,
      });
    });
  });

  it('writes nothing of a task to another task: the starter task has no labels of the series', () => {
    expect(seriesLabels(backend.db, series.id, false, 1).size).toBe(0);
    writeFileSync(path.join(tmp.dir, 'done'), '');
  });
});
