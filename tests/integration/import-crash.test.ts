// kill -9 during an import, several times at spread-out moments: the database must pass
// integrity_check and hold only whole series whose stored bytes are whole, and running the
// import again must complete it and leave no stored bytes that nothing refers to.
import BetterSqlite3 from 'better-sqlite3';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeCtSeries } from '../helpers/ct-series';
import { assertBuilt, ROOT } from '../helpers/serve';
import { storeProblems } from '../helpers/store';
import { tempDir } from '../helpers/temp';

type Kill = number | 'first-series' | 'mid-reading';

function runImport(
  source: string,
  dataDir: string,
  kill?: Kill,
  json = false,
): Promise<{ code: number | null; signal: string | null; out: string; stdout: string }> {
  return new Promise((resolve) => {
    // With a reader thread (this 2-core machine would run none): kills land in its hand-over too.
    const env = { ...process.env, LGMS_IMPORT_READERS: '1' };
    const child = spawn(
      process.execPath,
      [path.join(ROOT, 'bin', 'lgms.js'), 'import', source, '--data-dir', dataDir, ...(json ? ['--json'] : [])],
      { stdio: ['ignore', 'pipe', 'pipe'], env },
    );
    let out = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      stdout += d.toString();
    });
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    const packs = path.join(dataDir, 'store', 'packs');
    const timer =
      kill === undefined
        ? undefined
        : kill === 'mid-reading'
          ? // Kill once files are being appended to a pack, before any of them is committed.
            setInterval(() => {
              if (existsSync(packs) && readdirSync(packs).some((name) => statSync(path.join(packs, name)).size > 0))
                child.kill('SIGKILL');
            }, 2)
          : kill === 'first-series'
            ? // Poll the database from outside and kill as soon as one series is committed: mid-indexing.
              setInterval(() => {
                // The database may exist before its tables do: not yet a series to wait for.
                try {
                  if (seriesCounts(dataDir).counts.size > 0) child.kill('SIGKILL');
                } catch {
                  /* polled again in 5 ms */
                }
              }, 5)
            : setTimeout(() => child.kill('SIGKILL'), kill);
    child.on('exit', (code, signal) => {
      clearInterval(timer);
      clearTimeout(timer);
      resolve({ code, signal, out, stdout });
    });
  });
}

function seriesCounts(dataDir: string): { integrity: string; counts: Map<string, number>; torn: number; running: number } {
  const file = path.join(dataDir, 'lgms.sqlite');
  // Killed before the database was created: nothing written, nothing torn.
  if (!existsSync(file)) return { integrity: 'ok', counts: new Map(), torn: 0, running: 0 };
  const db = new BetterSqlite3(file);
  try {
    const integrity = db.pragma('integrity_check', { simple: true }) as string;
    const rows = db
      .prepare(
        'SELECT s.series_uid AS uid, (SELECT count(*) FROM images i WHERE i.series_id = s.id) AS n, s.image_count AS declared FROM series s',
      )
      .all() as {
      uid: string;
      n: number;
      declared: number;
    }[];
    const running = db.prepare("SELECT count(*) FROM jobs WHERE status = 'running'").pluck().get() as number;
    return {
      integrity,
      counts: new Map(rows.map((r) => [r.uid, r.n])),
      torn: rows.filter((r) => r.n !== r.declared).length,
      running,
    };
  } finally {
    db.close();
  }
}

const SERIES = 150;

describe('import killed with SIGKILL', () => {
  const tmp = tempDir();
  const source = path.join(tmp.dir, 'source');
  let reference: Map<string, number>;
  let cleanMs = 0;
  beforeAll(async () => {
    assertBuilt();
    writeCtSeries(path.join(source, 'a'), { count: 300, size: 64, seriesIndex: 1 });
    // Many small series, so that indexing (one transaction per series) takes long enough to be interrupted.
    for (let i = 2; i <= SERIES; i++)
      writeCtSeries(path.join(source, `s${i}`), {
        count: 8,
        size: 32,
        seriesIndex: i,
        studyUid: `2.25.9${i % 5}0000000000000000001`,
      });
    const t0 = Date.now();
    const clean = await runImport(source, path.join(tmp.dir, 'reference'), undefined, true);
    cleanMs = Date.now() - t0;
    expect(clean.code, clean.out).toBe(0);
    // The reader thread took part (so the kills below land in its hand-over too).
    expect(
      (JSON.parse(clean.stdout) as { job: { result: { filesByReaders: number } } }).job.result.filesByReaders,
    ).toBeGreaterThan(0);
    reference = seriesCounts(path.join(tmp.dir, 'reference')).counts;
  }, 120_000);
  afterAll(() => tmp.cleanup());

  it('leaves only whole series after each kill, and a re-run completes the import', async () => {
    const dataDir = path.join(tmp.dir, 'crashed');
    expect(reference.size).toBe(SERIES);
    const partial: number[] = [];
    // Spread over start-up, reading and indexing (as fractions of a clean run's time); each run
    // resumes the previous one's work, so later kills land later in the import.
    const kills: Kill[] = [Math.round(0.2 * cleanMs), 'mid-reading', 'first-series', Math.round(0.5 * cleanMs), 'first-series'];
    for (const delay of kills) {
      const run = await runImport(source, dataDir, delay);
      const state = seriesCounts(dataDir);
      expect(state.integrity).toBe('ok');
      expect(state.torn).toBe(0);
      // Every file the database refers to is whole in the store (packs the kill cut short may remain until the next start).
      expect(storeProblems(dataDir, { allowUnreferencedPacks: true })).toEqual([]);
      for (const [uid, n] of state.counts) expect(n, `series ${uid} after a kill at ${delay} ms`).toBe(reference.get(uid));
      partial.push(state.counts.size);
      if (run.signal !== 'SIGKILL') break; // finished before the kill: nothing more to interrupt
      if (delay === 'first-series') expect(state.counts.size).toBeLessThan(reference.size);
    }
    console.log(
      `clean import ${cleanMs} ms; series present after successive kills: ${partial.join(', ')} (of ${reference.size})`,
    );
    const final = await runImport(source, dataDir);
    expect(final.code, final.out).toBe(0);
    const state = seriesCounts(dataDir);
    expect(state.integrity).toBe('ok');
    expect(state.running).toBe(0); // the killed runs' jobs were marked interrupted on the next start
    expect(state.counts).toEqual(reference);
    // The next start swept the killed runs' packs that nothing refers to.
    expect(storeProblems(dataDir)).toEqual([]);
  }, 180_000);
});
