// 0230: "Pull the team's labels" runs as a job of its own kind, 'pull' (JOB_KINDS,
// src/shared/contract/jobs.ts). The kind's CHECK cannot be altered in place, so `jobs` is rebuilt
// (SQLite's table-rebuild procedure, https://sqlite.org/lang_altertable.html#otheralter) with the
// same columns, rows and ids; `import_items` keeps referring to it by name.
import type { Migration } from './types';

const COLUMNS = 'id, kind, status, title, params, progress, result, error, created_at, started_at, finished_at';

export const migration0230: Migration = {
  version: 230,
  name: 'pull-jobs',
  up(db) {
    db.exec(`
      CREATE TABLE jobs_new (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('import', 'inference', 'training', 'export', 'pull')),
        status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        title       TEXT NOT NULL DEFAULT '',
        params      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
        progress    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(progress)),
        result      TEXT CHECK (result IS NULL OR json_valid(result)),
        error       TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at  TEXT,
        finished_at TEXT
      ) STRICT;
      INSERT INTO jobs_new (${COLUMNS}) SELECT ${COLUMNS} FROM jobs;
      DROP TABLE jobs;
      ALTER TABLE jobs_new RENAME TO jobs;
      CREATE INDEX jobs_status ON jobs (status, kind);
    `);
  },
};
