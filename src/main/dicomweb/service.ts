// The `dicomweb` service. Retrieve downloads every instance of a series into a staging folder
// and only then hands the folder to the ordinary import, so a transfer cut off midway imports
// nothing; send writes the series' SEG and stores it with STOW-RS, with an audit row.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { z } from 'zod';
import {
  dicomwebMethods,
  type DicomwebService,
  type PacsEndpoint,
  type PacsSeries,
  type PacsStudy,
} from '../../shared/contract/dicomweb';
import type { Job } from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import type { ContentStore } from '../store/content-store';
import type { ImportMainService } from '../import/service';
import type { JobStore } from '../jobs/store';
import { osUserName } from '../settings/identity';
import { seriesById } from '../export/queries';
import { appendAudit } from '../db/audit';
import { seriesToSeg } from '../export/series-seg';
import { DicomwebClient } from './client';
import { EndpointStore, type SecretBox } from './endpoints';

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
  private readonly running = new Map<number, Promise<Job>>();

  constructor(private readonly o: DicomwebServiceOptions) {
    this.endpoints = new EndpointStore(o.db, o.secrets, o.dataDir);
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
      const instances = await client.searchInstances(studyUid, seriesUid, controller.signal);
      if (instances.length === 0) throw new ServiceError('not-found', 'the PACS has no instances in that series');
      mkdirSync(staging, { recursive: true });
      for (const [i, sop] of instances.entries()) {
        this.o.jobs.progress('import', jobId, { phase: 'downloading', done: i, total: instances.length }, true);
        const bytes = await client.retrieveInstance(studyUid, seriesUid, sop, controller.signal);
        writeFileSync(path.join(staging, `${String(i + 1).padStart(5, '0')}.dcm`), bytes);
      }
      this.o.jobs.progress('import', jobId, { phase: 'importing', done: instances.length, total: instances.length }, true);
      // A SEG among the instances becomes labels of the task through the same import (label-sets.ts).
      const { jobId: importJobId } = await this.o.importer.start({ paths: [staging], ...(taskId ? { taskId } : {}) });
      const imported = await this.o.importer.wait(importJobId);
      if (imported.status !== 'done')
        throw new ServiceError('internal', `the import of the retrieved series ${imported.status}: ${imported.error ?? ''}`);
      if (imported.kind !== 'import' || !imported.result)
        throw new ServiceError('internal', 'the import of the retrieved series gave no result');
      return this.o.jobs.finish('import', jobId, 'done', {
        result: { ...imported.result, importJobId, instances: instances.length },
      });
    } catch (e) {
      return this.fail('import', jobId, e);
    } finally {
      rmSync(staging, { recursive: true, force: true });
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
    this.running.set(jobId, run);
    void run.finally(() => this.running.delete(jobId));
    return { jobId };
  }

  private client(endpointId: number): DicomwebClient {
    return new DicomwebClient(this.endpoints.connection(endpointId));
  }
}
