// Labelled shifted-domain studies for the training tests: generated DICOM imported through the
// real importer, and each image's phantom ground truth stored as a current label (origin
// 'drawn'), with the first patients frozen as training and the rest as validation.
import path from 'node:path';
import type { Backend } from '../../src/main/backend';
import { generatePhantom, writeDemoStudies, type DemoDicomFile } from '../../src/main/demo';
import type { Domain } from '../../src/main/demo/scanner';
import { encodeRle } from '../../src/shared/imaging/rle';

export interface LabelledStudies {
  files: DemoDicomFile[];
  imageIds: number[];
}

export async function importLabelledStudies(
  b: Backend,
  dir: string,
  opts: { patients: number; imagesPerSeries: number; seed: number; domain: Domain; validationPatients: number },
): Promise<LabelledStudies> {
  const files = await writeDemoStudies(path.join(dir, `demo-${opts.seed}`), {
    patients: opts.patients,
    imagesPerSeries: opts.imagesPerSeries,
    seed: opts.seed,
    domain: opts.domain,
  });
  const started = await b.services.import.start({ paths: [path.join(dir, `demo-${opts.seed}`)] });
  const job = await b.importer.wait(started.jobId);
  if (job.status !== 'done') throw new Error(`import ${job.status}: ${job.error ?? ''}`);
  const imageIds: number[] = [];
  const addLabel = b.db.prepare(
    "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'drawn', 'ground truth')",
  );
  const addSplit = b.db.prepare("INSERT OR IGNORE INTO splits (split_key, split) VALUES ('patient:' || ?, ?)");
  const patients = [...new Set(files.map((f) => f.patientId))];
  b.db.transaction(() => {
    for (const f of files) {
      const image = b.db
        .prepare(
          'SELECT i.id, i.series_id, p.patient_key FROM images i JOIN series s ON s.id = i.series_id JOIN studies st ON st.id = s.study_id JOIN patients p ON p.id = st.patient_id WHERE i.sop_instance_uid = ?',
        )
        .get(f.sopInstanceUid) as {
        id: number;
        series_id: number;
        patient_key: string;
      };
      const mask = generatePhantom({ seed: opts.seed, index: f.index, domain: opts.domain }).mask;
      let fg = 0;
      for (const v of mask) fg += v > 0 ? 1 : 0;
      addLabel.run(image.id, image.series_id, encodeRle(mask), fg);
      const validation = patients.indexOf(f.patientId) >= patients.length - opts.validationPatients;
      addSplit.run(image.patient_key, validation ? 'validation' : 'training');
      imageIds.push(image.id);
    }
  })();
  return { files, imageIds };
}
