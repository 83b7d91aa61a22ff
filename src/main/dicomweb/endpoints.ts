// PACS endpoints, kept in the settings table under one key of their own (the settings service
// ignores keys it does not know). Their passwords and tokens are not: they go through a SecretBox
// into the secrets file (secret-file.ts). The Electron shell can give a box backed by the
// operating system's keychain (safeStorage); without one (headless server, CLI, or a Linux
// desktop without a keyring) the secret is only as safe as the file's permissions, and the UI
// says so, with the reason.
import type { z } from 'zod';
import type { PacsEndpoint, dicomwebMethods } from '../../shared/contract/dicomweb';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { DicomwebEndpoint } from './client';
import { SecretFile } from './secret-file';

export interface SecretBox {
  readonly protection: PacsEndpoint['secretProtection'];
  /** Why the protection is only the file's permissions, where the platform could do better (shown in Settings). */
  readonly note?: string;
  seal(secret: string): string;
  open(sealed: string): string;
}

/** No operating-system protection: the secret is stored as written. */
export const FILE_ONLY: SecretBox = { protection: 'file', seal: (s) => s, open: (s) => s };

/** An endpoint as the database keeps it: no secret, only whether it has one. */
interface StoredEndpoint extends Pick<PacsEndpoint, 'id' | 'name' | 'url' | 'authKind' | 'username' | 'hasSecret'> {
  protection: PacsEndpoint['secretProtection'];
  /** Earlier versions kept the sealed secret here; moved out at the next start (moveSecretsOut). */
  sealed?: string | null;
}

const KEY = 'dicomweb.endpoints';
const secretKey = (id: number) => `pacs.${id}`;

export class EndpointStore {
  private readonly file: SecretFile;

  constructor(
    private readonly db: Database,
    private readonly secrets: SecretBox,
    dataDir: string,
  ) {
    this.file = new SecretFile(dataDir);
    this.moveSecretsOut();
  }

  /**
   * Moves secrets an earlier version kept in the database into the secrets file: written (and
   * flushed) there first, then removed from the row with SQLite's secure_delete on and the WAL
   * checkpointed and truncated, so the database file keeps no copy of them.
   */
  moveSecretsOut(): number {
    const all = this.read();
    const old = all.filter((e) => e.sealed !== undefined);
    if (old.length === 0) return 0;
    for (const e of old) if (e.sealed) this.file.set(secretKey(e.id), e.sealed);
    const secureDelete = this.db.pragma('secure_delete', { simple: true }) as number;
    this.db.pragma('secure_delete = ON');
    try {
      this.write(all.map(({ sealed, ...e }) => ({ ...e, hasSecret: e.hasSecret ?? (sealed !== null && sealed !== undefined) })));
      this.db.pragma('wal_checkpoint(TRUNCATE)');
    } finally {
      this.db.pragma(`secure_delete = ${secureDelete ? 'ON' : 'OFF'}`);
    }
    return old.length;
  }

  list(): PacsEndpoint[] {
    return this.read().map((e) => this.toPublic(e));
  }

  /** Adds or updates an endpoint: the service's saveEndpoint input, once its schema has parsed it. */
  save(e: z.output<typeof dicomwebMethods.saveEndpoint>): PacsEndpoint {
    const all = this.read();
    const existing = e.id === undefined ? undefined : all.find((x) => x.id === e.id);
    if (e.id !== undefined && !existing) throw new ServiceError('not-found', `no PACS endpoint ${e.id}`);
    const sealed = e.secret !== undefined ? (e.secret === '' ? null : this.secrets.seal(e.secret)) : undefined; // undefined: keep
    const hasSecret = sealed === undefined ? (existing?.hasSecret ?? false) : sealed !== null;
    if (e.authKind !== 'none' && !hasSecret)
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
      hasSecret: e.authKind !== 'none' && hasSecret,
      protection: e.secret !== undefined ? this.secrets.protection : (existing?.protection ?? this.secrets.protection),
    };
    if (e.authKind === 'none') this.file.set(secretKey(stored.id), null);
    else if (sealed !== undefined) this.file.set(secretKey(stored.id), sealed);
    this.write([...all.filter((x) => x.id !== stored.id), stored].sort((a, b) => a.id - b.id));
    return this.toPublic(stored);
  }

  remove(id: number): boolean {
    const all = this.read();
    this.write(all.filter((x) => x.id !== id));
    this.file.set(secretKey(id), null);
    return all.some((x) => x.id === id);
  }

  /** The endpoint with its secret opened, for the client only (never for the renderer). */
  connection(id: number): DicomwebEndpoint & { name: string } {
    const e = this.read().find((x) => x.id === id);
    if (!e) throw new ServiceError('not-found', `no PACS endpoint ${id}`);
    const sealed = e.hasSecret ? this.file.get(secretKey(e.id)) : null;
    if (e.hasSecret && sealed === null)
      throw new ServiceError(
        'not-found',
        `the password or token of ${e.name} is missing from this computer's secrets file: enter it again in Settings → PACS`,
      );
    const secret = sealed === null ? '' : this.secrets.open(sealed);
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

  private toPublic(e: StoredEndpoint): PacsEndpoint {
    return {
      id: e.id,
      name: e.name,
      url: e.url,
      authKind: e.authKind,
      username: e.username,
      hasSecret: e.hasSecret,
      secretProtection: e.protection,
      ...(e.protection === 'file' && this.secrets.note ? { secretProtectionNote: this.secrets.note } : {}),
    };
  }
}
