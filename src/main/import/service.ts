// The `import` service: starts an import job in a worker thread and relays its progress.
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { z } from 'zod';
import type {
  Events,
  ImportItem,
  ImportItemStatus,
  ImportProgress,
  ImportReport,
  ImportService,
  ImportStart,
  Job,
  LabelMappingApplied,
  LabelMappingProposal,
  LabelSetSummary,
} from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { importMethods } from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { CLOSE_WAIT_MS, settledWithin } from '../jobs/running';
import type { JobStore } from '../jobs/store';
import { startWorker } from '../workers';
import { ContentStore } from '../store/content-store';
import { taskExists } from '../tasks/queries';
import { applyLabelMap, applyLabelSet, LabelImportError, proposeLabelMap, proposeLabelSet } from './label-sets';
import { MappingError } from './label-mapping';
import type { ImportWorkerData, ImportWorkerMessage } from './worker';

export interface ImportServiceOptions {
  db: Database;
  dbPath: string;
  storeDir: string;
  sqliteBinding?: string;
  jobs: JobStore;
  events: Emitter<Events>;
}

export class ImportMainService implements ImportService {
  private readonly running = new Map<number, Promise<Job>>();
  private queue: Promise<unknown> = Promise.resolve();
  /** Set by close(): no import starts, and nothing is written to the database any more. */
  private closing = false;
  /** The import running now: its job, worker, cancel flag and exit. */
  private active: { jobId: number; worker: Worker; cancel: SharedArrayBuffer; exited: Promise<void> } | undefined;

  constructor(private readonly o: ImportServiceOptions) {}

  async start({ paths, taskId }: ImportStart): Promise<{ jobId: number }> {
    if (taskId !== undefined && !taskExists(this.o.db, taskId))
      throw new ServiceError('not-found', `There is no task ${taskId}.`);
    const resolved = paths.map(fullPath);
    const missing = paths.filter((_, i) => !existsSync(resolved[i]!));
    // The message names the paths as the reader typed them: never the server's own folders.
    if (missing.length === resolved.length)
      throw new ServiceError(
        'not-found',
        `Nothing to import: ${missing.join(', ')} ${missing.length === 1 ? 'does' : 'do'} not exist on this machine.`,
      );
    const title = resolved.length === 1 ? `Import ${path.basename(resolved[0]!)}` : `Import ${resolved.length} items`;
    const job = this.o.jobs.create('import', title, { paths: resolved });
    // One import at a time: they would compete for the same disk, and an import may remove store
    // copies it wrote and then did not keep (cancel), which another running import could share.
    const turn = this.queue.then(async () => {
      // Queued when the app quit: close() has recorded it interrupted.
      if (this.closing) throw new ServiceError('unavailable', 'The app is closing: the import did not start.');
      const current = await this.o.jobs.get({ id: job.id });
      return current.status === 'queued' ? this.run(job.id, resolved, taskId) : current; // cancelled while queued
    });
    this.queue = turn.catch(() => undefined);
    this.running.set(job.id, turn);
    const forget = () => this.running.delete(job.id);
    turn.then(forget, forget);
    return { jobId: job.id };
  }

  /**
   * Appends one chunk of a dropped file to `<staging>/<batch>/<path>.part` at `offset` (the bytes
   * already staged: a chunk out of order is a `conflict`), and renames the file into place after
   * the last chunk, so a half-sent file is never imported. Returns the bytes staged so far.
   */
  async stage({ data, ...chunk }: z.input<typeof importMethods.stage>): Promise<{ bytes: number }> {
    return this.stageFrom(chunk, [data], data.byteLength);
  }

  /**
   * The same as `stage` for a chunk that arrives as a stream (the headless server's upload, which
   * never holds a chunk whole): its `length` bytes are written to the file as they come. A stream
   * that ends short or runs long leaves the staged file as it was (a `conflict`: send it again).
   */
  async stageFrom(
    { batch, path: relative, offset, last }: Omit<z.input<typeof importMethods.stage>, 'data'>,
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    length: number,
  ): Promise<{ bytes: number }> {
    const root = path.join(this.stagingDir(), batch);
    const target = path.resolve(root, relative);
    if (!target.startsWith(root + path.sep)) throw new ServiceError('invalid-input', 'the path leaves the staging folder');
    const part = target + '.part';
    if (offset === 0) await mkdir(path.dirname(target), { recursive: true });
    let file;
    try {
      file = await open(part, offset === 0 ? 'w' : 'r+');
    } catch {
      throw new ServiceError('conflict', `the upload of ${relative} must start at offset 0`);
    }
    try {
      const { size } = await file.stat();
      if (size !== offset)
        throw new ServiceError('conflict', `the upload of ${relative} has ${size} bytes, not ${offset}: send the file again`);
      let written = 0;
      try {
        for await (const bytes of source) {
          if (written + bytes.byteLength > length)
            throw new ServiceError('conflict', `the chunk of ${relative} is longer than announced (${length} bytes)`);
          await file.write(bytes, 0, bytes.byteLength, offset + written);
          written += bytes.byteLength;
        }
        if (written !== length)
          throw new ServiceError(
            'conflict',
            `the chunk of ${relative} was cut off after ${written} of ${length} bytes: send it again`,
          );
      } catch (e) {
        await file.truncate(offset);
        throw e;
      }
    } finally {
      await file.close();
    }
    if (last) await rename(part, target);
    return { bytes: offset + length };
  }

  async startStaged({ batch }: { batch: string }): Promise<{ jobId: number }> {
    const root = path.join(this.stagingDir(), batch);
    if (!existsSync(root)) throw new ServiceError('not-found', `nothing staged in batch ${batch}`);
    // One dropped file or folder is staged under its own name: import that, so the job (and a
    // photograph's study, named after its folder) carries the reader's name, not the batch id.
    const entries = await readdir(root);
    const started = await this.start({ paths: [entries.length === 1 ? path.join(root, entries[0]!) : root] });
    // The store holds copies once the import ends; the staged upload is then deleted.
    const removeUpload = () => rm(root, { recursive: true, force: true });
    void this.wait(started.jobId).then(removeUpload, removeUpload);
    return started;
  }

  /**
   * Stops the import running now because the app quits: it is asked to stop at its next series
   * (the import's own cancel: whole series committed, the rest of its store copies removed), and
   * its worker is ended once it has, or after `waitMs` (default CLOSE_WAIT_MS) — as after a
   * crash then, the next start sweeps its packs. From close() on, this service writes nothing to
   * the database: the job row stays running and the next start marks it interrupted ("start it
   * again to finish it"). An import still queued is recorded now as cancelled (interrupted, once
   * JobStore stopAll has run). Resolves once no import worker runs.
   */
  async close(waitMs = CLOSE_WAIT_MS): Promise<void> {
    this.closing = true;
    const active = this.active;
    for (const jobId of this.running.keys()) if (jobId !== active?.jobId) this.o.jobs.finish('import', jobId, 'cancelled');
    if (!active) return;
    Atomics.store(new Int32Array(active.cancel), 0, 1);
    await settledWithin(active.exited, waitMs);
    await active.worker.terminate();
  }

  private stagingDir(): string {
    return path.join(path.dirname(this.o.storeDir), 'staging');
  }

  /** Resolves when the job ends (for the CLI and tests; the UI follows events instead). */
  wait(jobId: number): Promise<Job> {
    return this.running.get(jobId) ?? this.o.jobs.get({ id: jobId });
  }

  async labelSets({ seriesUid }: z.input<typeof importMethods.labelSets>): Promise<LabelSetSummary[]> {
    const rows = this.o.db
      .prepare(
        `SELECT l.id, l.sop_instance_uid AS sopInstanceUid, l.referenced_series_uid AS referencedSeriesUid, l.task_id AS taskId, l.status,
                l.series_id AS seriesId, l.detail, f.original_path AS path
         FROM label_sets l JOIN files f ON f.id = l.file_id WHERE (? IS NULL OR l.referenced_series_uid = ?) ORDER BY l.id DESC`,
      )
      .all(seriesUid ?? null, seriesUid ?? null) as (Omit<LabelSetSummary, 'message'> & { detail: string })[];
    return rows.map(({ detail, ...r }) => ({
      ...r,
      message: String(
        (JSON.parse(detail) as { message?: unknown }).message ?? (r.status === 'kept' ? 'kept as a label set' : ''),
      ),
    }));
  }

  async proposeLabelSet({ labelSetId, taskId }: z.input<typeof importMethods.proposeLabelSet>): Promise<LabelMappingProposal> {
    return this.labelImport(() => proposeLabelSet(this.o.db, this.store(), labelSetId, taskId));
  }

  async applyLabelSet(input: z.input<typeof importMethods.applyLabelSet>): Promise<LabelMappingApplied> {
    const { labelSetId, taskId, choices } = importMethods.applyLabelSet.parse(input);
    return this.labelImport(() => applyLabelSet(this.o.db, this.store(), labelSetId, taskId, choices));
  }

  async proposeLabelMap({
    path: file,
    seriesId,
    taskId,
  }: z.input<typeof importMethods.proposeLabelMap>): Promise<LabelMappingProposal> {
    if (!existsSync(file)) throw new ServiceError('not-found', `There is no label map ${file} on this machine.`);
    return this.labelImport(() => proposeLabelMap(this.o.db, this.store(), file, seriesId, taskId));
  }

  async applyLabelMap(input: z.input<typeof importMethods.applyLabelMap>): Promise<LabelMappingApplied> {
    const { path: file, seriesId, taskId, choices, author } = importMethods.applyLabelMap.parse(input);
    if (!existsSync(file)) throw new ServiceError('not-found', `There is no label map ${file} on this machine.`);
    return this.labelImport(() => applyLabelMap(this.o.db, this.store(), file, seriesId, taskId, choices, author));
  }

  private store(): ContentStore {
    return new ContentStore(this.o.storeDir);
  }

  /** Runs a label import step; its refusals are `invalid-input` (the reader must choose) in words. */
  private async labelImport<T>(step: () => T | Promise<T>): Promise<T> {
    try {
      return await step();
    } catch (e) {
      if (e instanceof MappingError) throw new ServiceError('invalid-input', e.message);
      if (e instanceof LabelImportError)
        throw new ServiceError(/there is no /.test(e.message) ? 'not-found' : 'invalid-input', e.message);
      throw e;
    }
  }

  async report({ jobId, limit = 500 }: { jobId: number; limit?: number }): Promise<ImportReport> {
    const job = await this.o.jobs.get({ id: jobId });
    if (job.kind !== 'import') throw new ServiceError('invalid-input', `job ${jobId} is not an import`);
    const counts: Record<ImportItemStatus, number> = { imported: 0, duplicate: 0, skipped: 0, failed: 0 };
    for (const row of this.o.db
      .prepare('SELECT status, count(*) AS n FROM import_items WHERE job_id = ? GROUP BY status')
      .all(jobId) as {
      status: ImportItemStatus;
      n: number;
    }[])
      counts[row.status] = row.n;
    const problems = this.o.db
      .prepare(
        `SELECT path, status, reason FROM import_items WHERE job_id = ? AND status IN ('failed', 'skipped') ORDER BY status, path LIMIT ?`,
      )
      .all(jobId, limit) as ImportItem[];
    const notes = this.o.db
      .prepare(
        `SELECT path, status, reason FROM import_items WHERE job_id = ? AND status = 'imported' AND reason != '' ORDER BY path LIMIT ?`,
      )
      .all(jobId, limit) as ImportItem[];
    // A PACS retrieval's job reports downloads, not an import's counts.
    const progress: ImportProgress | null = job.progress && 'filesSeen' in job.progress ? job.progress : null;
    return { job, progress, problems, notes, counts };
  }

  private run(jobId: number, paths: string[], taskId?: number): Promise<Job> {
    const cancel = new SharedArrayBuffer(4);
    const data: ImportWorkerData = {
      dbPath: this.o.dbPath,
      storeDir: this.o.storeDir,
      jobId,
      paths,
      cancel,
      ...(taskId ? { taskId } : {}),
      ...(this.o.sqliteBinding ? { sqliteBinding: this.o.sqliteBinding } : {}),
    };
    const worker = startWorker('import-worker', { workerData: data });
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    this.active = { jobId, worker, cancel, exited };
    void exited.then(() => {
      if (this.active?.worker === worker) this.active = undefined;
    });
    this.o.jobs.markRunning(jobId, () => Atomics.store(new Int32Array(cancel), 0, 1));
    let last: ImportProgress | undefined;
    return new Promise<Job>((resolve, reject) => {
      let settled = false;
      const settle = (job: Job) => {
        if (settled) return;
        settled = true;
        this.running.delete(jobId);
        resolve(job);
      };
      // Stopped by close(): nothing more is written (the database closes next); see close().
      const closed = () => {
        if (!this.closing) return false;
        if (!settled) reject(new ServiceError('unavailable', 'The app closed during the import: start it again to finish it.'));
        settled = true;
        return true;
      };
      worker.on('message', (m: ImportWorkerMessage) => {
        if (closed()) return;
        if (m.type === 'progress') {
          last = m.progress;
          this.o.jobs.progress('import', jobId, { ...m.progress, done: m.progress.bytesRead, total: m.progress.bytesTotal });
          this.o.events.emit('onDidImportProgress', m.progress);
        } else if (m.type === 'done') {
          const p = m.summary.progress;
          const job = this.o.jobs.finish('import', jobId, m.summary.cancelled ? 'cancelled' : 'done', {
            progress: { ...p, done: p.bytesRead, total: p.bytesTotal },
            result: {
              studyIds: m.summary.studyIds,
              elapsedMs: m.summary.elapsedMs,
              phasesMs: m.summary.phasesMs,
              filesByReaders: m.summary.filesByReaders,
              cpuMs: m.summary.cpuMs,
            },
          });
          if (m.summary.studyIds.length) this.o.events.emit('onDidChangeStudies', { studyIds: m.summary.studyIds });
          if (job.status === 'done') this.o.events.emit('onDidImportStudies', { jobId, studyIds: m.summary.studyIds });
          settle(job);
        } else {
          settle(this.o.jobs.finish('import', jobId, 'failed', { error: m.message, ...(last ? { progress: { ...last } } : {}) }));
        }
      });
      worker.on('error', (e) => closed() || settle(this.o.jobs.finish('import', jobId, 'failed', { error: e.message })));
      worker.on('exit', (code) => {
        if (closed()) return;
        if (!settled) settle(this.o.jobs.finish('import', jobId, 'failed', { error: `import worker exited with code ${code}` }));
      });
    });
  }
}

/**
 * The full path a reader means: `~` and `~/…` are their home folder (as a shell expands them).
 * A relative path would silently resolve against the server's working folder, so it is refused.
 */
export function fullPath(typed: string): string {
  const p = typed.trim();
  if (p === '~' || p.startsWith('~/') || p.startsWith('~\\')) return path.join(os.homedir(), p.slice(1));
  if (!path.isAbsolute(p)) {
    throw new ServiceError(
      'invalid-input',
      `"${p}" is not a full path: give the whole path, starting with ${path.sep === '/' ? '/ or ~/' : 'a drive letter or ~\\'}.`,
    );
  }
  return path.normalize(p);
}
