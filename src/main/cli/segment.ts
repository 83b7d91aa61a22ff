// `lgms segment <file|folder> --out <folder>`: import what is named (into the data folder, like
// any import), segment its series with the active model, and write one PNG mask (0/255) per
// image, mirroring the input's folder layout: `a/b.dcm` → `a/b.dcm.png`, `a/c.png` → `a/c.png`
// (so `x.dcm` and `x.png` never share a mask), a frame of a multi-frame file → `b.dcm_0003.png`.
// With a task (`--task`) other than the binary starter, each pixel keeps its label value and
// `labels.json` beside the masks names the values (issue 22).
// An output folder that is, contains or lies inside an input is refused: masks would overwrite
// inputs, or be imported as images by the next run.
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { unwrap } from '../../shared/contract/client';
import { decodeRle } from '../../shared/imaging/rle';
import type { Task } from '../../shared/contract/tasks';
import type { Backend } from '../backend';
import { encodePng } from '../imaging/raster/png-encoder';
import { scanPaths } from '../import/scan';

export interface SegmentSummary {
  masks: number;
  series: number;
  /** Inputs the import did not take (skipped or failed), with the report's reason. */
  skipped: { path: string; reason: string }[];
  /** Images imported but not segmented, with the inference's reason. */
  failed: { path: string; reason: string }[];
  provider: string | null;
  model: string | null;
}

export async function segmentToFolder(
  b: Backend,
  inputs: string[],
  outDir: string,
  ttaFlips: 0 | 2 | 4 | undefined,
  log: (line: string) => void,
  task?: Task,
): Promise<SegmentSummary> {
  checkOutputFolder(inputs, outDir);
  const roots = inputs.map((p) => path.resolve(p));
  await b.ready;
  const status = unwrap(await b.api.inference.status());
  if (!status.model) throw new Error(status.message ?? 'no model is available');
  const taskId = task?.id;
  const version = taskId === undefined ? status.model : b.registry.active(taskId);
  if (!version) throw new Error(`task "${task!.name}" has no model yet: train and promote its first model`);
  const keepValues = taskId !== undefined && b.registry.get(version.id).manifest.output.activation === 'softmax';
  const started = unwrap(await b.api.import.start({ paths: inputs.map((p) => path.resolve(p)) }));
  const imported = await b.importer.wait(started.jobId);
  if (imported.status !== 'done') throw new Error(`import ${imported.status}: ${imported.error ?? ''}`);
  const report = unwrap(await b.api.import.report({ jobId: started.jobId, limit: 10_000 }));

  // Map each input file (new or already imported) to its images through the file's hash.
  const imagesOf = b.db.prepare(
    'SELECT i.id, i.series_id, i.frame_index, i.rows, i.columns FROM images i JOIN files f ON f.id = i.file_id WHERE f.sha256 = ? ORDER BY i.frame_index',
  );
  const targets: { source: string; imageId: number; seriesId: number; frame: number; frames: number }[] = [];
  for (const file of scanPaths(roots).files) {
    const sha = createHash('sha256').update(readFileSync(file.path)).digest('hex');
    const images = imagesOf.all(sha) as { id: number; series_id: number; frame_index: number }[];
    for (const img of images)
      targets.push({
        source: file.path,
        imageId: img.id,
        seriesId: img.series_id,
        frame: img.frame_index,
        frames: images.length,
      });
  }
  const hasPrediction = b.db.prepare('SELECT 1 FROM predictions WHERE image_id = ? AND model_version_id = ?').pluck();
  const reasons = new Map<number, string>();
  const series = [...new Set(targets.filter((t) => !hasPrediction.get(t.imageId, version.id)).map((t) => t.seriesId))];
  for (const seriesId of series) {
    // Joins a job the import already queued for this series, if any.
    const { jobId } = unwrap(
      await b.api.inference.segmentSeries({
        seriesId,
        ...(ttaFlips !== undefined ? { ttaFlips } : {}),
        ...(taskId !== undefined ? { taskId } : {}),
      }),
    );
    const final = await b.engine.waitForJob(jobId);
    log(`series ${seriesId}: ${final}`);
    const job = unwrap(await b.api.jobs.get({ id: jobId }));
    if (job.kind === 'inference') for (const f of job.result?.failed ?? []) reasons.set(f.imageId, f.reason);
  }

  let masks = 0;
  const failed: SegmentSummary['failed'] = [];
  const used = new Set<string>();
  for (const t of targets) {
    const p = unwrap(await b.api.inference.prediction({ imageId: t.imageId, modelVersionId: version.id }));
    const label = t.frames > 1 ? `${t.source} (frame ${t.frame + 1})` : t.source;
    if (!p) {
      failed.push({ path: label, reason: reasons.get(t.imageId) ?? 'no mask was made (see the inference job)' });
      continue;
    }
    const mask = decodeRle(p.mask, p.rows * p.columns);
    if (!keepValues) for (let i = 0; i < mask.length; i++) mask[i] = mask[i]! > 0 ? 255 : 0;
    const root = roots.find((r) => t.source === r || t.source.startsWith(r + path.sep)) ?? path.dirname(t.source);
    const relative = t.source === root ? path.basename(t.source) : path.relative(root, t.source);
    const stem = /\.png$/i.test(relative) ? relative.slice(0, -4) : relative;
    let target = path.join(outDir, t.frames > 1 ? `${stem}_${String(t.frame).padStart(4, '0')}.png` : `${stem}.png`);
    // Two inputs that still map to one name (same relative path under two roots): number the later.
    for (let n = 2; used.has(target); n++)
      target = path.join(outDir, `${stem}${t.frames > 1 ? `_${String(t.frame).padStart(4, '0')}` : ''}.${n}.png`);
    used.add(target);
    mkdirSync(path.dirname(target), { recursive: true });
    writeFileSync(target + '.tmp', encodePng({ width: p.columns, height: p.rows, channels: 1, data: mask }));
    renameSync(target + '.tmp', target);
    masks++;
  }
  if (keepValues && task) {
    mkdirSync(outDir, { recursive: true });
    const names = {
      task: task.name,
      labels: task.labels.map((l) => ({
        value: l.value,
        name: l.name,
        colour: l.colour,
        type: l.type,
        retired: l.retiredAt !== null,
      })),
    };
    writeFileSync(path.join(outDir, 'labels.json'), JSON.stringify(names, null, 2) + '\n');
  }
  return {
    masks,
    series: new Set(targets.map((t) => t.seriesId)).size,
    skipped: report.problems.map((p) => ({ path: p.path, reason: p.reason })),
    failed,
    provider: status.provider,
    model: b.registry.get(version.id).manifest.id,
  };
}

/** Throws OutputOverlapsInput when `outDir` is, contains or lies inside one of `inputs`. */
export function checkOutputFolder(inputs: readonly string[], outDir: string): void {
  const out = path.resolve(outDir);
  const overlapping = inputs.map((p) => path.resolve(p)).find((r) => isWithin(r, out) || isWithin(out, r));
  if (overlapping)
    throw new OutputOverlapsInput(
      `the output folder ${out} is, contains or lies inside the input ${overlapping}: choose a folder apart from the inputs`,
    );
}

/** The output folder overlaps an input: nothing is imported or written. */
export class OutputOverlapsInput extends Error {}

function isWithin(child: string, parent: string): boolean {
  const relative = path.relative(parent, child);
  return relative === '' || (!relative.startsWith('..') && !path.isAbsolute(relative));
}
