// 0010: settings and the audit log, the first tables every later feature writes to.
import type { Migration } from './types';

export const migration0010: Migration = {
  version: 10,
  name: 'settings-and-audit-log',
  up(db) {
    db.exec(`
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL CHECK (json_valid(value))
      ) STRICT;
      CREATE TABLE audit_log (
        id      INTEGER PRIMARY KEY,
        at      TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        actor   TEXT NOT NULL,
        action  TEXT NOT NULL,
        subject TEXT,
        detail  TEXT CHECK (detail IS NULL OR json_valid(detail))
      ) STRICT;
      CREATE INDEX audit_log_at ON audit_log (at);
    `);
  },
};
