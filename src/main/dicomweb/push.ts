// Labels travel as SEG through the PACS (issue 26): a task set to push sends every submitted label
// (accepted, edited, drawn) of a series as one multi-segment SEG with the task's names and codes,
// the reader as Content Creator's Name and the model version as algorithm where a model made it
// (series-seg.ts). The push is a row of `pacs_pushes` (migration 0210) written in the decision's
// own transaction, so no crash or restart loses one; this queue sends due rows one at a time and
// retries a failure with exponential backoff, keeping the reason in words for the Tasks view.
import type { PacsPush } from '../../shared/contract/dicomweb';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { appendAudit } from '../db/audit';
import { seriesById } from '../export/queries';
import { NoLabelsError, seriesToSeg, type SeriesSegDeps } from '../export/series-seg';
import { newUid } from '../export/write-part10';
import { DicomwebClient } from './client';
import type { EndpointStore } from './endpoints';

/** First retry after this long; each further failure doubles it, up to {@link MAX_BACKOFF_MS}. */
export const FIRST_BACKOFF_MS = 30_000;
export const MAX_BACKOFF_MS = 60 * 60_000;

/** The wait before attempt `attempts + 1` after `attempts` failed ones (ms): 30 s, 1 min, 2 min … 1 h. */
export function backoffMs(attempts: number): number {
  return Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** Math.max(0, attempts - 1));
}

/**
 * Queues the series' current labels of the task for the task's PACS, inside the caller's
 * transaction (the review decision's). Does nothing when the task pushes nowhere. A series still
 * waiting keeps its one row, due now, with new UIDs (its content changed). Returns the row id or null.
 */
export function enqueuePush(db: Database, taskId: number, seriesId: number): number | null {
  const endpoint = db.prepare('SELECT pacs_push_endpoint FROM tasks WHERE id = ?').pluck().get(taskId) as number | null;
  if (!endpoint) return null;
  const now = new Date().toISOString();
  return db
    .prepare(
      `INSERT INTO pacs_pushes (task_id, series_id, endpoint_id, sop_instance_uid, series_instance_uid, queued_at, next_attempt_at)
       VALUES (@taskId, @seriesId, @endpoint, @sop, @series, @now, @now)
       ON CONFLICT (task_id, series_id) WHERE state != 'sent' DO UPDATE SET
         endpoint_id = excluded.endpoint_id, sop_instance_uid = excluded.sop_instance_uid,
         series_instance_uid = excluded.series_instance_uid, queued_at = excluded.queued_at,
         next_attempt_at = excluded.next_attempt_at
       RETURNING id`,
    )
    .pluck()
    .get({ taskId, seriesId, endpoint, sop: newUid(), series: newUid(), now }) as number;
}

interface PushRow {
  id: number;
  taskId: number;
  seriesId: number;
  endpointId: number;
  state: PacsPush['state'];
  attempts: number;
  lastError: string | null;
  queuedAt: string;
  nextAttemptAt: string;
  sentAt: string | null;
  sopInstanceUid: string;
  seriesInstanceUid: string;
  seriesDescription: string;
}

const ROWS = `
  SELECT p.id, p.task_id AS taskId, p.series_id AS seriesId, p.endpoint_id AS endpointId, p.state, p.attempts,
         p.last_error AS lastError, p.queued_at AS queuedAt, p.next_attempt_at AS nextAttemptAt, p.sent_at AS sentAt,
         p.sop_instance_uid AS sopInstanceUid, p.series_instance_uid AS seriesInstanceUid,
         coalesce(nullif(s.description, ''), s.modality, '') AS seriesDescription
  FROM pacs_pushes p JOIN series s ON s.id = p.series_id`;

export interface PushQueueOptions extends SeriesSegDeps {
  endpoints: EndpointStore;
  /** Who the audit row names (the reader's identity). */
  identity: () => string;
  /** Called after each attempt (for the UI's refresh); optional. */
  onChange?: (push: PacsPush) => void;
}

/** Sends due pushes one at a time; one instance per backend. Call `start()` once, `close()` at the end. */
export class PushQueue {
  private draining: Promise<void> | null = null;
  private again = false;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(private readonly o: PushQueueOptions) {}

  /** Sends what an earlier process left waiting that is due, and schedules the rest. */
  start(): void {
    void this.drain();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** The pushes of a task (or all), newest first. */
  list(taskId?: number, limit = 200): PacsPush[] {
    const rows = (
      taskId === undefined
        ? this.o.db.prepare(`${ROWS} ORDER BY p.id DESC LIMIT ?`).all(limit)
        : this.o.db.prepare(`${ROWS} WHERE p.task_id = ? ORDER BY p.id DESC LIMIT ?`).all(taskId, limit)
    ) as PushRow[];
    return rows.map(toPush);
  }

  /** Makes every unsent push (of a task or all) due now and sends them; resolves when tried. */
  async retry(taskId?: number): Promise<number> {
    const now = new Date().toISOString();
    const tried = (
      taskId === undefined
        ? this.o.db.prepare("UPDATE pacs_pushes SET next_attempt_at = ? WHERE state != 'sent'").run(now)
        : this.o.db.prepare("UPDATE pacs_pushes SET next_attempt_at = ? WHERE state != 'sent' AND task_id = ?").run(now, taskId)
    ).changes;
    await this.drain();
    return tried;
  }

  /** Sends every due push; a call while one runs makes it go round once more. Never throws. */
  drain(): Promise<void> {
    if (this.closed) return Promise.resolve();
    if (this.draining) {
      this.again = true;
      return this.draining;
    }
    this.draining = (async () => {
      do {
        this.again = false;
        for (;;) {
          if (this.closed) return;
          const due = this.o.db
            .prepare(`${ROWS} WHERE p.state != 'sent' AND p.next_attempt_at <= ? ORDER BY p.next_attempt_at, p.id LIMIT 1`)
            .get(new Date().toISOString()) as PushRow | undefined;
          if (!due) break;
          await this.attempt(due);
        }
      } while (this.again && !this.closed);
    })()
      .catch((e: unknown) => console.error(`[pacs] ${(e as Error).message}`))
      .finally(() => {
        this.draining = null;
        this.schedule();
      });
    return this.draining;
  }

  private schedule(): void {
    if (this.closed) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const next = this.o.db.prepare("SELECT min(next_attempt_at) FROM pacs_pushes WHERE state != 'sent'").pluck().get() as
      string | null;
    if (next === null) return;
    const wait = Math.max(0, Math.min(Date.parse(next) - Date.now(), MAX_BACKOFF_MS));
    this.timer = setTimeout(() => void this.drain(), wait);
    this.timer.unref();
  }

  /** One attempt: build the SEG from the current labels with the row's UIDs, store it, record the outcome. */
  private async attempt(row: PushRow): Promise<void> {
    const queuedAt = row.queuedAt;
    let outcome: { sent: true; modelVersionId: number | null } | { sent: false; reason: string };
    try {
      outcome = await this.send(row);
    } catch (e) {
      outcome = { sent: false, reason: reasonOf(e) };
    }
    if (this.closed) return;
    const db = this.o.db;
    const now = new Date();
    db.transaction(() => {
      // A decision made while this attempt ran refreshed the row (new content): leave it due.
      const current = db.prepare('SELECT queued_at FROM pacs_pushes WHERE id = ?').pluck().get(row.id) as string | undefined;
      if (current !== queuedAt) return;
      if (outcome.sent) {
        db.prepare(
          "UPDATE pacs_pushes SET state = 'sent', sent_at = ?, attempts = attempts + 1, last_error = NULL WHERE id = ?",
        ).run(now.toISOString(), row.id);
        appendAudit(db, {
          actor: this.o.identity(),
          action: 'send.seg',
          subject: row.seriesInstanceUid,
          detail: { push: row.id, taskId: row.taskId, endpointId: row.endpointId, sopInstanceUid: row.sopInstanceUid },
          seriesId: row.seriesId,
          modelVersionId: outcome.modelVersionId,
          taskId: row.taskId,
        });
      } else {
        db.prepare(
          "UPDATE pacs_pushes SET state = 'failed', attempts = attempts + 1, last_error = ?, next_attempt_at = ? WHERE id = ?",
        ).run(outcome.reason, new Date(now.getTime() + backoffMs(row.attempts + 1)).toISOString(), row.id);
      }
    })();
    const after = db.prepare(`${ROWS} WHERE p.id = ?`).get(row.id) as PushRow | undefined;
    if (after) this.o.onChange?.(toPush(after));
  }

  private async send(row: PushRow): Promise<{ sent: true; modelVersionId: number | null }> {
    const series = seriesById(this.o.db, row.seriesId);
    if (!series) throw new ServiceError('not-found', 'the series is no longer on this workstation');
    let connection;
    try {
      connection = this.o.endpoints.connection(row.endpointId);
    } catch (e) {
      if (e instanceof ServiceError && /no PACS endpoint/.test(e.message))
        throw new ServiceError(
          'not-found',
          'the PACS chosen for this task was removed in Settings → PACS: choose another in Tasks',
        );
      throw e;
    }
    const r = await seriesToSeg(this.o, series, {
      fallBackToPredictions: false,
      taskId: row.taskId,
      uids: { sopInstanceUid: row.sopInstanceUid, seriesInstanceUid: row.seriesInstanceUid },
    });
    await new DicomwebClient(connection).store([...r.secondaryCaptures.map((sc) => sc.bytes), r.seg.bytes]);
    return { sent: true, modelVersionId: r.modelVersionIds[0] ?? null };
  }
}

function toPush(r: PushRow): PacsPush {
  return {
    id: r.id,
    taskId: r.taskId,
    seriesId: r.seriesId,
    seriesDescription: r.seriesDescription,
    endpointId: r.endpointId,
    state: r.state,
    attempts: r.attempts,
    lastError: r.state === 'failed' ? r.lastError : null,
    queuedAt: r.queuedAt,
    nextAttemptAt: r.state === 'sent' ? null : r.nextAttemptAt,
    sentAt: r.sentAt,
    sopInstanceUid: r.sopInstanceUid,
  };
}

/** An attempt's failure in words: the client's (already a radiologist's words) or a plain one. */
function reasonOf(e: unknown): string {
  if (e instanceof ServiceError) return e.message;
  if (e instanceof NoLabelsError) return 'the series has no labels of this task any more';
  return `the SEG could not be written: ${(e as Error).message}`;
}
