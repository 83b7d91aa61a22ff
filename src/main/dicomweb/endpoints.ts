// PACS endpoints, kept in the settings table under one key of their own (the settings service
// ignores keys it does not know). Secrets go through a SecretBox: the Electron shell can give one
// backed by the operating system's keychain (safeStorage); without it (headless server, CLI) the
// secret is only as safe as the data folder's file permissions, and the UI says so.
import type { PacsEndpoint } from '../../shared/contract/dicomweb';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { DicomwebEndpoint } from './client';

export interface SecretBox {
  readonly protection: 'os' | 'file';
  seal(secret: string): string;
  open(sealed: string): string;
}

/** No operating-system protection: the secret is stored as written. */
export const FILE_ONLY: SecretBox = { protection: 'file', seal: (s) => s, open: (s) => s };

interface StoredEndpoint {
  id: number;
  name: string;
  url: string;
  authKind: PacsEndpoint['authKind'];
  username: string;
  sealed: string | null;
  protection: 'os' | 'file';
}

const KEY = 'dicomweb.endpoints';

export class EndpointStore {
  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
  ) {}

  list(): PacsEndpoint[] {
    return this.read().map(toPublic);
  }

  save(e: {
    id?: number;
    name: string;
    url: string;
    authKind: PacsEndpoint['authKind'];
    username: string;
    secret?: string;
  }): PacsEndpoint {
    const all = this.read();
    const existing = e.id === undefined ? undefined : all.find((x) => x.id === e.id);
    if (e.id !== undefined && !existing) throw new ServiceError('not-found', `no PACS endpoint ${e.id}`);
    const sealed = e.secret !== undefined ? (e.secret === '' ? null : this.secrets.seal(e.secret)) : (existing?.sealed ?? null);
    if (e.authKind !== 'none' && sealed === null)
      throw new ServiceError(
        'invalid-input',
        e.authKind === 'basic' ? 'enter the password for this PACS' : 'enter the token for this PACS',
      );
    const stored: StoredEndpoint = {
      id: existing?.id ?? Math.max(0, ...all.map((x) => x.id)) + 1,
      name: e.name,
      url: e.url,
      authKind: e.authKind,
      username: e.username,
      sealed: e.authKind === 'none' ? null : sealed,
      protection: e.secret !== undefined ? this.secrets.protection : (existing?.protection ?? this.secrets.protection),
    };
    this.write([...all.filter((x) => x.id !== stored.id), stored].sort((a, b) => a.id - b.id));
    return toPublic(stored);
  }

  remove(id: number): boolean {
    const all = this.read();
    this.write(all.filter((x) => x.id !== id));
    return all.some((x) => x.id === id);
  }

  /** The endpoint with its secret opened, for the client only (never for the renderer). */
  connection(id: number): DicomwebEndpoint & { name: string } {
    const e = this.read().find((x) => x.id === id);
    if (!e) throw new ServiceError('not-found', `no PACS endpoint ${id}`);
    const secret = e.sealed === null ? '' : this.secrets.open(e.sealed);
    const auth =
      e.authKind === 'basic'
        ? { kind: 'basic' as const, username: e.username, password: secret }
        : e.authKind === 'bearer'
          ? { kind: 'bearer' as const, token: secret }
          : { kind: 'none' as const };
    return { name: e.name, url: e.url, auth };
  }

  private read(): StoredEndpoint[] {
    const row = this.db.prepare('SELECT value FROM settings WHERE key = ?').pluck().get(KEY) as string | undefined;
    return row ? (JSON.parse(row) as StoredEndpoint[]) : [];
  }

  private write(all: StoredEndpoint[]): void {
    this.db
      .prepare('INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value')
      .run(KEY, JSON.stringify(all));
  }
}

function toPublic(e: StoredEndpoint): PacsEndpoint {
  return {
    id: e.id,
    name: e.name,
    url: e.url,
    authKind: e.authKind,
    username: e.username,
    hasSecret: e.sealed !== null,
    secretProtection: e.protection,
  };
}
