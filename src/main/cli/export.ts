// `lgms export <folder|file|study or series UID> --format seg|nifti|png|nnunet --out DIR`: for a
// folder, imports what is not yet imported; each series' final labels are exported, or the active
// model's predictions when it has none (segmenting it first when needed), saying which was used.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EXPORT_FORMATS, type ExportFormat } from '../../shared/contract';
import { unwrap } from '../../shared/contract/client';
import type { Backend } from '../backend';
import { scanPaths } from '../import/scan';

export interface ExportCommand {
  target: string;
  format: ExportFormat;
  outDir: string;
  /** The task by name (case-insensitive) or id; default the starter task. */
  task?: string;
}

/** The id of the task a `--task` value names (its id, or its name in any case), or undefined. */
export function resolveTask(b: Backend, task: string): number | undefined {
  const byName = b.db.prepare('SELECT id FROM tasks WHERE name = ? COLLATE NOCASE').pluck().get(task.trim()) as
    number | undefined;
  if (byName !== undefined) return byName;
  return /^\d+$/.test(task.trim())
    ? (b.db.prepare('SELECT id FROM tasks WHERE id = ?').pluck().get(Number(task)) as number | undefined)
    : undefined;
}

export function isExportFormat(value: string): value is ExportFormat {
  return (EXPORT_FORMATS as readonly string[]).includes(value);
}

/** Runs the export and returns the lines to print and the exit code. */
export async function exportCommand(
  b: Backend,
  c: ExportCommand,
  log: (line: string) => void,
): Promise<{ lines: string[]; code: number }> {
  const taskId = c.task === undefined ? 1 : resolveTask(b, c.task);
  if (taskId === undefined) return { lines: [`no task named ${c.task}: see lgms task list`], code: 1 };
  const seriesIds = existsSync(c.target) ? await importedSeries(b, c.target) : seriesByUid(b, c.target);
  if (seriesIds.length === 0) return { lines: [`nothing to export: ${c.target} names no imported series`], code: 1 };
  const hasLabels = b.db
    .prepare('SELECT 1 FROM labels WHERE series_id = ? AND task_id = ? AND superseded_at IS NULL LIMIT 1')
    .pluck();
  const hasPredictions = b.db
    .prepare(
      `SELECT 1 FROM predictions p JOIN images i ON i.id = p.image_id JOIN model_versions m ON m.id = p.model_version_id AND m.status = 'active'
     WHERE i.series_id = ? AND m.task_id = ? LIMIT 1`,
    )
    .pluck();
  for (const seriesId of seriesIds) {
    if (hasLabels.get(seriesId, taskId) || hasPredictions.get(seriesId, taskId)) continue;
    await b.ready;
    const { jobId } = unwrap(await b.api.inference.segmentSeries({ seriesId, taskId }));
    log(`series ${seriesId} has no labels: segmenting it with the active model (${await b.engine.waitForJob(jobId)})`);
  }
  const { jobId } = unwrap(
    await b.api.export.start({
      seriesIds,
      format: c.format,
      outDir: path.resolve(c.outDir),
      fallBackToPredictions: true,
      taskId,
    }),
  );
  const job = await b.exporter.wait(jobId);
  const result = job.kind === 'export' && job.result && 'series' in job.result ? job.result : null;
  const lines = [`${job.title}: ${job.status}${job.error ? ` — ${job.error}` : ''}`];
  for (const s of result?.series ?? [])
    lines.push(
      `  ${s.description || s.seriesUid}: ${s.used === 'labels' ? 'final labels' : "the active model's predictions (no final labels)"} → ${s.files.length} file(s)`,
    );
  for (const s of result?.skipped ?? []) lines.push(`  skipped ${s.seriesUid}: ${s.reason}`);
  for (const note of result?.notes ?? []) lines.push(`  note: ${note}`);
  if (result?.series.length) lines.push(`written to ${result.outDir}`);
  return { lines, code: job.status === 'done' ? 0 : 1 };
}

async function importedSeries(b: Backend, target: string): Promise<number[]> {
  const started = unwrap(await b.api.import.start({ paths: [path.resolve(target)] }));
  const imported = await b.importer.wait(started.jobId);
  if (imported.status !== 'done') throw new Error(`import ${imported.status}: ${imported.error ?? ''}`);
  // Each file (new or imported before) leads to its series through its content hash.
  const seriesOf = b.db
    .prepare('SELECT DISTINCT i.series_id FROM images i JOIN files f ON f.id = i.file_id WHERE f.sha256 = ?')
    .pluck();
  const ids = new Set<number>();
  for (const file of scanPaths([path.resolve(target)]).files) {
    const sha = createHash('sha256').update(readFileSync(file.path)).digest('hex');
    for (const id of seriesOf.all(sha) as number[]) ids.add(id);
  }
  return [...ids].sort((x, y) => x - y);
}

function seriesByUid(b: Backend, uid: string): number[] {
  return b.db
    .prepare(
      'SELECT se.id FROM series se JOIN studies st ON st.id = se.study_id WHERE se.series_uid = ? OR st.study_uid = ? ORDER BY se.series_number, se.id',
    )
    .pluck()
    .all(uid, uid) as number[];
}
