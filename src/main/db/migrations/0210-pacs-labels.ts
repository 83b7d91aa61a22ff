// 0210: labels travel as SEG through the PACS (issue 26).
// - `tasks.pacs_push_endpoint`: the PACS endpoint (dicomweb.endpoints id, kept in settings) every
//   submitted label of the task is sent to as a DICOM SEG; NULL: the task sends nothing.
// - `pacs_pushes`: one row per series and task to send, written in the decision's transaction so
//   a crash never loses one. `state` pending (not tried yet, or tried again soon), failed (the last
//   attempt failed, `last_error` says why in words; retried at `next_attempt_at`), sent. The SEG's
//   UIDs are fixed when the row is written, so an attempt repeated after a crash stores the same
//   SOP instance again rather than a second copy. At most one unsent row per series and task: a
//   new decision on a series that is still waiting refreshes that row.
// - `pacs_pulls`: SEGs (SOP Instance UID) a task's pulls looked at: `imported` (taken as its
//   labels: not taken again) or `other-task` (none of its codes were the task's, `codes` being the
//   task's codes then: not retrieved again while they stay the same), so a pull on a PACS full of
//   other tasks' SEGs downloads each of them once, not at every pull.
import type { Migration } from './types';

export const migration0210: Migration = {
  version: 210,
  name: 'pacs-labels',
  up(db) {
    db.exec(`
      ALTER TABLE tasks ADD COLUMN pacs_push_endpoint INTEGER CHECK (pacs_push_endpoint IS NULL OR pacs_push_endpoint > 0);

      CREATE TABLE pacs_pushes (
        id                  INTEGER PRIMARY KEY,
        task_id             INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        series_id           INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        endpoint_id         INTEGER NOT NULL CHECK (endpoint_id > 0),
        state               TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'failed', 'sent')),
        sop_instance_uid    TEXT NOT NULL,
        series_instance_uid TEXT NOT NULL,
        attempts            INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
        last_error          TEXT,
        queued_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        next_attempt_at     TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        sent_at             TEXT,
        CHECK (state != 'sent' OR sent_at IS NOT NULL),
        CHECK (state != 'failed' OR last_error IS NOT NULL)
      ) STRICT;
      CREATE UNIQUE INDEX pacs_pushes_unsent ON pacs_pushes (task_id, series_id) WHERE state != 'sent';
      CREATE INDEX pacs_pushes_due ON pacs_pushes (next_attempt_at) WHERE state != 'sent';
      CREATE UNIQUE INDEX pacs_pushes_sop ON pacs_pushes (sop_instance_uid);

      CREATE TABLE pacs_pulls (
        task_id          INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        sop_instance_uid TEXT NOT NULL,
        series_id        INTEGER REFERENCES series (id) ON DELETE SET NULL,
        author           TEXT NOT NULL DEFAULT '',
        outcome          TEXT NOT NULL DEFAULT 'imported' CHECK (outcome IN ('imported', 'other-task')),
        codes            TEXT NOT NULL DEFAULT '',
        pulled_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (task_id, sop_instance_uid)
      ) STRICT;
    `);
  },
};
