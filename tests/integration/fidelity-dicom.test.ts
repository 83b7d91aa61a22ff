// Issue 14: DICOM values read right or reported (cases 19, 18, 10, 03, 04, 06 of
// tests/fixtures/cases; the values in their expected.md are the reference's).
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { FrameLoader } from '../../src/main/imaging/frames';
import { ContentStore } from '../../src/main/store/content-store';
import { makeCase } from '../helpers/cases';
import { tempDir } from '../helpers/temp';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

interface ImageRow {
  id: number;
  instance_number: number | null;
  rescale_slope: number;
  rescale_intercept: number;
  pixel_spacing_row: number | null;
  image_position: string | null;
}

describe('DICOM fidelity cases', () => {
  const tmp = tempDir();
  const made: string[] = [];
  let b: Backend;
  let frames: FrameLoader;
  const make = (name: string) => {
    const dir = makeCase(name);
    made.push(dir);
    return dir;
  };
  const importPaths = async (paths: string[]) => {
    const started = await b.services.import.start({ paths });
    await b.importer.wait(started.jobId);
    return b.services.import.report({ jobId: started.jobId, limit: 10_000 });
  };
  const imagesOf = (seriesDescriptionOrUid: string) =>
    b.db
      .prepare(
        `SELECT i.id, i.instance_number, i.rescale_slope, i.rescale_intercept, i.pixel_spacing_row, i.image_position FROM images i
         JOIN series s ON s.id = i.series_id WHERE s.series_uid = ? OR s.description = ? ORDER BY i.position_index`,
      )
      .all(seriesDescriptionOrUid, seriesDescriptionOrUid) as ImageRow[];
  const firstValue = async (imageId: number) => Number((await frames.load(imageId)).pixels[0]);

  beforeAll(() => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    frames = new FrameLoader(b.db, new ContentStore(path.join(tmp.dir, 'data', 'store')));
  });
  afterAll(() => {
    b.close();
    for (const dir of made) rmSync(dir, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('orders two time points at the same positions phase after phase, with a note (case 19)', async () => {
    const dir = make('19-duplicate-positions-two-phases');
    const report = await importPaths([dir]);
    expect(report.counts).toMatchObject({ imported: 6, failed: 0 });
    const uid = b.db.prepare('SELECT series_uid FROM series WHERE image_count = 6').pluck().get() as string;
    const rows = imagesOf(uid);
    expect(rows.map((r) => r.instance_number)).toEqual([1, 2, 3, 4, 5, 6]);
    const values = [];
    for (const r of rows) values.push(await firstValue(r.id));
    expect(values).toEqual([100, 101, 102, 200, 201, 202]);
    expect(report.notes.map((n) => n.reason)).toEqual([
      '6 images at 3 positions: shown temporal position after temporal position, each in position order',
    ]);
  });

  it('orders case 19 imported in two parts exactly as imported at once: an append keeps the phases apart', async () => {
    const dir = make('19-duplicate-positions-two-phases');
    // Its own data folder: the one-import order of the test above is this case's reference.
    const split = createBackend({ dataDir: path.join(tmp.dir, 'split'), transport: 'http', inference: false });
    try {
      // Each part mixes both phases and positions, so neither part alone fixes the final order.
      const parts = [
        ['IM0001.dcm', 'IM0002.dcm', 'IM0004.dcm'],
        ['IM0003.dcm', 'IM0005.dcm', 'IM0006.dcm'],
      ];
      for (const [i, files] of parts.entries()) {
        const part = path.join(tmp.dir, `part${i + 1}`);
        mkdirSync(part);
        for (const f of files) copyFileSync(path.join(dir, f), path.join(part, f));
        const started = await split.services.import.start({ paths: [part] });
        await split.importer.wait(started.jobId);
        expect((await split.services.import.report({ jobId: started.jobId, limit: 100 })).counts).toMatchObject({
          imported: 3,
          failed: 0,
        });
      }
      const order = (db: Backend['db']) =>
        db
          .prepare(
            `SELECT i.instance_number FROM images i JOIN series s ON s.id = i.series_id JOIN patients p ON p.id = (SELECT patient_id FROM studies WHERE id = s.study_id)
             WHERE p.patient_id = 'QA-0019' ORDER BY i.position_index`,
          )
          .pluck()
          .all();
      const once = createBackend({ dataDir: path.join(tmp.dir, 'once'), transport: 'http', inference: false });
      try {
        const started = await once.services.import.start({ paths: [dir] });
        await once.importer.wait(started.jobId);
        expect(order(once.db)).toEqual([1, 2, 3, 4, 5, 6]);
        expect(order(split.db)).toEqual(order(once.db));
      } finally {
        once.close();
      }
      // The stored stack attributes are the files' (Temporal Position Identifier, Echo Numbers, Acquisition Number).
      expect(
        split.db
          .prepare(
            'SELECT temporal_position_identifier AS t, echo_numbers AS e, acquisition_number AS a FROM images ORDER BY position_index',
          )
          .all(),
      ).toEqual([1, 1, 1, 2, 2, 2].map((p) => ({ t: p, e: null, a: p })));
    } finally {
      split.close();
    }
  });

  it('reads valid DS forms as pydicom does, repairs decimal commas with a note and refuses a comma separator with one (case 18)', async () => {
    const dir = make('18-odd-decimal-strings');
    const report = await importPaths([dir]);
    expect(report.counts).toMatchObject({ imported: 4, failed: 0 });
    const row = (file: string) =>
      b.db
        .prepare('SELECT i.* FROM images i JOIN files f ON f.id = i.file_id WHERE f.original_path = ?')
        .get(path.join(dir, file)) as ImageRow & { window_center: number; window_width: number };
    expect(row('exp_forms.dcm')).toMatchObject({
      rescale_slope: 1,
      rescale_intercept: -1024,
      pixel_spacing_row: 0.78125,
      window_center: 40,
      window_width: 400,
    });
    expect(JSON.parse(row('exp_forms.dcm').image_position!)).toEqual([-120, -120, 35]);
    // Both readers (the plain file takes the fast path, the Latin-2 one the full reader) agree.
    for (const file of ['comma_decimal.dcm', 'comma_decimal_dcmjs_path.dcm']) {
      const r = row(file);
      expect(r, file).toMatchObject({ rescale_slope: 0.5, rescale_intercept: -1024.5 });
      // Modality value of stored 1100: 1100 · 0.5 − 1024.5 = −474.5.
      expect((await firstValue(r.id)) * r.rescale_slope + r.rescale_intercept).toBe(-474.5);
    }
    expect(row('comma_decimal_dcmjs_path.dcm').pixel_spacing_row).toBe(0.5);
    expect(row('comma_separator.dcm').pixel_spacing_row).toBeNull();
    const notes = new Map(report.notes.map((n) => [path.basename(n.path), n.reason]));
    expect(notes.get('exp_forms.dcm')).toBeUndefined();
    expect(notes.get('comma_decimal.dcm')).toMatch(/Rescale Slope "0,5" has a decimal comma: read as 0\.5/);
    expect(notes.get('comma_decimal_dcmjs_path.dcm')).toMatch(/Pixel Spacing "0,5\\0,5" has a decimal comma: read as 0\.5\\0\.5/);
    expect(notes.get('comma_separator.dcm')).toBe('Pixel Spacing "0.7,0.7" is not a valid decimal string: ignored');
  });

  it('resolves DICOMDIR entries written with "/" and upper-case IDs over lower-case files (case 10)', async () => {
    const dir = make('10-dicomdir-path-separators');
    for (const set of ['a-lowercase-on-disk', 'b-forward-slash']) {
      const report = await importPaths([path.join(dir, set, 'DICOMDIR')]);
      expect(report.counts, set).toMatchObject({ imported: 2, failed: 0 });
      expect(report.problems, set).toEqual([]);
    }
  });

  it('lists a DICOMDIR entry whose file is missing, with its reason, and imports the rest', async () => {
    const dir = make('10-dicomdir-path-separators');
    const set = path.join(dir, 'b-forward-slash');
    rmSync(path.join(set, 'PT000000', 'ST000000', 'SE000000', 'IM000001'));
    const b2 = createBackend({ dataDir: path.join(tmp.dir, 'data-dicomdir'), transport: 'http', inference: false });
    try {
      const started = await b2.services.import.start({ paths: [path.join(set, 'DICOMDIR')] });
      await b2.importer.wait(started.jobId);
      const report = await b2.services.import.report({ jobId: started.jobId });
      expect(report.counts).toMatchObject({ imported: 1, failed: 1 });
      expect(report.problems).toEqual([
        {
          path: `${path.join(set, 'DICOMDIR')} → PT000000/ST000000/SE000000/IM000001`,
          status: 'failed',
          reason: 'DICOMDIR entry names a file that is not on the disc',
        },
      ]);
    } finally {
      b2.close();
    }
  });

  it("reads each enhanced MR frame's own rescale and position, ordered by position (case 06)", async () => {
    const dir = make('06-enhanced-mr-per-frame-rescale');
    const report = await importPaths([path.join(dir, 'enhanced_mr.dcm')]);
    expect(report.counts).toMatchObject({ imported: 1, failed: 0 });
    const uid = b.db
      .prepare(
        "SELECT s.series_uid FROM series s JOIN images i ON i.series_id = s.id JOIN files f ON f.id = i.file_id WHERE f.original_path LIKE '%enhanced_mr.dcm'",
      )
      .pluck()
      .get() as string;
    const rows = imagesOf(uid);
    expect(rows.map((r) => JSON.parse(r.image_position!)[2])).toEqual([20, 25, 30]);
    expect(rows.map((r) => [r.rescale_slope, r.rescale_intercept])).toEqual([
      [0.25, 50],
      [2.5, -100],
      [1, 0],
    ]);
    const modality = [];
    for (const r of rows) modality.push((await firstValue(r.id)) * r.rescale_slope + r.rescale_intercept);
    expect(modality).toEqual([150, 900, 400]);
    expect(rows.map((r) => r.pixel_spacing_row)).toEqual([0.8, 0.8, 0.8]);
  });

  it("reads per-frame window and pixel spacing too, a frame's own item before the shared one", async () => {
    const dir = make('06-enhanced-mr-per-frame-rescale');
    // The same object with a window per frame and its own Pixel Measures in frame 1 only (pydicom).
    execFileSync('/usr/bin/python3', [
      '-c',
      [
        'import pydicom, sys',
        'from pydicom.dataset import Dataset',
        'd = pydicom.dcmread(sys.argv[1])',
        'for i, f in enumerate(d.PerFrameFunctionalGroupsSequence):',
        '    v = Dataset(); v.WindowCenter = 100 + i; v.WindowWidth = 50 * (i + 1); f.FrameVOILUTSequence = [v]',
        'm = Dataset(); m.PixelSpacing = [0.5, 0.5]; m.SliceThickness = 1',
        'd.PerFrameFunctionalGroupsSequence[1].PixelMeasuresSequence = [m]',
        'd.SOPInstanceUID = d.SOPInstanceUID + ".9"; d.SeriesInstanceUID = d.SeriesInstanceUID + ".9"',
        'd.save_as(sys.argv[2])',
      ].join('\n'),
      path.join(dir, 'enhanced_mr.dcm'),
      path.join(dir, 'windowed.dcm'),
    ]);
    await importPaths([path.join(dir, 'windowed.dcm')]);
    const rows = b.db
      .prepare(
        "SELECT i.frame_index, i.window_center, i.window_width, i.pixel_spacing_row FROM images i JOIN files f ON f.id = i.file_id WHERE f.original_path LIKE '%windowed.dcm' ORDER BY i.frame_index",
      )
      .all();
    expect(rows).toEqual([
      { frame_index: 0, window_center: 100, window_width: 50, pixel_spacing_row: 0.8 },
      { frame_index: 1, window_center: 101, window_width: 100, pixel_spacing_row: 0.5 },
      { frame_index: 2, window_center: 102, window_width: 150, pixel_spacing_row: 0.8 },
    ]);
  });
});
