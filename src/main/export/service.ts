// The `export` service: each export is a job that writes into a staging folder in the data
// folder (staging.ts) and moves the finished files into the target folder at the end, under names
// that are free, so a failed, cancelled or killed export leaves no half-written file there and
// an earlier export is never overwritten; each exported series gets an audit row.
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
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
import { RunningJobs } from '../jobs/running';
import type { JobStore } from '../jobs/store';
import {
  exportNnunetCase,
  exportSeries,
  NothingToExport,
  nnunetDatasetJson,
  nnunetIgnoreValue,
  nnunetTaskLabels,
  type FormatDeps,
  type SeriesExport,
} from './formats';
import { NoLabelsError } from './series-seg';
import { osUserName } from '../settings/identity';
import { createStage, exportStagingRoot, moveIntoPlace } from './staging';
import { labelledSeries, modelVersion, seriesById, splitOf, type SeriesRow } from './queries';
import { appendAudit } from '../db/audit';
import { taskExists } from '../tasks/queries';

type ExportRequest = z.output<typeof exportMethods.start>;

export interface ExportServiceOptions extends FormatDeps {
  jobs: JobStore;
  /** Who is exporting, for the audit log (src/main/settings/identity.ts; default: the operating-system user). */
  identity?: () => string;
  /** Where exports are staged (default: export-staging beside the store, in the data folder). */
  stagingRoot?: string;
}

export class ExportMainService implements ExportService {
  private readonly running = new RunningJobs();

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
    // Refused before any file is written when it is plain already (a case skipped later is checked again at the end).
    if (request.format === 'nnunet' && series.every((s) => splitOf(this.o.db, s) === 'validation'))
      throw new ServiceError('invalid-input', NO_TRAINING_CASE);
    const title = `Export ${series.length === 1 ? series[0]!.description || 'series' : `${series.length} series`} as ${FORMAT_NAMES[request.format]}`;
    const job = this.o.jobs.create('export', title, { ...request, seriesIds: series.map((s) => s.id) });
    // One still writing when the database closed fails there; the next start removes its stage.
    this.running.track(job.id, this.run(job.id, request, series));
    return { jobId: job.id };
  }

  /**
   * Waits for the exports running now, which the app's quit has asked to stop (JobStore
   * stopAll: each stops before its next series as a cancel does, its stage removed and nothing
   * moved into the output folder, and is recorded as interrupted; one already moving its files
   * into place finishes). Resolves once they have settled, or after `waitMs` (default
   * CLOSE_WAIT_MS).
   */
  close(waitMs?: number): Promise<void> {
    return this.running.settled(waitMs);
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
    const result: ExportResult = { outDir: request.outDir, format: request.format, series: [], skipped: [], notes: [] };
    const done: { series: SeriesRow; export: SeriesExport }[] = [];
    let staging = '';
    try {
      staging = createStage(this.o.stagingRoot ?? exportStagingRoot(path.dirname(this.o.store.root)), jobId);
      const root = request.format === 'nnunet' ? path.join(staging, datasetName(request.datasetId)) : staging;
      mkdirSync(root, { recursive: true });
      // Slices nobody labelled become nnU-Net's ignore label, not background (issue 25).
      const ignore =
        request.format === 'nnunet' ? nnunetIgnoreValue(this.o.db, series, request.fallBackToPredictions, request.taskId) : null;
      for (const [i, s] of series.entries()) {
        if (cancelled) break;
        this.o.jobs.progress('export', jobId, {
          phase: `writing ${s.description || s.seriesUid}`,
          done: i,
          total: series.length,
        });
        try {
          const e =
            request.format === 'nnunet'
              ? await exportNnunetCase(
                  this.o,
                  s,
                  `LGMS_${String(i + 1).padStart(4, '0')}`,
                  root,
                  request.fallBackToPredictions,
                  request.taskId,
                  ignore,
                )
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
      if (request.format === 'nnunet') this.finishNnunet(root, request, done, ignore);
      for (const d of done) if (d.export.note) result.notes.push(d.export.note);
      // Everything is written: move it in, under new names where the folder holds those names already.
      const names = moveIntoPlace(staging, request.outDir);
      for (const [entry, name] of names)
        if (entry !== name)
          result.notes.push(`${entry} was already in ${request.outDir}: written as ${name} (nothing was overwritten)`);
      const base = request.format === 'nnunet' ? datasetName(request.datasetId) : '';
      const finalPath = (relative: string) => {
        const [top, ...rest] = path.join(base, relative).split(path.sep);
        return path.join(request.outDir, names.get(top!) ?? top!, ...rest);
      };
      for (const d of done) {
        const files = d.export.files.map(finalPath);
        result.series.push({
          seriesUid: d.series.seriesUid,
          description: d.series.description,
          used: d.export.used,
          files,
        } satisfies ExportedSeries);
        appendAudit(this.o.db, {
          actor: this.o.identity?.() ?? osUserName(),
          action: `export.${request.format}`,
          subject: d.series.seriesUid,
          detail: {
            jobId,
            taskId: request.taskId,
            outDir: request.outDir,
            files,
            used: d.export.used,
            modelVersionIds: d.export.modelVersionIds,
          },
          seriesId: d.series.id,
          modelVersionId: d.export.modelVersionIds[0] ?? null,
        });
      }
      return this.o.jobs.finish('export', jobId, 'done', {
        result,
        progress: { phase: 'done', done: series.length, total: series.length },
      });
    } catch (err) {
      if (staging) rmSync(staging, { recursive: true, force: true });
      const message = err instanceof Error ? err.message : String(err);
      return this.o.jobs.finish('export', jobId, 'failed', { error: `export failed: ${message}`, result });
    }
  }

  private finishNnunet(
    root: string,
    request: ExportRequest,
    done: { series: SeriesRow; export: SeriesExport }[],
    ignore: number | null,
  ): void {
    const maxLabel = Math.max(1, ...done.flatMap((d) => d.export.nnunetCases?.flatMap((c) => c.labelValues) ?? [0]));
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
          ignore,
          numTraining: done.reduce((n, d) => n + d.export.nnunetCases!.length, 0),
        }),
        null,
        2,
      ) + '\n',
    );
    // The workstation's frozen split as nnU-Net's one-fold splits_final.json (copy it into
    // nnUNet_preprocessed/<dataset>/ to train on exactly that split). Cases whose patient has no
    // split yet train.
    const fold = { train: [] as string[], val: [] as string[] };
    for (const d of done)
      (splitOf(this.o.db, d.series) === 'validation' ? fold.val : fold.train).push(...d.export.nnunetCases!.map((c) => c.id));
    if (fold.train.length === 0) throw new ServiceError('invalid-input', NO_TRAINING_CASE);
    writeFileSync(path.join(root, 'splits_final.json'), JSON.stringify([fold], null, 2) + '\n');
    writeFileSync(
      path.join(root, 'cases.json'),
      JSON.stringify(
        Object.fromEntries(
          done.flatMap((d) => d.export.nnunetCases!.map((c) => [c.id, { seriesUid: d.series.seriesUid, used: d.export.used }])),
        ),
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

// nnU-Net would train on nothing with this split, and training on its own folds instead would put
// the workstation's validation patients into training (the gate would then grade a model on
// patients it learnt from).
const NO_TRAINING_CASE =
  "every labelled series belongs to a patient of the workstation's frozen validation split, so the dataset would have no training case: label series of other patients first";

const datasetName = (id: number) => `Dataset${String(id).padStart(3, '0')}_LGMS`;

const FORMAT_NAMES: Record<ExportFormat, string> = { seg: 'DICOM SEG', nifti: 'NIfTI', png: 'PNG', nnunet: 'nnU-Net dataset' };
