// `lgms segment <file|folder> --out <folder>`: import what is named (into the data folder, like
// any import), segment its series with the active model, and write one PNG mask (0/255) per
// image, mirroring the input's folder layout.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unwrap } from '../../shared/contract/client';
import { decodeRle } from '../../shared/imaging/rle';
import type { Backend } from '../backend';
import { encodePng } from '../imaging/raster/png-encoder';
import { scanPaths } from '../import/scan';

export interface SegmentSummary {
  masks: number;
  series: number;
  skipped: { path: string; reason: string }[];
  provider: string | null;
  model: string | null;
}

export async function segmentToFolder(
  b: Backend,
  inputs: string[],
  outDir: string,
  ttaFlips: 0 | 2 | 4 | undefined,
  log: (line: string) => void,
): Promise<SegmentSummary> {
  await b.ready;
  const status = unwrap(await b.api.inference.status());
  if (!status.model) throw new Error(status.message ?? 'no model is available');
  const started = unwrap(await b.api.import.start({ paths: inputs }));
  const imported = await b.importer.wait(started.jobId);
  if (imported.status !== 'done') throw new Error(`import ${imported.status}: ${imported.error ?? ''}`);
  const report = unwrap(await b.api.import.report({ jobId: started.jobId, limit: 10_000 }));

  // Map each input file (new or already imported) to its images through the file's hash.
  const roots = inputs.map((p) => path.resolve(p));
  const imagesOf = b.db.prepare(
    'SELECT i.id, i.series_id, i.frame_index, i.rows, i.columns FROM images i JOIN files f ON f.id = i.file_id WHERE f.sha256 = ? ORDER BY i.frame_index',
  );
  const targets: { source: string; imageId: number; seriesId: number; frame: number; frames: number }[] = [];
  for (const file of scanPaths(roots).files) {
    const sha = createHash('sha256').update(readFileSync(file.path)).digest('hex');
    const images = imagesOf.all(sha) as { id: number; series_id: number; frame_index: number }[];
    for (const img of images) targets.push({ source: file.path, imageId: img.id, seriesId: img.series_id, frame: img.frame_index, frames: images.length });
  }
  const hasPrediction = b.db.prepare('SELECT 1 FROM predictions WHERE image_id = ? AND model_version_id = ?').pluck();
  const series = [...new Set(targets.filter((t) => !hasPrediction.get(t.imageId, status.model!.id)).map((t) => t.seriesId))];
  for (const seriesId of series) {
    // Joins a job the import already queued for this series, if any.
    const { jobId } = unwrap(await b.api.inference.segmentSeries({ seriesId, ...(ttaFlips !== undefined ? { ttaFlips } : {}) }));
    const final = await b.engine.waitForJob(jobId);
    log(`series ${seriesId}: ${final}`);
  }

  let masks = 0;
  for (const t of targets) {
    const p = unwrap(await b.api.inference.prediction({ imageId: t.imageId }));
    if (!p) continue;
    const mask = decodeRle(p.mask, p.rows * p.columns);
    for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! > 0 ? 255 : 0;
    const root = roots.find((r) => t.source === r || t.source.startsWith(r + path.sep)) ?? path.dirname(t.source);
    const relative = t.source === root ? path.basename(t.source) : path.relative(root, t.source);
    const stem = relative.replace(/\.(dcm|dicom|nii\.gz|nii|nrrd|mha|png|jpe?g)$/i, '');
    const target = path.join(outDir, t.frames > 1 ? `${stem}_${String(t.frame).padStart(4, '0')}.png` : `${stem}.png`);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target + '.tmp', encodePng({ width: p.columns, height: p.rows, channels: 1, data: mask }));
    renameSync(target + '.tmp', target);
    masks++;
  }
  return {
    masks,
    series: new Set(targets.map((t) => t.seriesId)).size,
    skipped: report.problems.map((p) => ({ path: p.path, reason: p.reason })),
    provider: status.provider,
    model: status.model.modelId,
  };
}
