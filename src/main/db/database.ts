// Opens the study database: WAL, foreign keys, and all pending migrations in one transaction.
import BetterSqlite3, { type Database } from 'better-sqlite3';
import { ServiceError } from '../../shared/result';
import { MIGRATIONS, type Migration } from './migrations';

export type { Database } from 'better-sqlite3';

export interface OpenOptions {
  /** Path of a better_sqlite3.node built for this runtime (Electron's ABI differs from Node's). */
  nativeBinding?: string;
  migrations?: readonly Migration[];
}

export function openDatabase(file: string, options: OpenOptions = {}): Database {
  const db = new BetterSqlite3(file, options.nativeBinding ? { nativeBinding: options.nativeBinding } : {});
  try {
    db.pragma('journal_mode = WAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 5000');
    // NORMAL is durable against process crashes in WAL mode; only a power loss can drop the last commits.
    db.pragma('synchronous = NORMAL');
    migrate(db, options.migrations ?? MIGRATIONS);
    return db;
  } catch (e) {
    db.close();
    throw e;
  }
}

/** A read-only connection to an existing, migrated database (an import's reader threads). */
export function openDatabaseReadOnly(file: string, options: Pick<OpenOptions, 'nativeBinding'> = {}): Database {
  const db = new BetterSqlite3(file, {
    readonly: true,
    fileMustExist: true,
    ...(options.nativeBinding ? { nativeBinding: options.nativeBinding } : {}),
  });
  db.pragma('busy_timeout = 5000');
  return db;
}

export function schemaVersion(db: Database): number {
  return db.pragma('user_version', { simple: true }) as number;
}

export function migrate(db: Database, migrations: readonly Migration[]): void {
  const latest = migrations.at(-1)?.version ?? 0;
  const current = schemaVersion(db);
  if (current > latest) {
    throw new ServiceError(
      'conflict',
      `The database was written by a newer version of LGMS Workstation (schema ${current}; this version knows up to ${latest}). ` +
        'It was left untouched: update the app, or choose another data folder.',
    );
  }
  const pending = migrations.filter((m) => m.version > current);
  if (pending.length === 0) return;
  // SQLite's table-rebuild procedure (https://sqlite.org/lang_altertable.html#otheralter):
  // foreign keys off while the migrations run (a DROP TABLE would otherwise cascade into the
  // rows that reference it), then every reference checked before the transaction commits.
  // The pragma is a no-op inside a transaction, so it is set around it.
  const enforced = db.pragma('foreign_keys', { simple: true }) === 1;
  if (enforced) db.pragma('foreign_keys = OFF');
  try {
    db.transaction(() => {
      for (const m of pending) {
        m.up(db);
        db.pragma(`user_version = ${m.version}`);
      }
      const broken = db.pragma('foreign_key_check') as { table: string; parent: string }[];
      if (broken.length > 0) {
        const first = broken[0]!;
        throw new Error(`migration left ${broken.length} broken reference(s), e.g. ${first.table} → ${first.parent}`);
      }
    }).immediate();
  } finally {
    if (enforced) db.pragma('foreign_keys = ON');
  }
}
