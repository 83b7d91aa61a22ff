import BetterSqlite3 from 'better-sqlite3';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../../tests/helpers/temp';
import { openDatabase, schemaVersion } from '../database';
import { migration0010 } from './0010-settings';

describe('migration 0010 settings-and-audit-log', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('creates settings and audit_log on an empty database and sets user_version 10', () => {
    const db = openDatabase(path.join(tmp.dir, 'a.sqlite'), { migrations: [migration0010] });
    expect(schemaVersion(db)).toBe(10);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type='table' ORDER BY name").pluck().all();
    expect(tables).toEqual(['audit_log', 'settings']);
    // settings.value must be JSON: the CHECK constraint is part of the migration.
    expect(() => db.prepare("INSERT INTO settings VALUES ('x', 'not json')").run()).toThrow(/CHECK/);
    db.prepare('INSERT INTO audit_log (actor, action) VALUES (?, ?)').run('tester', 'opened');
    expect(db.prepare('SELECT at FROM audit_log').pluck().get()).toMatch(/^\d{4}-\d\d-\d\dT/);
    db.close();
  });
});

describe('openDatabase', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('uses WAL and foreign keys', () => {
    const db = openDatabase(path.join(tmp.dir, 'b.sqlite'));
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(db.pragma('foreign_keys', { simple: true })).toBe(1);
    db.close();
  });

  it('refuses a database from a newer version and leaves it untouched', () => {
    const file = path.join(tmp.dir, 'future.sqlite');
    const raw = new BetterSqlite3(file);
    raw.exec('CREATE TABLE future_thing (x); PRAGMA user_version = 99999;');
    raw.close();
    expect(() => openDatabase(file)).toThrow(/newer version of LGMS Workstation.*99999/);
    const again = new BetterSqlite3(file);
    expect(again.pragma('user_version', { simple: true })).toBe(99999);
    expect(again.prepare("SELECT count(*) FROM sqlite_master WHERE name='settings'").pluck().get()).toBe(0);
    again.close();
  });

  it('rolls back every pending migration when one fails', () => {
    const file = path.join(tmp.dir, 'c.sqlite');
    const broken = {
      version: 20,
      name: 'broken',
      up: () => {
        throw new Error('boom');
      },
    };
    expect(() => openDatabase(file, { migrations: [migration0010, broken] })).toThrow('boom');
    const raw = new BetterSqlite3(file);
    expect(raw.pragma('user_version', { simple: true })).toBe(0);
    expect(raw.prepare("SELECT count(*) FROM sqlite_master WHERE name='settings'").pluck().get()).toBe(0);
    raw.close();
  });
});
