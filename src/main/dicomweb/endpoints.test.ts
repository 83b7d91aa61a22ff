import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../db/database';
import { tempDir } from '../../../tests/helpers/temp';
import { EndpointStore, type SecretBox } from './endpoints';

describe('EndpointStore', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const db = openDatabase(path.join(tmp.dir, 'lgms.sqlite'));
  // A box that visibly transforms, to prove the stored value is the sealed one.
  const box: SecretBox = {
    protection: 'os',
    seal: (s) => `sealed:${[...s].reverse().join('')}`,
    open: (s) => [...s.slice(7)].reverse().join(''),
  };
  const store = new EndpointStore(db, box);

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
});
