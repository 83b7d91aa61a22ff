// The inference engine on the main thread: it owns the worker, picks the execution provider
// (first that creates a session and passes a probe run), swaps models without a restart, and
// runs segmentation jobs one at a time. All pixel work happens in the worker. Each job names its
// task (issue 22) and runs that task's active version, loaded first when another is loaded.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import type {
  Events,
  ExecutionProviderName,
  InferenceService,
  InferenceStatus,
  InferenceTimings,
  PredictionView,
  Settings,
} from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { applicability } from '../../shared/model/applicability';
import type { InputStatistics } from '../../shared/model/input-statistics';
import { modelDims, type ModelManifest } from '../../shared/model/manifest';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { JobStore } from '../jobs/store';
import { STARTER_TASK_ID, type ModelRegistry, type ResolvedVersion } from '../models/registry';
import { readTask } from '../tasks/queries';
import { startWorker } from '../workers';
import { loadRequestOf, type EngineReply, type EngineRequest } from './protocol';
import { candidates } from './providers';
import {
  newSeriesOfStudies,
  pendingInferenceJob,
  predictionRow,
  reviewSeriesOfOtherVersions,
  seriesImageIds,
  seriesMissingPredictions,
  seriesTitle,
  setSeriesStatus,
  studiesWithNewSeries,
  studyOfSeries,
  taskName,
} from './queries';
import { settledWithin } from '../jobs/running';
import { ttaFlipsOfJob } from './tta';
import type { InferenceWorkerData } from './worker';

export interface EngineOptions {
  db: Database;
  dbPath: string;
  storeDir: string;
  sqliteBinding?: string;
  jobs: JobStore;
  events: Emitter<Events>;
  registry: ModelRegistry;
  settings: () => Settings;
  /** Slices × flips per run. */
  batchSize?: number;
  /** A 3D model: the most bytes one series' inference may hold (default 2 GiB, volume-series.ts VOLUME_MEMORY_BUDGET). */
  volumeMemoryBytes?: number;
  /** How long close() waits for a model load in flight before terminating the worker anyway (default 10 s). */
  closeLoadWaitMs?: number;
}

/** close() waits this long by default for a model load in flight (the starter model loads in well under a second). */
export const CLOSE_LOAD_WAIT_MS = 10_000;
/** What a request still unanswered when the engine closes is answered with. */
export const ENGINE_CLOSED = 'the inference engine was closed';

interface Pending {
  resolve(reply: EngineReply): void;
}

export class InferenceEngine implements InferenceService {
  private worker: Worker | undefined;
  private readonly cancel = new SharedArrayBuffer(4);
  private readonly pending = new Map<number, Pending>();
  private nextRequest = 1;
  private state: InferenceStatus = { state: 'starting', provider: null, failures: [], model: null };
  private readonly queue: number[] = [];
  private running = false;
  private loadedProviderSetting: string | undefined;
  private readonly jobWaiters = new Map<number, (status: string) => void>();
  /** Set by close(): no model load starts after it, and nothing writes to the database once it is done. */
  private closing: Promise<void> | undefined;
  /** The model load the worker is doing now, if any. */
  private loading: Promise<EngineReply> | undefined;

  constructor(private readonly o: EngineOptions) {}

  /** Starts the worker and loads the active model. Resolves when ready or unavailable. */
  async start({ resumeJobs = true }: { resumeJobs?: boolean } = {}): Promise<InferenceStatus> {
    const data: InferenceWorkerData = {
      dbPath: this.o.dbPath,
      storeDir: this.o.storeDir,
      cancel: this.cancel,
      ...(this.o.sqliteBinding ? { sqliteBinding: this.o.sqliteBinding } : {}),
    };
    this.worker = startWorker('inference-worker', { workerData: data });
    this.worker.on('message', (reply: EngineReply) => this.onReply(reply));
    this.worker.on('error', (e) =>
      this.setState({ ...this.state, state: 'unavailable', message: `inference worker failed: ${e.message}` }),
    );
    this.o.registry.onWillActivate((version) => this.load(version).then(() => undefined));
    const active = this.o.registry.active() ?? this.o.registry.actives()[0] ?? null;
    if (!active)
      return this.setState({ state: 'unavailable', provider: null, failures: [], model: null, message: 'no model is installed' });
    await this.load(active).catch(() => undefined);
    // Closed while loading: the database may be closed too; queued jobs wait for the next start.
    if (this.closing) return this.state;
    // Jobs queued before a restart run now.
    if (resumeJobs) {
      for (const job of await this.o.jobs.list({ kind: 'inference', limit: 500 }))
        if (job.status === 'queued') this.enqueue(job.id);
      // Series imported while no app ran (e.g. `lgms import`) are segmented now, as after an import.
      this.autoSegment(studiesWithNewSeries(this.o.db));
    }
    return this.state;
  }

  /**
   * Stops the engine. A running segmentation is asked to stop at its next batch (its job row
   * stays for a later run). A model load in flight is waited for, at most `loadWaitMs` (default
   * `closeLoadWaitMs`, else CLOSE_LOAD_WAIT_MS), so that the worker is not terminated inside
   * onnxruntime's session creation; then the worker is terminated. A request still unanswered
   * then (a load that outlasted the wait) is answered with an error (ENGINE_CLOSED): nothing waits
   * for it forever. No load starts once close() is called. Calling it again returns the same promise.
   */
  close({ loadWaitMs = this.o.closeLoadWaitMs ?? CLOSE_LOAD_WAIT_MS }: { loadWaitMs?: number } = {}): Promise<void> {
    this.closing ??= (async () => {
      Atomics.store(new Int32Array(this.cancel), 0, 1);
      if (this.loading) await settledWithin(this.loading, loadWaitMs);
      await this.worker?.terminate();
      for (const [requestId, pending] of this.pending) pending.resolve({ type: 'error', requestId, message: ENGINE_CLOSED });
      this.pending.clear();
    })();
    return this.closing;
  }

  /** Reloads when the forced provider changed in settings. */
  async settingsChanged(): Promise<void> {
    const loaded = this.state.model;
    const active = loaded ? this.o.registry.get(loaded.id) : this.o.registry.active();
    if (active && this.o.settings().executionProvider !== this.loadedProviderSetting)
      await this.load(active).catch(() => undefined);
  }

  async status(): Promise<InferenceStatus> {
    return this.state;
  }

  activeProvider(): ExecutionProviderName {
    return this.state.provider ?? 'cpu';
  }

  /**
   * Queues a segmentation of the series by the task's active version (default: the starter
   * task). Throws ServiceError('unavailable') when the task has no active version or no model
   * can run, 'not-found' for an unknown series.
   */
  async segmentSeries({
    seriesId,
    ttaFlips,
    taskId = STARTER_TASK_ID,
  }: {
    seriesId: number;
    ttaFlips?: 0 | 2 | 4;
    taskId?: number;
  }): Promise<{ jobId: number }> {
    const existing = pendingInferenceJob(this.o.db, seriesId, ttaFlips, taskId);
    if (existing !== undefined) return { jobId: existing };
    const series = seriesTitle(this.o.db, seriesId);
    if (!series) throw new ServiceError('not-found', `no series ${seriesId}`);
    if (!this.state.model) throw new ServiceError('unavailable', this.state.message ?? 'no model is loaded');
    if (!this.o.registry.active(taskId))
      throw new ServiceError('unavailable', `${this.taskName(taskId)} has no model yet: train and promote its first model`);
    const params = {
      seriesId,
      ...(ttaFlips !== undefined ? { ttaFlips } : {}),
      ...(taskId !== STARTER_TASK_ID ? { taskId } : {}),
    };
    const job = this.o.jobs.create('inference', `Segment ${series.modality} ${series.description}`.trim(), params);
    this.enqueue(job.id);
    return { jobId: job.id };
  }

  /** Every series not yet segmented by the task's active version (default: the starter task). */
  async segmentPending(input?: { taskId?: number | undefined }): Promise<{ jobIds: number[] }> {
    const taskId = input?.taskId ?? STARTER_TASK_ID;
    const model = this.o.registry.active(taskId);
    if (!this.state.model || !model) throw new ServiceError('unavailable', this.state.message ?? 'no model is loaded');
    const ids = seriesMissingPredictions(this.o.db, model.id);
    const jobIds: number[] = [];
    for (const seriesId of ids) jobIds.push((await this.segmentSeries({ seriesId, taskId })).jobId);
    return { jobIds };
  }

  /** The task's series waiting in its review queue with another version's prediction, segmented again by its active one. */
  async segmentReviewQueue({
    dryRun,
    taskId = STARTER_TASK_ID,
  }: {
    dryRun?: boolean | undefined;
    taskId?: number | undefined;
  }): Promise<{ seriesIds: number[]; jobIds: number[] }> {
    const model = this.o.registry.active(taskId);
    if (!this.state.model || !model) throw new ServiceError('unavailable', this.state.message ?? 'no model is loaded');
    const seriesIds = reviewSeriesOfOtherVersions(this.o.db, taskId, model.id);
    const jobIds: number[] = [];
    if (!dryRun) for (const seriesId of seriesIds) jobIds.push((await this.segmentSeries({ seriesId, taskId })).jobId);
    return { seriesIds, jobIds };
  }

  /** Resolves with the job's final status (for the CLI and tests). */
  async waitForJob(jobId: number): Promise<string> {
    const job = await this.o.jobs.get({ id: jobId });
    if (job.status !== 'queued' && job.status !== 'running') return job.status;
    return new Promise((resolve) => this.jobWaiters.set(jobId, resolve));
  }

  /** A stored prediction: of `modelVersionId`, else of the task's active version (default: the starter task's). */
  async prediction({
    imageId,
    modelVersionId,
    taskId,
  }: {
    imageId: number;
    modelVersionId?: number;
    taskId?: number;
  }): Promise<PredictionView | null> {
    const version =
      modelVersionId ??
      (taskId !== undefined ? this.o.registry.active(taskId)?.id : (this.o.registry.active()?.id ?? this.state.model?.id));
    if (version === undefined) return null;
    const row = predictionRow(this.o.db, imageId, version);
    if (!row) return null;
    return {
      imageId,
      modelVersionId: version,
      rows: row.rows,
      columns: row.columns,
      mask: row.mask,
      uncertainty: row.uncertainty,
      foregroundPixels: row.foreground_pixels,
      entropy: row.entropy,
      ttaDice: row.tta_dice,
    };
  }

  /**
   * Queues inference for new series after an import, when the setting asks for it: each series
   * is segmented by the active version of every task whose applicability (the task's `domain`)
   * matches it; the others wait for a request.
   */
  autoSegment(studyIds: number[]): void {
    if (!this.o.settings().autoSegmentOnImport || !this.state.model || studyIds.length === 0) return;
    const actives = this.o.registry.actives();
    const series = newSeriesOfStudies(this.o.db, studyIds);
    for (const s of series)
      for (const v of actives)
        // A 3D version segments volumes: a single image (a scout, a key image) waits for a request.
        if (applicability(v.manifest.domain, s).inDomain && (modelDims(v.manifest) !== 3 || s.images > 1))
          void this.segmentSeries({ seriesId: s.id, taskId: v.taskId }).catch(() => undefined);
  }

  private taskName(taskId: number): string {
    const name = taskName(this.o.db, taskId);
    return name === undefined ? `Task ${taskId}` : `Task "${name}"`;
  }

  private async load(version: { id: number; dir: string; manifest: ModelManifest }): Promise<void> {
    const m = version.manifest;
    if (this.closing) throw new ServiceError('unavailable', `model ${m.id} was not loaded: ${ENGINE_CLOSED}`);
    const setting = this.o.settings().executionProvider;
    const request = this.request(
      loadRequestOf(version, {
        providers: candidates(setting),
        threads: Math.max(1, os.availableParallelism()),
        inputStatistics: inputStatisticsOf(this.o.registry, version.id),
      }),
    );
    this.loading = request;
    const reply = await request.finally(() => {
      if (this.loading === request) this.loading = undefined;
    });
    if (reply.type === 'loaded') {
      this.loadedProviderSetting = setting;
      this.setState({
        state: 'ready',
        provider: reply.provider,
        failures: reply.failures,
        model: { id: version.id, modelId: m.id, name: m.name, version: m.version },
      });
      return;
    }
    const failures = reply.type === 'load-failed' ? reply.failures : [];
    const message = `model ${m.id} could not be loaded: ${failures.map((f) => `${f.provider}: ${f.reason}`).join('; ') || (reply.type === 'error' ? reply.message : '')}`;
    // A failed swap keeps the model that was running.
    if (this.state.state !== 'ready') this.setState({ state: 'unavailable', provider: null, failures, model: null, message });
    throw new ServiceError('unavailable', message, failures);
  }

  private enqueue(jobId: number): void {
    this.queue.push(jobId);
    void this.drain();
  }

  private async drain(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      // Closing: the queued jobs stay queued for the next start (and the database may close next).
      for (let jobId = this.queue.shift(); jobId !== undefined && !this.closing; jobId = this.queue.shift())
        await this.run(jobId);
    } finally {
      this.running = false;
    }
  }

  private async run(jobId: number): Promise<void> {
    const job = this.o.jobs.getOf('inference', jobId);
    if (job.status !== 'queued') return;
    const params = job.params;
    const seriesId = params.seriesId;
    const imageIds = seriesImageIds(this.o.db, seriesId);
    const taskId = params.taskId ?? STARTER_TASK_ID;
    // The job's task's active version segments; another task's model is swapped out first.
    const version: ResolvedVersion | null = this.o.registry.active(taskId);
    if (!version || this.state.model?.id !== version.id) {
      const loaded = version
        ? await this.load(version).then(
            () => null,
            (e: unknown) => (e as Error).message,
          )
        : `${this.taskName(taskId)} has no active model`;
      // Closed while loading: the job stays queued for the next start.
      if (this.closing) return;
      if (loaded !== null) {
        const final = this.o.jobs.finish('inference', jobId, 'failed', { error: loaded });
        this.jobWaiters.get(jobId)?.(final.status);
        this.jobWaiters.delete(jobId);
        return;
      }
    }
    const { request: ttaFlips, used: ttaFlipsUsed } = ttaFlipsOfJob(
      params.ttaFlips ?? this.o.settings().ttaFlips,
      modelDims(version!.manifest),
      readTask(this.o.db, taskId)?.labels ?? [],
    );
    this.o.jobs.markRunning(jobId, () => Atomics.store(new Int32Array(this.cancel), 0, 1));
    setSeriesStatus(this.o.db, seriesId, 'segmenting');
    const reply = await this.request({
      type: 'segment',
      requestId: 0,
      jobId,
      imageIds,
      ttaFlips,
      batchSize: this.o.batchSize ?? 8,
      minComponentPixels: 16,
      fillHoles: true,
      ...(this.o.volumeMemoryBytes !== undefined ? { volumeMemoryBytes: this.o.volumeMemoryBytes } : {}),
    });
    // Stopped by close() (answered by close(), or by the worker at its next batch after close()
    // raised the cancel flag): the row stays running, marked interrupted at the next start, and
    // the series is "new" again then (queries.ts resetInterruptedSegmentations). A segmentation that
    // finished before the worker stopped is recorded as done.
    if (
      this.closing &&
      ((reply.type === 'error' && reply.message === ENGINE_CLOSED) || (reply.type === 'segmented' && reply.cancelled))
    )
      return;
    let final;
    if (reply.type === 'segmented') {
      // "Segmented" only when every image has its mask: otherwise the job fails, saying how many
      // images failed and the first reason, and the series stays to be segmented.
      const incomplete = !reply.cancelled && reply.failed.length > 0;
      const status = reply.cancelled ? 'cancelled' : incomplete ? 'failed' : 'done';
      setSeriesStatus(this.o.db, seriesId, reply.cancelled || incomplete ? 'new' : 'segmented');
      final = this.o.jobs.finish('inference', jobId, status, {
        ...(incomplete ? { error: failureMessage(reply.failed, imageIds.length) } : {}),
        result: {
          seriesId,
          segmented: reply.done,
          failed: reply.failed,
          provider: this.state.provider,
          model: this.state.model,
          ttaFlips: ttaFlipsUsed,
          timingsMs: round(reply.timings),
        },
        progress: { phase: 'done', done: reply.done + reply.failed.length, total: imageIds.length },
      });
      this.o.events.emit('onDidChangeStudies', { studyIds: [this.studyOf(seriesId)] });
    } else {
      setSeriesStatus(this.o.db, seriesId, 'new');
      final = this.o.jobs.finish('inference', jobId, 'failed', {
        error: reply.type === 'error' ? reply.message : 'inference failed',
      });
    }
    this.jobWaiters.get(jobId)?.(final.status);
    this.jobWaiters.delete(jobId);
  }

  private studyOf(seriesId: number): number {
    return studyOfSeries(this.o.db, seriesId);
  }

  private request(req: EngineRequest): Promise<EngineReply> {
    if (!this.worker) return Promise.reject(new Error('inference engine not started'));
    const requestId = this.nextRequest++;
    return new Promise((resolve) => {
      this.pending.set(requestId, { resolve });
      this.worker!.postMessage({ ...req, requestId });
    });
  }

  private onReply(reply: EngineReply): void {
    if (reply.type === 'progress') {
      this.o.jobs.progress('inference', reply.jobId, {
        phase: reply.phase ?? 'segmenting',
        done: reply.done,
        total: reply.total,
        ...(reply.unit ? { unit: reply.unit } : {}),
        timingsMs: round(reply.timings),
      });
      return;
    }
    const pending = this.pending.get(reply.requestId);
    if (pending) {
      this.pending.delete(reply.requestId);
      pending.resolve(reply);
    }
  }

  private setState(state: InferenceStatus): InferenceStatus {
    this.state = state;
    this.o.events.emit('onDidChangeInference', state);
    return state;
  }
}

/**
 * A version's model.json `inputStatistics`, else its nearest ancestor's: a fine-tune changes the
 * weights, not the input pipeline or what the model is for, and the trainer does not copy them.
 * Null when no version of the line has any (no applicability signal).
 */
export function inputStatisticsOf(registry: Pick<ModelRegistry, 'lineage'>, id: number): InputStatistics | null {
  for (const v of registry.lineage(id)) if (v.manifest.inputStatistics) return v.manifest.inputStatistics;
  return null;
}

/**
 * A failed job's error: how many images failed and the first reason; a series refused whole
 * (a 3D model's volume: not a regular stack, over the memory budget) by its one reason alone.
 */
function failureMessage(failed: { reason: string }[], total: number): string {
  const first = failed[0]!.reason;
  // A series refused whole (a 3D model: not a regular stack, over the memory budget) says why once.
  if (total > 1 && failed.length === total && failed.every((f) => f.reason === first)) return first;
  return `${failed.length} of ${total} images could not be segmented: ${first}`;
}

function round(t: InferenceTimings): InferenceTimings {
  const r = (v: number) => Math.round(v * 10) / 10;
  return {
    decode: r(t.decode),
    preprocess: r(t.preprocess),
    model: r(t.model),
    postprocess: r(t.postprocess),
    store: r(t.store),
    total: r(t.total),
  };
}
