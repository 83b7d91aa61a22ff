// Issue 14, kind 5: what a reader repairs, assumes or splits reaches the import report, the CLI
// and the UI; a 4D NIfTI imports every volume (case 11), with a note.
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { FrameLoader } from '../../src/main/imaging/frames';
import { ContentStore } from '../../src/main/store/content-store';
import { makeCase } from '../helpers/cases';
import { assertBuilt, ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const run = promisify(execFile);
const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data';

async function importPaths(b: Backend, paths: string[]) {
  const started = await b.services.import.start({ paths });
  await b.importer.wait(started.jobId);
  return b.services.import.report({ jobId: started.jobId, limit: 10_000 });
}

describe('reader notes and 4D volumes', () => {
  const tmp = tempDir();
  let b: Backend;
  let case11: string;
  beforeAll(() => {
    case11 = makeCase('11-nifti-4d');
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  });
  afterAll(() => {
    b.close();
    rmSync(case11, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('imports all 3 volumes of a 4D NIfTI as 3 series of 4 slices, values as nibabel reads them (case 11)', async () => {
    const file = path.join(case11, 'fmri_like_4d.nii.gz');
    const report = await importPaths(b, [file]);
    expect(report.counts).toMatchObject({ imported: 1, failed: 0 });
    expect(report.notes).toEqual([
      {
        path: file,
        status: 'imported',
        reason: expect.stringMatching(/^4D file with 3 volumes \(time points\): each read as its own series/),
      },
    ]);
    const series = b.db.prepare('SELECT id, description, image_count FROM series ORDER BY series_number').all() as {
      id: number;
      description: string;
      image_count: number;
    }[];
    expect(series.map((s) => s.image_count)).toEqual([4, 4, 4]);
    expect(series[1]!.description).toMatch(/time point 2 of 3/);
    const frames = new FrameLoader(b.db, new ContentStore(path.join(tmp.dir, 'data', 'store')));
    for (const [t, s] of series.entries()) {
      const ids = b.db.prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index').pluck().all(s.id) as number[];
      const values = [];
      for (const id of ids) values.push((await frames.load(id)).pixels[0]);
      // nibabel: voxel value 100·t + k; the slices sorted by position, k = 0…3 inferior to superior.
      expect([...values].sort((x, y) => Number(x) - Number(y))).toEqual([0, 1, 2, 3].map((k) => 100 * t + k));
    }
  });

  it("reports the DICOM reader's repairs too: a raw data set without preamble or file meta", async () => {
    const raw = readFileSync(path.join(PYDICOM, 'test_files', 'CT_small.dcm'));
    const metaEnd = 132 + 12 + raw.readUInt32LE(140); // (0002,0000) File Meta Information Group Length
    const file = path.join(tmp.dir, 'ct_raw_dataset');
    writeFileSync(file, raw.subarray(metaEnd));
    const report = await importPaths(b, [file]);
    expect(report.counts.imported).toBe(1);
    expect(report.notes).toEqual([
      { path: file, status: 'imported', reason: expect.stringMatching(/^no DICM preamble or file meta: read as a raw data set/) },
    ]);
  });
});

describe('lgms import prints notes (case 11)', () => {
  const tmp = tempDir();
  let case11: string;
  beforeAll(() => {
    assertBuilt();
    case11 = makeCase('11-nifti-4d');
  });
  afterAll(() => {
    rmSync(case11, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('lists each note under the counts', async () => {
    const { stdout } = await run(
      process.execPath,
      [path.join(ROOT, 'bin', 'lgms.js'), 'import', case11, '--data-dir', path.join(tmp.dir, 'data')],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/imported 1, .*; 3 series indexed/);
    expect(stdout).toContain(`  note    ${path.join(case11, 'fmri_like_4d.nii.gz')}: 4D file with 3 volumes`);
  }, 60_000);
});
