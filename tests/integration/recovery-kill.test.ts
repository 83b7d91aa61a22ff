// kill -9 of `lgms import` and of `lgms export` as a script sends it: the killed process stays a
// zombie until its parent waits, and the next command starts meanwhile (issue 23 item 6). The next
// start of any command must leave no orphan pack in the store and no export stage anywhere; a
// re-run completes. The parent here is a small Python script that kills and does not wait.
import { execFile, spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { seriesImages, seriesOfStudy } from '../../src/main/export/queries';
import { encodeRle } from '../../src/shared/imaging/rle';
import { writeCtSeries } from '../helpers/ct-series';
import { assertBuilt, ROOT } from '../helpers/serve';
import { storeProblems } from '../helpers/store';
import { tempDir } from '../helpers/temp';

const run = promisify(execFile);
const LGMS = path.join(ROOT, 'bin', 'lgms.js');

// Starts the command, polls until a non-empty file matches one of the glob patterns (separated by
// |) under the watched folder, kills it with SIGKILL, prints "killed" and keeps the zombie unreaped until stdin closes.
const HARNESS = `
import os, subprocess, sys, time, glob
watch = sys.argv[1]; pattern = sys.argv[2]; cmd = sys.argv[3:]
p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
deadline = time.time() + 120
while time.time() < deadline and p.poll() is None:
    if any(os.path.isfile(f) and os.path.getsize(f) > 0 for pat in pattern.split('|') for f in glob.glob(os.path.join(watch, pat))):
        break
    time.sleep(0.002)
finished = p.poll() is not None
os.kill(p.pid, 9)
print("finished" if finished else "killed", p.pid, flush=True)
sys.stdin.read()
`;

/** Runs `lgms args…` under the harness; resolves once it is killed, with a function that lets the zombie go. */
async function killWhen(
  watch: string,
  pattern: string,
  args: string[],
): Promise<{ state: string; zombie: number; release(): void }> {
  const parent = spawn('python3', ['-c', HARNESS, watch, pattern, process.execPath, LGMS, ...args], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  // The whole line: a pipe may hand it over in pieces ("killed" first, the pid after: seen under load).
  const line = await new Promise<string>((resolve) => {
    let text = '';
    const onData = (d: Buffer) => {
      text += d.toString();
      if (!text.includes('\n')) return;
      parent.stdout.off('data', onData);
      resolve(text.slice(0, text.indexOf('\n')).trim());
    };
    parent.stdout.on('data', onData);
  });
  const [state, pid] = line.split(' ');
  return { state: state!, zombie: Number(pid), release: () => parent.stdin.end() };
}

describe('kill -9 from a script that has not waited yet', () => {
  const tmp = tempDir('lgms-kill-');
  beforeAll(() => assertBuilt());
  afterAll(() => tmp.cleanup());

  it('import: the next run sweeps the killed run’s pack and completes, leaving no orphan pack', async () => {
    const source = path.join(tmp.dir, 'source');
    writeCtSeries(path.join(source, 'a'), { count: 300, size: 64, seriesIndex: 1 });
    for (let i = 2; i <= 40; i++)
      writeCtSeries(path.join(source, `s${i}`), {
        count: 8,
        size: 32,
        seriesIndex: i,
        studyUid: `2.25.9${i % 5}0000000000000000001`,
      });
    const dataDir = path.join(tmp.dir, 'import-data');
    // Killed while files are being appended to its pack, before any series is committed.
    const killed = await killWhen(path.join(dataDir, 'store', 'packs'), '*.pack', ['import', source, '--data-dir', dataDir]);
    try {
      expect(killed.state).toBe('killed');
      const names = readdirSync(path.join(dataDir, 'store', 'packs'));
      expect(
        names.some((n) => n.includes(`-${killed.zombie}-`)),
        JSON.stringify({ names, killed }),
      ).toBe(true);
      await run(process.execPath, [LGMS, 'import', source, '--data-dir', dataDir], { cwd: ROOT });
      expect(storeProblems(dataDir)).toEqual([]);
    } finally {
      killed.release();
    }
  }, 180_000);

  it('export: the next command removes the killed export’s stage; nothing hidden is left in --out, and a re-run completes', async () => {
    const dataDir = path.join(tmp.dir, 'export-data');
    const source = path.join(tmp.dir, 'ct');
    // Several series, so the export is still writing when it is killed.
    for (let i = 1; i <= 6; i++)
      writeCtSeries(path.join(source, `s${i}`), {
        count: 40,
        size: 128,
        seriesIndex: 60 + i,
        studyUid: '2.25.960000000000000000077',
      });
    const backend = createBackend({ dataDir, transport: 'http', inference: false });
    try {
      const { jobId } = await backend.importer.start({ paths: [source] });
      expect((await backend.importer.wait(jobId)).status).toBe('done');
      const insert = backend.db.prepare(
        `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'drawn', 'T')`,
      );
      for (const s of seriesOfStudy(backend.db, '2.25.960000000000000000077'))
        for (const im of seriesImages(backend.db, s.id))
          insert.run(im.id, s.id, encodeRle(new Uint8Array(im.rows * im.columns).fill(1)), im.rows * im.columns);
    } finally {
      backend.close();
    }
    const out = path.join(tmp.dir, 'export-out');
    const args = ['export', '2.25.960000000000000000077', '--format', 'nifti', '--out', out, '--data-dir', dataDir];
    // Killed once the stage holds a written file, wherever it is (inside --out before this fix).
    const killed = await killWhen(tmp.dir, 'export-out/.lgms-export-*/*.nii.gz|export-data/export-staging/*/*.nii.gz', args);
    const stageNow = () => [
      ...(existsSync(out) ? readdirSync(out).filter((n) => n.startsWith('.')) : []),
      ...(existsSync(path.join(dataDir, 'export-staging')) ? readdirSync(path.join(dataDir, 'export-staging')) : []),
    ];
    try {
      expect(killed.state).toBe('killed');
      expect(stageNow().length).toBeGreaterThan(0);
      // Any command, here one that only reads the settings.
      await run(process.execPath, [LGMS, 'settings', 'get', '--data-dir', dataDir], { cwd: ROOT });
      expect(stageNow()).toEqual([]);
      const { stdout } = await run(process.execPath, [LGMS, ...args], { cwd: ROOT });
      expect(stdout).toMatch(/: done/);
      expect(readdirSync(out).filter((n) => n.endsWith('_labels.nii.gz'))).toHaveLength(6);
      expect(stageNow()).toEqual([]);
    } finally {
      killed.release();
    }
  }, 180_000);
});
