// The `dicomweb` service. Retrieve downloads every instance of a series into a staging folder
// and only then hands the folder to the ordinary import, so a transfer cut off midway imports
// nothing; send writes the series' SEG and stores it with STOW-RS, with an audit row; a pull of a
// task's labels (pull.ts) is a job too, cancelled between SEGs.
import path from 'node:path';
import type { z } from 'zod';
import {
  dicomwebMethods,
  type DicomwebService,
  type PacsEndpoint,
  type PacsPush,
  type PacsSeries,
  type PacsStudy,
} from '../../shared/contract/dicomweb';
import type { Job } from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import type { ContentStore } from '../store/content-store';
import type { ImportMainService } from '../import/service';
import { RunningJobs } from '../jobs/running';
import type { JobStore } from '../jobs/store';
import { osUserName } from '../settings/identity';
import { seriesById } from '../export/queries';
import { appendAudit } from '../db/audit';
import { seriesToSeg } from '../export/series-seg';
import { DicomwebClient } from './client';
import { EndpointStore, type SecretBox } from './endpoints';
import { retrieveAndImport } from './retrieve';
import { PushQueue } from './push';
import { pullTaskLabels, PullStopped } from './pull';
import { readTask } from '../tasks/queries';

type In<M extends keyof typeof dicomwebMethods> = z.input<(typeof dicomwebMethods)[M]>;

export interface DicomwebServiceOptions {
  db: Database;
  dataDir: string;
  store: ContentStore;
  frames: FrameLoader;
  jobs: JobStore;
  importer: ImportMainService;
  secrets: SecretBox;
  softwareVersion: string;
  /** Who is sending, for the audit log (src/main/settings/identity.ts; default: the operating-system user). */
  identity?: () => string;
}

export class DicomwebMainService implements DicomwebService {
  readonly endpoints: EndpointStore;
  /** Label pushes of tasks set to send to a PACS (push.ts); started by the backend. */
  readonly pushQueue: PushQueue;
  private readonly running = new RunningJobs();
  /** Tasks whose pull is running: a second pull of one task waits for none and is refused. */
  private readonly pulling = new Set<number>();

  constructor(private readonly o: DicomwebServiceOptions) {
    this.endpoints = new EndpointStore(o.db, o.secrets, o.dataDir);
    this.pushQueue = new PushQueue({
      db: o.db,
      store: o.store,
      frames: o.frames,
      softwareVersion: o.softwareVersion,
      endpoints: this.endpoints,
      identity: () => o.identity?.() ?? osUserName(),
    });
  }

  async setTaskPush(input: In<'setTaskPush'>): Promise<{ taskId: number; endpointId: number | null }> {
    const { taskId, endpointId } = dicomwebMethods.setTaskPush.parse(input);
    if (!readTask(this.o.db, taskId)) throw new ServiceError('not-found', `There is no task ${taskId}`);
    if (endpointId !== null && !this.endpoints.list().some((e) => e.id === endpointId))
      throw new ServiceError('not-found', 'That PACS is not among the ones in Settings → PACS: add it there first');
    this.o.db.prepare('UPDATE tasks SET pacs_push_endpoint = ? WHERE id = ?').run(endpointId, taskId);
    return { taskId, endpointId };
  }

  async pushes(input?: In<'pushes'>): Promise<PacsPush[]> {
    const { taskId, limit } = dicomwebMethods.pushes.parse(input);
    return this.pushQueue.list(taskId, limit);
  }

  async retryPushes(input?: In<'retryPushes'>): Promise<{ tried: number }> {
    const { taskId } = dicomwebMethods.retryPushes.parse(input);
    return { tried: await this.pushQueue.retry(taskId) };
  }

  async pullTaskLabels(input: In<'pullTaskLabels'>): Promise<{ jobId: number }> {
    const { taskId, endpointId } = dicomwebMethods.pullTaskLabels.parse(input);
    const task = readTask(this.o.db, taskId);
    if (!task) throw new ServiceError('not-found', `There is no task ${taskId}`);
    if (this.pulling.has(taskId))
      throw new ServiceError(
        'conflict',
        `The team's labels of task ${task.name} are being pulled already: wait for that pull to finish`,
      );
    const client = this.client(endpointId);
    const name = this.endpoints.connection(endpointId).name;
    const job = this.o.jobs.create('pull', `Pull the team's labels of task ${task.name} from ${name}`, { taskId, endpointId });
    this.pulling.add(taskId);
    const run = async (): Promise<Job> => {
      const controller = new AbortController();
      this.o.jobs.markRunning(job.id, () => controller.abort());
      try {
        const report = await pullTaskLabels(this.o, client, task, {
          signal: controller.signal,
          onProgress: (p, everySeg) => this.o.jobs.progress('pull', job.id, p, everySeg),
        });
        return this.o.jobs.finish('pull', job.id, 'done', { result: report });
      } catch (e) {
        if (e instanceof PullStopped && e.reason.code === 'cancelled')
          return this.o.jobs.finish('pull', job.id, 'cancelled', { result: e.report });
        if (e instanceof PullStopped) {
          const taken = e.report.imported.length;
          const left = e.report.notLookedAt.length;
          const kept =
            taken === 0
              ? 'nothing was taken'
              : taken === 1
                ? 'the SEG taken before it stays'
                : `the ${taken} SEGs taken before it stay`;
          return this.o.jobs.finish('pull', job.id, 'failed', {
            result: e.report,
            error: `The pull stopped: ${e.reason.message} — ${kept}; ${left} SEG${left === 1 ? '' : 's'} not looked at: pull again to take them once the PACS answers.`,
          });
        }
        // Cancelled while the PACS was still listing its SEGs: nothing was looked at.
        if (e instanceof ServiceError && e.code === 'cancelled') return this.o.jobs.finish('pull', job.id, 'cancelled');
        if (e instanceof ServiceError)
          return this.o.jobs.finish('pull', job.id, 'failed', { error: `The team's labels could not be pulled: ${e.message}` });
        console.error(`[pacs] pulling the labels of task ${task.id}: ${(e as Error).stack ?? String(e)}`);
        return this.o.jobs.finish('pull', job.id, 'failed', {
          error: "The team's labels could not be pulled because of an error in the workstation (details in its log)",
        });
      } finally {
        this.pulling.delete(taskId);
      }
    };
    return this.track(job.id, run());
  }

  async listEndpoints(): Promise<PacsEndpoint[]> {
    return this.endpoints.list();
  }

  async saveEndpoint(input: In<'saveEndpoint'>): Promise<PacsEndpoint> {
    return this.endpoints.save(dicomwebMethods.saveEndpoint.parse(input));
  }

  async removeEndpoint({ id }: In<'removeEndpoint'>): Promise<{ removed: boolean }> {
    return { removed: this.endpoints.remove(id) };
  }

  async searchStudies(input: In<'searchStudies'>): Promise<PacsStudy[]> {
    const { endpointId, ...query } = dicomwebMethods.searchStudies.parse(input);
    return this.client(endpointId).searchStudies(query);
  }

  async searchSeries({ endpointId, studyUid }: In<'searchSeries'>): Promise<PacsSeries[]> {
    return this.client(endpointId).searchSeries(studyUid);
  }

  async retrieveSeries({ endpointId, studyUid, seriesUid, taskId }: In<'retrieveSeries'>): Promise<{ jobId: number }> {
    const client = this.client(endpointId);
    const job = this.o.jobs.create('import', `Retrieve series from ${this.endpoints.connection(endpointId).name}`, {
      endpointId,
      studyUid,
      seriesUid,
    });
    return this.track(job.id, this.retrieve(job.id, client, studyUid, seriesUid, taskId));
  }

  async sendSeg({ endpointId, seriesId, taskId = 1 }: In<'sendSeg'>): Promise<{ jobId: number }> {
    const client = this.client(endpointId);
    const series = seriesById(this.o.db, seriesId);
    if (!series) throw new ServiceError('not-found', `no series ${seriesId}`);
    const name = this.endpoints.connection(endpointId).name;
    const job = this.o.jobs.create('export', `Send segmentation of ${series.description || 'series'} to ${name}`, {
      endpointId,
      seriesId,
      taskId,
    });
    const run = async (): Promise<Job> => {
      const controller = new AbortController();
      this.o.jobs.markRunning(job.id, () => controller.abort());
      try {
        this.o.jobs.progress('export', job.id, { phase: 'writing the SEG', done: 0, total: 2 }, true);
        const r = await seriesToSeg(this.o, series, { fallBackToPredictions: false, taskId });
        this.o.jobs.progress('export', job.id, { phase: `sending to ${name}`, done: 1, total: 2 }, true);
        await client.store([...r.secondaryCaptures.map((sc) => sc.bytes), r.seg.bytes], controller.signal);
        appendAudit(this.o.db, {
          actor: this.o.identity?.() ?? osUserName(),
          action: 'send.seg',
          subject: series.seriesUid,
          detail: {
            jobId: job.id,
            endpoint: name,
            sopInstanceUid: r.seg.sopInstanceUid,
            secondaryCaptures: r.secondaryCaptures.length,
            used: r.used,
          },
          seriesId: series.id,
          modelVersionId: r.modelVersionIds[0] ?? null,
        });
        return this.o.jobs.finish('export', job.id, 'done', {
          result: { sopInstanceUid: r.seg.sopInstanceUid, seriesInstanceUid: r.seg.seriesInstanceUid },
        });
      } catch (e) {
        return this.fail('export', job.id, e);
      }
    };
    return this.track(job.id, run());
  }

  /** Resolves when the job ends. */
  wait(jobId: number): Promise<Job> {
    return this.running.get(jobId) ?? this.o.jobs.get({ id: jobId });
  }

  private async retrieve(
    jobId: number,
    client: DicomwebClient,
    studyUid: string,
    seriesUid: string,
    taskId?: number,
  ): Promise<Job> {
    const controller = new AbortController();
    this.o.jobs.markRunning(jobId, () => controller.abort());
    const staging = path.join(this.o.dataDir, 'staging', `retrieve-${jobId}`);
    try {
      // A SEG among the instances becomes labels of the task through the same import (label-sets.ts).
      const r = await retrieveAndImport({ client, importer: this.o.importer, staging }, studyUid, seriesUid, {
        signal: controller.signal,
        ...(taskId ? { taskId } : {}),
        onProgress: (done, total) =>
          this.o.jobs.progress('import', jobId, { phase: done < total ? 'downloading' : 'importing', done, total }, true),
      });
      return this.o.jobs.finish('import', jobId, 'done', {
        result: { ...r.imported.result!, importJobId: r.importJobId, instances: r.instances },
      });
    } catch (e) {
      return this.fail('import', jobId, e);
    }
  }

  private fail(kind: 'import' | 'export', jobId: number, e: unknown): Job {
    const status = e instanceof ServiceError && e.code === 'cancelled' ? 'cancelled' : 'failed';
    const outcome = status === 'failed' ? { error: e instanceof Error ? e.message : String(e) } : {};
    return kind === 'import'
      ? this.o.jobs.finish('import', jobId, status, outcome)
      : this.o.jobs.finish('export', jobId, status, outcome);
  }

  private track(jobId: number, run: Promise<Job>): { jobId: number } {
    this.running.track(jobId, run);
    return { jobId };
  }

  /**
   * Stops the push queue and waits for the retrievals, pulls and SEG sends running now, which
   * the app's quit has asked to stop (JobStore stopAll aborts their requests; each is recorded
   * as interrupted, what it had taken kept). Resolves once they have settled, or after `waitMs`
   * (default CLOSE_WAIT_MS).
   */
  close(waitMs?: number): Promise<void> {
    this.pushQueue.close();
    return this.running.settled(waitMs);
  }

  private client(endpointId: number): DicomwebClient {
    return new DicomwebClient(this.endpoints.connection(endpointId));
  }
}
