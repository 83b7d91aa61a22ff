import { copyFileSync, mkdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database';
import { tempDir } from '../../../tests/helpers/temp';
import { EndpointStore, FILE_ONLY, type SecretBox } from './endpoints';

/** Every byte of the database as it lies on disk (main file and WAL), as latin1 text to search in. */
function databaseBytes(file: string): string {
  return [file, `${file}-wal`]
    .map((f) => {
      try {
        return readFileSync(f).toString('latin1');
      } catch {
        return '';
      }
    })
    .join('');
}

describe('EndpointStore', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const dbFile = path.join(tmp.dir, 'lgms.sqlite');
  const db = openDatabase(dbFile);
  // A box that visibly transforms, to prove the stored value is the sealed one.
  const box: SecretBox = {
    protection: 'os',
    seal: (s) => `sealed:${[...s].reverse().join('')}`,
    open: (s) => [...s.slice(7)].reverse().join(''),
  };
  const store = new EndpointStore(db, box, tmp.dir);

  it('stores the secret sealed, never lists it, and opens it for the client only', () => {
    const e = store.save({ name: 'PACS', url: 'http://pacs/dicom-web', authKind: 'bearer', username: '', secret: 'tok3n' });
    expect(e).toEqual({
      id: 1,
      name: 'PACS',
      url: 'http://pacs/dicom-web',
      authKind: 'bearer',
      username: '',
      hasSecret: true,
      secretProtection: 'os',
    });
    const raw = db.prepare("SELECT value FROM settings WHERE key = 'dicomweb.endpoints'").pluck().get() as string;
    expect(raw).not.toContain('tok3n');
    expect(JSON.stringify(store.list())).not.toContain('tok3n');
    expect(store.connection(1).auth).toEqual({ kind: 'bearer', token: 'tok3n' });
  });

  it('keeps the secret on an update without one, and refuses basic auth without a password', () => {
    store.save({ id: 1, name: 'Renamed', url: 'http://pacs/dicom-web', authKind: 'bearer', username: '' });
    expect(store.connection(1)).toMatchObject({ name: 'Renamed', auth: { token: 'tok3n' } });
    expect(() => store.save({ name: 'B', url: 'http://b/', authKind: 'basic', username: 'u' })).toThrow(/password/);
    expect(store.remove(1)).toBe(true);
    expect(store.list()).toEqual([]);
    expect(() => store.connection(1)).toThrow(/no PACS endpoint/);
  });

  it('keeps a headless password out of the database: in a secrets file only the user can read', () => {
    const dir = path.join(tmp.dir, 'headless');
    const file = path.join(dir, 'lgms.sqlite');
    mkdirSync(dir);
    const hdb = openDatabase(file);
    const headless = new EndpointStore(hdb, FILE_ONLY, dir);
    headless.save({ name: 'PACS', url: 'http://pacs/', authKind: 'basic', username: 'ris', secret: 'Corr3ct-Horse-Battery' });
    hdb.pragma('wal_checkpoint(TRUNCATE)');
    expect(databaseBytes(file)).not.toContain('Corr3ct-Horse-Battery');
    expect(statSync(path.join(dir, 'secrets.json')).mode & 0o777).toBe(0o600);
    expect(headless.connection(1).auth).toEqual({ kind: 'basic', username: 'ris', password: 'Corr3ct-Horse-Battery' });
    // A copied database carries no password: opened elsewhere, the endpoint asks for it again.
    const copy = path.join(tmp.dir, 'copy');
    mkdirSync(copy);
    copyFileSync(file, path.join(copy, 'lgms.sqlite'));
    const cdb = openDatabase(path.join(copy, 'lgms.sqlite'));
    expect(() => new EndpointStore(cdb, FILE_ONLY, copy).connection(1)).toThrow(/enter it again/);
    cdb.close();
    hdb.close();
  });

  it("moves an earlier version's secret out of the database, leaving no copy in its file", () => {
    const dir = path.join(tmp.dir, 'upgrade');
    const file = path.join(dir, 'lgms.sqlite');
    mkdirSync(dir);
    const odb = openDatabase(file);
    // How the previous version stored an endpoint: the secret, as the box sealed it, in the row.
    const old = [
      {
        id: 3,
        name: 'Old',
        url: 'http://old/',
        authKind: 'bearer',
        username: '',
        sealed: 'T0ken-From-Before-Upgrade',
        protection: 'file',
      },
    ];
    odb.prepare("INSERT INTO settings (key, value) VALUES ('dicomweb.endpoints', ?)").run(JSON.stringify(old));
    odb.pragma('wal_checkpoint(TRUNCATE)');
    expect(databaseBytes(file)).toContain('T0ken-From-Before-Upgrade');
    const upgraded = new EndpointStore(odb, FILE_ONLY, dir);
    expect(databaseBytes(file)).not.toContain('T0ken-From-Before-Upgrade');
    expect(upgraded.list()[0]).toMatchObject({ id: 3, hasSecret: true });
    expect(upgraded.connection(3).auth).toEqual({ kind: 'bearer', token: 'T0ken-From-Before-Upgrade' });
    expect(upgraded.moveSecretsOut()).toBe(0); // done once
    odb.close();
  });
});
