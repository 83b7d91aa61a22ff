// Durable jobs in SQLite. A job's row is the truth: the UI reads it, a restart finds it, and a
// job that was running when the process died is marked failed ("interrupted") on the next start
// rather than left running forever.
import type {
  Events,
  Job,
  JobKind,
  JobOf,
  JobParams,
  JobProgressOf,
  JobResult,
  JobsService,
  JobStatus,
} from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { ownerGone } from '../process-alive';

interface JobRow {
  id: number;
  kind: JobKind;
  status: JobStatus;
  title: string;
  params: string;
  progress: string;
  result: string | null;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
}

export const INTERRUPTED = 'interrupted: the app stopped while this job was running; start it again to finish it';
const PROGRESS_WRITE_INTERVAL_MS = 500;

// The row's JSON columns were written by this store from the kind's own types (create, progress,
// finish), so reading them back as that kind's types is the one place that trusts them.
function toJob(row: JobRow): Job {
  const progress = JSON.parse(row.progress) as object;
  return {
    id: row.id,
    kind: row.kind,
    status: row.status,
    title: row.title,
    params: JSON.parse(row.params) as never,
    progress: Object.keys(progress).length === 0 ? null : (progress as never),
    result: row.result === null ? null : (JSON.parse(row.result) as never),
    error: row.error,
    createdAt: row.created_at,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export class JobStore implements JobsService {
  private readonly cancelHandlers = new Map<number, () => void>();
  private readonly lastWrite = new Map<number, number>();
  /** Set by stopAll(): the app quits, so a job stopped now is interrupted, not cancelled. */
  private stopping = false;

  constructor(
    private readonly db: Database,
    private readonly events: Emitter<Events>,
  ) {}

  /**
   * Marks interrupted the jobs left running by a process that died or quit, and the imports it
   * left queued (only the process that queued an import runs it: nothing would start them now;
   * queued segmentations are resumed by the inference engine). A job whose owner still runs (the
   * app, while `lgms …` starts on its data folder) is left alone (process-alive.ts ownerGone).
   * Call once at start. Returns the number of jobs marked.
   */
  recoverInterrupted(): number {
    const rows = this.db
      .prepare(
        `SELECT id, owner_pid AS ownerPid, coalesce(started_at, created_at) AS since FROM jobs
         WHERE status = 'running' OR (status = 'queued' AND kind = 'import')`,
      )
      .all() as { id: number; ownerPid: number | null; since: string | null }[];
    const mark = this.db.prepare(
      `UPDATE jobs SET status = 'failed', error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`,
    );
    const gone = rows.filter((r) => ownerGone(r.ownerPid, r.since));
    this.db.transaction(() => gone.forEach((r) => mark.run(INTERRUPTED, r.id)))();
    return gone.length;
  }

  create<K extends JobKind>(kind: K, title: string, params: JobParams<K>): JobOf<K> {
    const row = this.db
      .prepare(`INSERT INTO jobs (kind, status, title, params, owner_pid) VALUES (?, 'queued', ?, ?, ?) RETURNING *`)
      .get(kind, title, JSON.stringify(params), process.pid) as JobRow;
    return this.publish(toJob(row)) as JobOf<K>;
  }

  /** A job known to be of `kind`; `not-found` when there is none, `invalid-input` when it is another kind. */
  getOf<K extends JobKind>(kind: K, id: number): JobOf<K> {
    const job = toJob(this.row(id));
    if (job.kind !== kind) throw new ServiceError('invalid-input', `job ${id} is not an ${kind} job`);
    return job as JobOf<K>;
  }

  markRunning(id: number, onCancel: () => void): Job {
    this.cancelHandlers.set(id, onCancel);
    this.db
      .prepare(
        `UPDATE jobs SET status = 'running', owner_pid = ?, started_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`,
      )
      .run(process.pid, id);
    return this.publish(toJob(this.row(id)));
  }

  /** Records progress; writes to the database at most twice a second, unless `force`. */
  progress<K extends JobKind>(_kind: K, id: number, progress: JobProgressOf<K>, force = false): void {
    const now = Date.now();
    if (!force && now - (this.lastWrite.get(id) ?? 0) < PROGRESS_WRITE_INTERVAL_MS) return;
    this.lastWrite.set(id, now);
    this.db.prepare('UPDATE jobs SET progress = ? WHERE id = ?').run(JSON.stringify(progress), id);
    this.publish(toJob(this.row(id)));
  }

  /**
   * Asks every job running in this process to stop, through the cancel each gave markRunning,
   * because the app quits (backend.ts close): from now on a job that ends cancelled is recorded
   * as failed with INTERRUPTED ("start it again to finish it"), as the next start records a job
   * left running — the reader did not cancel it.
   */
  stopAll(): void {
    this.stopping = true;
    for (const cancel of this.cancelHandlers.values()) cancel();
  }

  finish<K extends JobKind>(
    _kind: K,
    id: number,
    requested: Extract<JobStatus, 'done' | 'failed' | 'cancelled'>,
    outcome: { result?: JobResult<K>; error?: string; progress?: JobProgressOf<K> } = {},
  ): JobOf<K> {
    const interrupted = this.stopping && requested === 'cancelled';
    const status = interrupted ? 'failed' : requested;
    const error = interrupted ? INTERRUPTED : outcome.error;
    this.cancelHandlers.delete(id);
    this.lastWrite.delete(id);
    this.db
      .prepare(
        `UPDATE jobs SET status = ?, result = ?, error = ?, progress = coalesce(?, progress),
           finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?`,
      )
      .run(
        status,
        outcome.result === undefined ? null : JSON.stringify(outcome.result),
        error ?? null,
        outcome.progress ? JSON.stringify(outcome.progress) : null,
        id,
      );
    return this.publish(toJob(this.row(id))) as JobOf<K>;
  }

  async list(input: { kind?: JobKind; limit?: number } = {}): Promise<Job[]> {
    const limit = input.limit ?? 50;
    const rows = input.kind
      ? this.db.prepare('SELECT * FROM jobs WHERE kind = ? ORDER BY id DESC LIMIT ?').all(input.kind, limit)
      : this.db.prepare('SELECT * FROM jobs ORDER BY id DESC LIMIT ?').all(limit);
    return (rows as JobRow[]).map(toJob);
  }

  async get({ id }: { id: number }): Promise<Job> {
    return toJob(this.row(id));
  }

  async cancel({ id }: { id: number }): Promise<Job> {
    const job = toJob(this.row(id));
    if (job.status === 'queued') return this.finish(job.kind, id, 'cancelled') as Job;
    if (job.status !== 'running') throw new ServiceError('conflict', `job ${id} is already ${job.status}`);
    const handler = this.cancelHandlers.get(id);
    if (!handler) throw new ServiceError('conflict', `job ${id} is running in another process and cannot be cancelled from here`);
    handler();
    return job;
  }

  private row(id: number): JobRow {
    const row = this.db.prepare('SELECT * FROM jobs WHERE id = ?').get(id) as JobRow | undefined;
    if (!row) throw new ServiceError('not-found', `no job ${id}`);
    return row;
  }

  private publish(job: Job): Job {
    this.events.emit('onDidChangeJob', job);
    return job;
  }
}
