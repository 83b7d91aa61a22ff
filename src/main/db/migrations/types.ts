import type { Database } from 'better-sqlite3';

/** One numbered schema step; `version` is what PRAGMA user_version holds after it. */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}
