// 0070: the review loop's state per series (src/shared/review/state.ts): which queue a series
// is in, what orders it there, and what a correction carries (reason, assignee, note).
// Labels, splits, exclusions and audit rows are 0060's; this table only says where each series
// stands, so a crash between two decisions loses nothing that was decided.
import type { Migration } from './types';

export const migration0070: Migration = {
  version: 70,
  name: 'review-queues',
  up(db) {
    db.exec(`
      CREATE TABLE review_items (
        series_id        INTEGER PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
        state            TEXT NOT NULL CHECK (state IN ('to-review', 'in-correction', 'labelled', 'outside-domain')),
        -- The model version whose prediction is reviewed; NULL while a requested segmentation runs
        -- or for a series never segmented.
        model_version_id INTEGER REFERENCES model_versions (id),
        -- Series score when the prediction arrived: mean binary entropy (0 = certain), for ordering.
        uncertainty      REAL,
        -- Fixed per item, so the "random" order is stable between two looks at the queue.
        random_key       INTEGER NOT NULL,
        entered_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        -- A skipped item goes after every unskipped one, oldest skip first.
        skipped_at       TEXT,
        -- When the reader last opened it: the review time of the next decision runs from here.
        opened_at        TEXT,
        reject_reason    TEXT NOT NULL DEFAULT '',
        assignee         TEXT NOT NULL DEFAULT '',
        note             TEXT NOT NULL DEFAULT '',
        -- Why the active model is not for this series (outside-domain only).
        domain_reason    TEXT NOT NULL DEFAULT '',
        updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX review_items_uncertainty ON review_items (state, uncertainty DESC);
      CREATE INDEX review_items_entered ON review_items (state, entered_at);
      CREATE INDEX review_items_random ON review_items (state, random_key);
    `);
  },
};
