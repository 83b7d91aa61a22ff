// 0190: a DICOM SEG found on import becomes labels of a task (issue 22). A label set now says
// which task it is for, what became of it and why:
// - pending:       its source series is not imported yet; tried again after every import;
// - needs-mapping: the reader must choose labels for some segments (or confirm replacing labels);
// - attached:      its segments are labels of `series_id` under `task_id`;
// - failed:        it cannot be placed (the reason in `detail`);
// - kept:          imported before this migration; attached only when the reader asks.
// `detail` is the last outcome as JSON (the proposed mapping, conflicts, the reason).
import type { Migration } from './types';

export const migration0190: Migration = {
  version: 190,
  name: 'label-set-tasks',
  up(db) {
    db.exec(`
      ALTER TABLE label_sets ADD COLUMN task_id INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id);
      ALTER TABLE label_sets ADD COLUMN status TEXT NOT NULL DEFAULT 'kept'
        CHECK (status IN ('kept', 'pending', 'needs-mapping', 'attached', 'failed'));
      ALTER TABLE label_sets ADD COLUMN series_id INTEGER REFERENCES series (id) ON DELETE SET NULL;
      ALTER TABLE label_sets ADD COLUMN detail TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(detail));
      ALTER TABLE label_sets ADD COLUMN job_id INTEGER;
      CREATE INDEX label_sets_pending ON label_sets (status) WHERE status = 'pending';
    `);
  },
};
