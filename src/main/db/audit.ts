// The audit log's one writer. Every act a reader or a department may be asked about later — a
// review decision, an export, a SEG sent to a PACS — is one append-only row of `audit_log`
// (migrations 0010 and 0060), written here so that each feature records it the same way.
import type { Database } from './database';

/** One row of the audit log. */
export interface AuditEntry {
  /** When (ISO 8601, UTC, with milliseconds); now when left out. */
  at?: string;
  /** Who: the user name from Settings, or the operating system's user. */
  actor: string;
  /** What, as `<feature>.<act>`: `review.accept`, `export.seg`, `send.seg` … */
  action: string;
  /** What it was done to (a series UID, or `series:<uid>` in review rows), when anything. */
  subject: string | null;
  /** The act's particulars, stored as JSON. */
  detail: unknown;
  seriesId: number | null;
  modelVersionId: number | null;
  /** The task a review decision was about (migration 0180); null or left out for rows without one. */
  taskId?: number | null;
}

/** Appends one row to `audit_log`; inside the caller's transaction when there is one. */
export function appendAudit(db: Database, e: AuditEntry): void {
  db.prepare(
    `INSERT INTO audit_log (at, actor, action, subject, detail, series_id, model_version_id, task_id)
     VALUES (COALESCE(?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')), ?, ?, ?, ?, ?, ?, ?)`,
  ).run(e.at ?? null, e.actor, e.action, e.subject, JSON.stringify(e.detail), e.seriesId, e.modelVersionId, e.taskId ?? null);
}
