// `lgms export` as a user runs it: a folder of PNGs with no labels is imported, segmented by the
// shipped model, and exported as a SEG (with its Secondary Capture images), saying that the
// model's predictions were used; a second export by study UID writes NIfTI.
import { execFile, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePngPairs } from '../../src/main/demo';
import { assertBuilt, ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { missingPath, skipTitle } from '../helpers/skip';

const run = promisify(execFile);
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.json');
const hasDciodvfy = spawnSync('dciodvfy', ['-'], { stdio: 'ignore' }).error === undefined;

describe.skipIf(missingPath(STARTER))(skipTitle('lgms export', missingPath(STARTER)), () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  const lgms = (...args: string[]) =>
    run(process.execPath, [path.join(ROOT, 'bin', 'lgms.js'), ...args, '--data-dir', dataDir], { cwd: ROOT });
  beforeAll(async () => {
    assertBuilt();
    await writePngPairs(path.join(tmp.dir, 'pairs'), { count: 2, seed: 404, domain: 'base', size: 128 });
  });
  afterAll(() => tmp.cleanup());

  it('imports, segments and exports a folder as DICOM SEG, saying it used the predictions', async () => {
    const out = path.join(tmp.dir, 'seg-out');
    const { stdout } = await lgms('export', path.join(tmp.dir, 'pairs', 'images'), '--format', 'seg', '--out', out);
    expect(stdout).toMatch(/: done/);
    expect(stdout.match(/the active model's predictions/g)).toHaveLength(2);
    const segs = readdirSync(out).filter((f) => f.endsWith('_SEG.dcm'));
    expect(segs).toHaveLength(2);
    expect(readdirSync(out).filter((f) => f.endsWith('_SC'))).toHaveLength(2);
    if (hasDciodvfy)
      for (const f of segs) {
        const v = spawnSync('dciodvfy', [path.join(out, f)], { encoding: 'utf8' });
        expect(`${v.stdout}${v.stderr}`.split('\n').filter((l) => l.startsWith('Error'))).toEqual([]);
      }
    const db = new BetterSqlite3(path.join(dataDir, 'lgms.sqlite'), { readonly: true });
    try {
      expect(db.prepare("SELECT count(*) FROM audit_log WHERE action = 'export.seg'").pluck().get()).toBe(2);
    } finally {
      db.close();
    }
  }, 180_000);

  it('exports a study by its UID as NIfTI', async () => {
    const db = new BetterSqlite3(path.join(dataDir, 'lgms.sqlite'), { readonly: true });
    const studyUid = db.prepare('SELECT study_uid FROM studies ORDER BY id LIMIT 1').pluck().get() as string;
    const seriesInStudy = db
      .prepare('SELECT count(*) FROM series se JOIN studies st ON st.id = se.study_id WHERE st.study_uid = ?')
      .pluck()
      .get(studyUid);
    db.close();
    const out = path.join(tmp.dir, 'nifti-out');
    const { stdout } = await lgms('export', studyUid, '--format', 'nifti', '--out', out);
    expect(stdout).toMatch(/: done/);
    expect(readdirSync(out).filter((f) => f.endsWith('_labels.nii.gz'))).toHaveLength(seriesInStudy as number);
  }, 120_000);

  it('exports the label maps of the task --task names (by name, any case), with their names beside them; refuses an unknown task', async () => {
    const db = new BetterSqlite3(path.join(dataDir, 'lgms.sqlite'), { readonly: true });
    const studyUid = db.prepare('SELECT study_uid FROM studies ORDER BY id LIMIT 1').pluck().get() as string;
    db.close();
    const out = path.join(tmp.dir, 'task-out');
    const { stdout } = await lgms('export', studyUid, '--format', 'nifti', '--out', out, '--task', 'breast LESION (demo)');
    expect(stdout).toMatch(/: done/);
    const sidecars = readdirSync(out).filter((f) => f.endsWith('_labels.json'));
    expect(sidecars.length).toBeGreaterThan(0);
    const sidecar = JSON.parse(readFileSync(path.join(out, sidecars[0]!), 'utf8')) as {
      task: { name: string };
      labels: { value: number; name: string }[];
    };
    expect(sidecar.task.name).toBe('Breast lesion (demo)');
    expect(sidecar.labels.map((l) => [l.value, l.name])).toEqual([[1, 'lesion']]);
    await expect(lgms('export', studyUid, '--format', 'nifti', '--out', out, '--task', 'Kidneys')).rejects.toMatchObject({
      code: 1,
      stdout: expect.stringMatching(/no task named Kidneys/),
    });
  }, 120_000);

  it('refuses an unknown format with a usage message', async () => {
    await expect(lgms('export', tmp.dir, '--format', 'stl', '--out', tmp.dir)).rejects.toMatchObject({ code: 2 });
  });
});
