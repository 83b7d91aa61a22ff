// 0180: drafts and review items per (series, task) (issue 22). 0130 named the task on every row
// but kept one draft and one review item per series; a reader may draw the thyroid task and the
// starter's lesion on the same series, each with its own draft, review state and decision.
// - drafts: primary key (series_id, task_id); draft_slices gain task_id and reference it.
// - review_items: primary key (series_id, task_id); each task's queue is its own.
// - audit_log names the task of a review decision (NULL for rows without one).
// - labels keep the edit Dice per label of an edited prediction (JSON {value: Dice}); NULL else.
// - model_version_training: a training run's gate may have no parent (a task's first model) —
//   already nullable since 0130; nothing to do here.
// Tables are rebuilt by SQLite's procedure (migrations run with foreign keys off, then checked).
import type { Migration } from './types';

export const migration0180: Migration = {
  version: 180,
  name: 'task-drafts-review',
  up(db) {
    db.exec(`
      CREATE TABLE drafts_new (
        series_id  INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        task_id    INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id) ON DELETE CASCADE,
        revision   INTEGER NOT NULL DEFAULT 0,
        history    TEXT CHECK (history IS NULL OR json_valid(history)),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (series_id, task_id)
      ) STRICT;
      INSERT INTO drafts_new (series_id, task_id, revision, history, created_at, updated_at)
        SELECT series_id, task_id, revision, history, created_at, updated_at FROM drafts;

      CREATE TABLE draft_slices_new (
        series_id         INTEGER NOT NULL,
        task_id           INTEGER NOT NULL DEFAULT 1,
        image_id          INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        labels            BLOB NOT NULL,
        foreground_pixels INTEGER NOT NULL CHECK (foreground_pixels > 0),
        PRIMARY KEY (series_id, task_id, image_id),
        FOREIGN KEY (series_id, task_id) REFERENCES drafts (series_id, task_id) ON DELETE CASCADE
      ) STRICT, WITHOUT ROWID;
      INSERT INTO draft_slices_new (series_id, task_id, image_id, labels, foreground_pixels)
        SELECT s.series_id, d.task_id, s.image_id, s.labels, s.foreground_pixels FROM draft_slices s JOIN drafts d ON d.series_id = s.series_id;
      DROP TABLE draft_slices;
      DROP TABLE drafts;
      ALTER TABLE drafts_new RENAME TO drafts;
      ALTER TABLE draft_slices_new RENAME TO draft_slices;
      CREATE INDEX draft_slices_image ON draft_slices (image_id);

      CREATE TABLE review_items_new (
        series_id        INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        task_id          INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id) ON DELETE CASCADE,
        state            TEXT NOT NULL CHECK (state IN ('to-review', 'in-correction', 'labelled', 'outside-domain')),
        model_version_id INTEGER REFERENCES model_versions (id),
        uncertainty      REAL,
        -- 0150: the share of the series' slices unlike the model's training images.
        unlike_share     REAL CHECK (unlike_share IS NULL OR unlike_share BETWEEN 0 AND 1),
        random_key       INTEGER NOT NULL,
        entered_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        skipped_at       TEXT,
        opened_at        TEXT,
        reject_reason    TEXT NOT NULL DEFAULT '',
        assignee         TEXT NOT NULL DEFAULT '',
        note             TEXT NOT NULL DEFAULT '',
        domain_reason    TEXT NOT NULL DEFAULT '',
        updated_at       TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        PRIMARY KEY (series_id, task_id)
      ) STRICT;
      INSERT INTO review_items_new (series_id, task_id, state, model_version_id, uncertainty, unlike_share, random_key, entered_at, skipped_at, opened_at,
          reject_reason, assignee, note, domain_reason, updated_at)
        SELECT series_id, task_id, state, model_version_id, uncertainty, unlike_share, random_key, entered_at, skipped_at, opened_at,
          reject_reason, assignee, note, domain_reason, updated_at FROM review_items;
      DROP TABLE review_items;
      ALTER TABLE review_items_new RENAME TO review_items;
      CREATE INDEX review_items_uncertainty ON review_items (task_id, state, uncertainty DESC);
      CREATE INDEX review_items_entered ON review_items (task_id, state, entered_at);
      CREATE INDEX review_items_random ON review_items (task_id, state, random_key);

      ALTER TABLE audit_log ADD COLUMN task_id INTEGER REFERENCES tasks (id) ON DELETE SET NULL;
      ALTER TABLE labels ADD COLUMN edit_dice_by_label TEXT CHECK (edit_dice_by_label IS NULL OR json_valid(edit_dice_by_label));
    `);
  },
};
