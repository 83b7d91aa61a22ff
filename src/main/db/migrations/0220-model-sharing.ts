// 0220: model versions shared between workstations through a shared folder (issue 26).
// - `tasks.uid`: a task's identity across workstations (ids are per database). The starter's task
//   gets the same fixed UID everywhere, every other task a random one; a task created later gets
//   one from the trigger, so no writer of `tasks` has to know.
// - `model_version_shares`: the content hash (SHA-256 over the version's files, models/content-hash.ts)
//   of a version this workstation published or adopted, and for an adopted one whether its gate
//   (candidate vs the local active version on the local frozen validation labels) is still pending:
//   promotion is refused until it has finished.
// - `training_runs.adopted_from`: the run row that records an adopted version's gate (its frozen
//   validation labels, its parent = the local active version) says where the version came from
//   ({"contentHash","publishedBy","workstation","publishedAt"}); NULL for a fine-tune.
import type { Migration } from './types';

/** The starter task's UID on every workstation (32 hex digits, as the trigger makes them). */
export const STARTER_TASK_UID = '1c65e0a3b7d94f2e8a5b6c7d8e9f0a11';

export const migration0220: Migration = {
  version: 220,
  name: 'model-sharing',
  up(db) {
    db.exec(`
      ALTER TABLE tasks ADD COLUMN uid TEXT CHECK (uid IS NULL OR (length(uid) = 32 AND uid NOT GLOB '*[^0-9a-f]*'));
      UPDATE tasks SET uid = CASE WHEN id = 1 THEN '${STARTER_TASK_UID}' ELSE lower(hex(randomblob(16))) END;
      CREATE UNIQUE INDEX tasks_uid ON tasks (uid);
      CREATE TRIGGER tasks_uid_on_insert AFTER INSERT ON tasks WHEN NEW.uid IS NULL
      BEGIN
        UPDATE tasks SET uid = lower(hex(randomblob(16))) WHERE id = NEW.id;
      END;

      CREATE TABLE model_version_shares (
        model_version_id INTEGER PRIMARY KEY REFERENCES model_versions (id) ON DELETE CASCADE,
        content_hash     TEXT NOT NULL CHECK (length(content_hash) = 64 AND content_hash NOT GLOB '*[^0-9a-f]*'),
        adopted          INTEGER NOT NULL CHECK (adopted IN (0, 1)),
        -- 1 from an adoption until its gate has finished (with a result or an error).
        gate_pending     INTEGER NOT NULL DEFAULT 0 CHECK (gate_pending IN (0, 1) AND (gate_pending = 0 OR adopted = 1)),
        recorded_at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX model_version_shares_hash ON model_version_shares (content_hash);

      ALTER TABLE training_runs ADD COLUMN adopted_from TEXT
        CHECK (adopted_from IS NULL OR (json_valid(adopted_from) AND json_extract(adopted_from, '$.contentHash') IS NOT NULL));
    `);
  },
};
