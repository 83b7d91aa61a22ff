// The `export` service: each export is a job that writes into a staging folder inside the
// target folder and moves the finished files in at the end, so a failed or cancelled export
// leaves no half-written file; each exported series gets an audit row.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  exportMethods,
  type ExportedSeries,
  type ExportFormat,
  type ExportResult,
  type ExportService,
  type Job,
} from '../../shared/contract';
import type { z } from 'zod';
import { ServiceError } from '../../shared/result';
import type { JobStore } from '../jobs/store';
import {
  exportNnunetCase,
  exportSeries,
  NothingToExport,
  nnunetDatasetJson,
  nnunetTaskLabels,
  type FormatDeps,
  type SeriesExport,
} from './formats';
import { NoLabelsError } from './series-seg';
import { taskExists } from '../tasks/queries';
import { insertAudit, labelledSeries, modelVersion, seriesById, splitOf, type SeriesRow } from './queries';

type ExportRequest = z.output<typeof exportMethods.start>;

export interface ExportServiceOptions extends FormatDeps {
  jobs: JobStore;
  /** Who is exporting, for the audit log (default: the operating-system user). */
  actor?: string;
}

export class ExportMainService implements ExportService {
  private readonly running = new Map<number, Promise<Job>>();

  constructor(private readonly o: ExportServiceOptions) {}

  async start(input: z.input<typeof exportMethods.start>): Promise<{ jobId: number }> {
    const request = exportMethods.start.parse(input);
    if (!path.isAbsolute(request.outDir)) throw new ServiceError('invalid-input', 'the export folder must be an absolute path');
    if (!taskExists(this.o.db, request.taskId)) throw new ServiceError('not-found', `no task ${request.taskId}`);
    const series = this.resolveSeries(request);
    if (series.length === 0)
      throw new ServiceError(
        'not-found',
        request.format === 'nnunet' ? 'no series has final labels yet' : 'name at least one series to export',
      );
    if (request.format === 'nnunet' && existsSync(path.join(request.outDir, datasetName(request.datasetId))))
      throw new ServiceError(
        'conflict',
        `${datasetName(request.datasetId)} already exists in ${request.outDir}; choose another dataset id or folder`,
      );
    const title = `Export ${series.length === 1 ? series[0]!.description || 'series' : `${series.length} series`} as ${FORMAT_NAMES[request.format]}`;
    const job = this.o.jobs.create('export', title, { ...request, seriesIds: series.map((s) => s.id) });
    const run = this.run(job.id, request, series);
    this.running.set(job.id, run);
    void run.finally(() => this.running.delete(job.id));
    return { jobId: job.id };
  }

  /** Resolves when the job ends (at once for a job not running in this process). */
  wait(jobId: number): Promise<Job> {
    return this.running.get(jobId) ?? this.o.jobs.get({ id: jobId });
  }

  private resolveSeries(request: ExportRequest): SeriesRow[] {
    if (request.seriesIds.length === 0) return request.format === 'nnunet' ? labelledSeries(this.o.db, request.taskId) : [];
    return request.seriesIds.map((id) => {
      const s = seriesById(this.o.db, id);
      if (!s) throw new ServiceError('not-found', `no series ${id}`);
      return s;
    });
  }

  private async run(jobId: number, request: ExportRequest, series: SeriesRow[]): Promise<Job> {
    let cancelled = false;
    this.o.jobs.markRunning(jobId, () => (cancelled = true));
    const staging = path.join(request.outDir, `.lgms-export-${jobId}-${randomBytes(4).toString('hex')}`);
    const result: ExportResult = { outDir: request.outDir, format: request.format, series: [], skipped: [] };
    const done: { series: SeriesRow; export: SeriesExport }[] = [];
    try {
      mkdirSync(staging, { recursive: true });
      const root = request.format === 'nnunet' ? path.join(staging, datasetName(request.datasetId)) : staging;
      mkdirSync(root, { recursive: true });
      for (const [i, s] of series.entries()) {
        if (cancelled) break;
        this.o.jobs.progress('export', jobId, { phase: `writing ${s.description || s.seriesUid}`, done: i, total: series.length });
        try {
          const e =
            request.format === 'nnunet'
              ? await exportNnunetCase(this.o, s, `LGMS_${String(i + 1).padStart(4, '0')}`, root, request.fallBackToPredictions, request.taskId)
              : await exportSeries(this.o, s, request.format, root, request.fallBackToPredictions, request.taskId);
          done.push({ series: s, export: e });
        } catch (err) {
          if (!(err instanceof NothingToExport || err instanceof NoLabelsError)) throw err;
          result.skipped.push({ seriesUid: s.seriesUid, reason: err.message });
        }
      }
      if (cancelled) {
        rmSync(staging, { recursive: true, force: true });
        return this.o.jobs.finish('export', jobId, 'cancelled', { result });
      }
      if (done.length === 0)
        throw new ServiceError('not-found', result.skipped.map((s) => s.reason).join('; ') || 'nothing to export');
      if (request.format === 'nnunet') this.finishNnunet(root, request, done);
      // Everything is written: move it in. Names inside the staging folder are the final names.
      for (const entry of readdirSync(staging)) {
        const target = path.join(request.outDir, entry);
        rmSync(target, { recursive: true, force: true });
        renameSync(path.join(staging, entry), target);
      }
      rmSync(staging, { recursive: true, force: true });
      const base = request.format === 'nnunet' ? datasetName(request.datasetId) : '';
      for (const d of done) {
        const files = d.export.files.map((f) => path.join(request.outDir, base, f));
        result.series.push({
          seriesUid: d.series.seriesUid,
          description: d.series.description,
          used: d.export.used,
          files,
        } satisfies ExportedSeries);
        insertAudit(this.o.db, {
          actor: this.o.actor ?? os.userInfo().username,
          action: `export.${request.format}`,
          subject: d.series.seriesUid,
          detail: { jobId, taskId: request.taskId, outDir: request.outDir, files, used: d.export.used, modelVersionIds: d.export.modelVersionIds },
          seriesId: d.series.id,
          modelVersionId: d.export.modelVersionIds[0] ?? null,
        });
      }
      return this.o.jobs.finish('export', jobId, 'done', {
        result,
        progress: { phase: 'done', done: series.length, total: series.length },
      });
    } catch (err) {
      rmSync(staging, { recursive: true, force: true });
      const message = err instanceof Error ? err.message : String(err);
      return this.o.jobs.finish('export', jobId, 'failed', { error: `export failed: ${message}`, result });
    }
  }

  private finishNnunet(root: string, request: ExportRequest, done: { series: SeriesRow; export: SeriesExport }[]): void {
    const maxLabel = Math.max(1, ...done.flatMap((d) => d.export.nnunetCase?.labelValues ?? [0]));
    const names = labelNames(this.o, done, maxLabel);
    const modalities = [...new Set(done.map((d) => d.series.modality || 'image'))];
    writeFileSync(
      path.join(root, 'dataset.json'),
      JSON.stringify(
        nnunetDatasetJson({
          name: `LGMS_${request.datasetId}`,
          description: 'Final labels exported from LGMS Workstation',
          channel: modalities.join('/'),
          labelNames: names,
          ...(taskExists(this.o.db, request.taskId) ? { labels: nnunetTaskLabels(this.o.db, request.taskId, maxLabel) } : {}),
          numTraining: done.length,
        }),
        null,
        2,
      ) + '\n',
    );
    // The workstation's frozen split as nnU-Net's one-fold splits_final.json (copy it into
    // nnUNet_preprocessed/<dataset>/ to train on exactly that split). Cases whose patient has no
    // split yet train.
    const fold = { train: [] as string[], val: [] as string[] };
    for (const d of done) (splitOf(this.o.db, d.series) === 'validation' ? fold.val : fold.train).push(d.export.nnunetCase!.id);
    writeFileSync(path.join(root, 'splits_final.json'), JSON.stringify([fold], null, 2) + '\n');
    writeFileSync(
      path.join(root, 'cases.json'),
      JSON.stringify(
        Object.fromEntries(done.map((d) => [d.export.nnunetCase!.id, { seriesUid: d.series.seriesUid, used: d.export.used }])),
        null,
        2,
      ) + '\n',
    );
  }
}

function labelNames(o: FormatDeps, done: { export: SeriesExport }[], maxLabel: number): string[] {
  const modelId = done.flatMap((d) => d.export.modelVersionIds)[0];
  const named = modelId === undefined ? [] : (modelVersion(o.db, modelId)?.labels ?? []);
  return Array.from({ length: maxLabel }, (_, i) => named[i] ?? `label_${i + 1}`);
}

const datasetName = (id: number) => `Dataset${String(id).padStart(3, '0')}_LGMS`;

const FORMAT_NAMES: Record<ExportFormat, string> = { seg: 'DICOM SEG', nifti: 'NIfTI', png: 'PNG', nnunet: 'nnU-Net dataset' };
