// Benchmark: import rate of a generated 1,000-file CT series (read + hash + parse + copy into
// the store + index in SQLite) against pydicom's header-only read
// (dcmread(stop_before_pixels=True)) of the same files, in the same run. Also times a worklist
// page over 10,000 studies.
//
// The import runs as it ships: the built CLI (`lgms import --json`, out/main), so its worker and
// reader threads start from bundled JavaScript. Its figure is the import's own elapsed time
// (scan to last commit) as the job reports it; the process's start-up is printed beside it.
// Each round removes its data folder at the end. On a virtual machine whose balloon hands freed
// memory back to the host, page-cache pages that were never used (or were handed back) cost a
// host page fault each when first written, ~10 µs per 4 KB page here: removing the previous
// round's copy gives its pages back to the next round, as on a machine with its own memory.
// `--cold` keeps every round's data folder instead, so each round writes into memory never used
// before: the worst case on such a virtual machine.
//
// Run: npm run build && npx tsx tests/bench/import-rate.ts [--files 1000] [--size 256] [--rounds 5] [--cold]
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { readerCount } from '../../src/main/import/readers';
import { writeCtSeries } from '../helpers/ct-series';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => Number(args[args.indexOf(`--${name}`) + 1] ?? fallback) || fallback;
const FILES = arg('files', 1000);
const SIZE = arg('size', 256);
const ROUNDS = arg('rounds', 5);
const COLD = args.includes('--cold');
const work = path.join(ROOT, '.tmp', 'bench');
const source = path.join(work, `ct-${FILES}-${SIZE}`);
const lgms = path.join(ROOT, 'bin', 'lgms.js');
if (!existsSync(path.join(ROOT, 'out', 'main', 'cli.js'))) throw new Error('build first: npm run build');

if (!existsSync(source) || readdirSync(source).length !== FILES) {
  rmSync(source, { recursive: true, force: true });
  process.stdout.write(`writing ${FILES} CT files of ${SIZE}×${SIZE} to ${source}…\n`);
  writeCtSeries(source, { count: FILES, size: SIZE, seriesIndex: 7 });
}

const PYDICOM = `
import sys, time, os
from pydicom import dcmread
d = sys.argv[1]
files = sorted(os.path.join(d, f) for f in os.listdir(d))
t = time.perf_counter()
for f in files:
    ds = dcmread(f, stop_before_pixels=True)
    _ = (ds.SOPInstanceUID, ds.SeriesInstanceUID, ds.StudyInstanceUID, ds.ImagePositionPatient, ds.Rows, ds.Columns)
print(time.perf_counter() - t)
`;

interface ImportRun {
  seconds: number;
  wallSeconds: number;
  phasesMs: { scan: number; read: number; index: number };
  filesByReaders: number;
}

function lgmsImport(dataDir: string, readers?: number): ImportRun {
  rmSync(dataDir, { recursive: true, force: true });
  const env = { ...process.env };
  delete env['LGMS_IMPORT_READERS'];
  if (readers !== undefined) env['LGMS_IMPORT_READERS'] = String(readers);
  const t0 = performance.now();
  const run = spawnSync(process.execPath, [lgms, 'import', source, '--data-dir', dataDir, '--json'], {
    env,
    encoding: 'utf8',
    maxBuffer: 64 << 20,
  });
  const wallSeconds = (performance.now() - t0) / 1000;
  if (run.status !== 0) throw new Error(`lgms import failed: ${run.stderr}`);
  const report = JSON.parse(run.stdout) as {
    counts: { imported: number };
    job: { result: { elapsedMs: number; phasesMs: ImportRun['phasesMs']; filesByReaders: number } };
  };
  if (report.counts.imported !== FILES) throw new Error(`expected ${FILES} imported, got ${report.counts.imported}`);
  if (!COLD) rmSync(dataDir, { recursive: true, force: true });
  const r = report.job.result;
  return { seconds: r.elapsedMs / 1000, wallSeconds, phasesMs: r.phasesMs, filesByReaders: r.filesByReaders };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const pydicomTimes: number[] = [];
const byDefault: ImportRun[] = [];
const withReader: ImportRun[] = [];
// Round 0 warms the page cache for the source files, Python and Node: not counted.
for (let round = 0; round <= ROUNDS; round++) {
  const py = Number(execFileSync('/usr/bin/python3', ['-c', PYDICOM, source], { encoding: 'utf8' }).trim());
  const d = lgmsImport(path.join(work, `data-${round}-default`));
  const r = lgmsImport(path.join(work, `data-${round}-reader`), 1);
  if (round === 0) continue;
  pydicomTimes.push(py);
  byDefault.push(d);
  withReader.push(r);
}
if (COLD)
  for (let round = 0; round <= ROUNDS; round++)
    for (const kind of ['default', 'reader']) rmSync(path.join(work, `data-${round}-${kind}`), { recursive: true, force: true });

const py = median(pydicomTimes);
const summary = (name: string, runs: ImportRun[]) => {
  const t = median(runs.map((r) => r.seconds));
  const phase = (k: keyof ImportRun['phasesMs']) => median(runs.map((r) => r.phasesMs[k])).toFixed(0);
  return [
    `${name}: ${t.toFixed(3)} s (${(FILES / t).toFixed(0)} files/s; scan ${phase('scan')} ms, read+store ${phase('read')} ms, index ${phase('index')} ms; ` +
      `${median(runs.map((r) => r.filesByReaders))} files by reader threads); whole CLI process ${median(runs.map((r) => r.wallSeconds)).toFixed(3)} s`,
    `  ratio (lgms rate / pydicom rate): ${(py / t).toFixed(2)}  (rounds: ${runs.map((r) => (py / r.seconds).toFixed(2)).join(', ')})`,
  ];
};
process.stdout.write(
  [
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, node ${process.versions.node}; memory ${COLD ? 'cold (--cold)' : 'reused between rounds'}`,
    `files: ${FILES} CT slices ${SIZE}×${SIZE}, ${ROUNDS} rounds after a warm-up, medians`,
    `pydicom dcmread(stop_before_pixels=True): ${py.toFixed(3)} s  (${(FILES / py).toFixed(0)} files/s)`,
    ...summary(`lgms import, default (${readerCount()} reader threads on ${os.availableParallelism()} cores)`, byDefault),
    ...summary('lgms import, one reader thread (LGMS_IMPORT_READERS=1)', withReader),
  ].join('\n') + '\n',
);

// Worklist over 10,000 studies: synthetic rows inserted directly (the importer's own statements
// are measured above); the query is the service's real one.
const wlDir = path.join(work, 'worklist');
rmSync(wlDir, { recursive: true, force: true });
mkdirSync(wlDir, { recursive: true });
const backend = createBackend({ dataDir: wlDir, transport: 'http', inference: false });
const db = backend.db;
db.transaction(() => {
  const patient = db
    .prepare(
      "INSERT INTO patients (patient_key, patient_id, name, birth_date, sex) VALUES (?, ?, ?, '19700101', 'F') RETURNING id",
    )
    .pluck();
  const study = db
    .prepare(
      "INSERT INTO studies (patient_id, study_uid, study_date, description, modalities, series_count, image_count) VALUES (?, ?, ?, 'Bench', ?, 2, 200) RETURNING id",
    )
    .pluck();
  const series = db.prepare(
    "INSERT INTO series (study_id, series_uid, modality, source_format, rows, columns, image_count, status) VALUES (?, ?, ?, 'dicom', 512, 512, 100, ?)",
  );
  const modalities = ['CT', 'MR', 'US', 'CR'];
  const statuses = ['new', 'segmented', 'reviewed'];
  for (let i = 0; i < 10_000; i++) {
    const p = patient.get(`id:P${i}`, `P${i}`, `PATIENT^${String(i).padStart(5, '0')}`) as number;
    const m = modalities[i % 4]!;
    const s = study.get(p, `2.25.${i}`, `20${String(10 + (i % 15)).padStart(2, '0')}0${1 + (i % 9)}1${i % 10}`, m) as number;
    series.run(s, `2.25.${i}.1`, m, statuses[i % 3]);
    series.run(s, `2.25.${i}.2`, m, statuses[(i + 1) % 3]);
  }
})();
const queries = {
  'first page, newest first': {},
  'sorted by patient name': { sort: 'patientName' as const, direction: 'asc' as const },
  'patient filter': { patient: 'PATIENT^012' },
  'modality filter, page 20': { modality: 'MR', page: 20 },
  'date range, by study date': { dateFrom: '20150101', dateTo: '20191231', sort: 'studyDate' as const },
};
for (const [name, query] of Object.entries(queries)) {
  const times: number[] = [];
  for (let i = 0; i < 30; i++) {
    const t = performance.now();
    await backend.services.worklist.list(query);
    times.push(performance.now() - t);
  }
  process.stdout.write(
    `worklist over 10,000 studies, ${name}: median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms\n`,
  );
}
backend.close();
rmSync(wlDir, { recursive: true, force: true });
