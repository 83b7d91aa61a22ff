// Benchmark: import rate of a generated 1,000-file CT series (parse + copy into the store +
// index in SQLite, through the real worker) against pydicom's header-only read
// (dcmread(stop_before_pixels=True)) of the same files, in the same run. Also times a worklist
// page over 10,000 studies. Run: npx tsx tests/bench/import-rate.ts [--files 1000] [--size 256]
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { writeCtSeries } from '../helpers/ct-series';
import { ROOT } from '../helpers/serve';

const args = process.argv.slice(2);
const arg = (name: string, fallback: number) => Number(args[args.indexOf(`--${name}`) + 1] ?? fallback) || fallback;
const FILES = arg('files', 1000);
const SIZE = arg('size', 256);
const ROUNDS = arg('rounds', 3);
const work = path.join(ROOT, '.tmp', 'bench');
const source = path.join(work, `ct-${FILES}-${SIZE}`);

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

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const pydicomTimes: number[] = [];
const ourTimes: number[] = [];
const endToEnd: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  pydicomTimes.push(Number(execFileSync('/usr/bin/python3', ['-c', PYDICOM, source], { encoding: 'utf8' }).trim()));
  const dataDir = path.join(work, `data-${round}`);
  rmSync(dataDir, { recursive: true, force: true });
  const backend = createBackend({ dataDir, transport: 'http', inference: false });
  const t0 = performance.now();
  const { jobId } = await backend.services.import.start({ paths: [source] });
  const job = await backend.importer.wait(jobId);
  endToEnd.push((performance.now() - t0) / 1000);
  if (job.status !== 'done') throw new Error(`import ${job.status}: ${job.error}`);
  ourTimes.push((job.result as { elapsedMs: number }).elapsedMs / 1000);
  const images = backend.db.prepare('SELECT count(*) FROM images').pluck().get();
  if (images !== FILES) throw new Error(`expected ${FILES} images, got ${images}`);
  backend.close();
  rmSync(dataDir, { recursive: true, force: true });
}

const py = median(pydicomTimes);
const ours = median(ourTimes);
process.stdout.write(
  [
    `machine: ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${os.availableParallelism()} cores, node ${process.versions.node}`,
    `files: ${FILES} CT slices ${SIZE}×${SIZE}, ${ROUNDS} rounds, medians`,
    `pydicom dcmread(stop_before_pixels=True): ${py.toFixed(3)} s  (${(FILES / py).toFixed(0)} files/s)`,
    `lgms import (parse + copy + index):       ${ours.toFixed(3)} s  (${(FILES / ours).toFixed(0)} files/s); with worker start-up ${median(endToEnd).toFixed(3)} s`,
    `ratio (lgms rate / pydicom rate): ${(py / ours).toFixed(2)}`,
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
  const patient = db.prepare("INSERT INTO patients (patient_key, patient_id, name, birth_date, sex) VALUES (?, ?, ?, '19700101', 'F') RETURNING id").pluck();
  const study = db.prepare(
    "INSERT INTO studies (patient_id, study_uid, study_date, description, modalities, series_count, image_count) VALUES (?, ?, ?, 'Bench', ?, 2, 200) RETURNING id",
  ).pluck();
  const series = db.prepare("INSERT INTO series (study_id, series_uid, modality, source_format, rows, columns, image_count, status) VALUES (?, ?, ?, 'dicom', 512, 512, 100, ?)");
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
  process.stdout.write(`worklist over 10,000 studies, ${name}: median ${median(times).toFixed(2)} ms, max ${Math.max(...times).toFixed(2)} ms\n`);
}
backend.close();
rmSync(wlDir, { recursive: true, force: true });
