// PACS passwords and tokens live in <data>/secrets.json (0600), never in the database: a copied
// database or a backup of it carries no secret. What is written there is the SecretBox's sealed
// form: encrypted by the operating system's keychain in the desktop app (Electron safeStorage),
// the secret itself in the headless server and the CLI, where the file's permissions are all the
// protection there is (and the Settings view says so).
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, rmSync, writeSync } from 'node:fs';
import path from 'node:path';

export const SECRETS_FILE = 'secrets.json';

export class SecretFile {
  readonly file: string;

  constructor(dataDir: string) {
    this.file = path.join(dataDir, SECRETS_FILE);
  }

  get(key: string): string | null {
    return this.read()[key] ?? null;
  }

  /** Stores (or, with null, removes) one sealed secret; the file is replaced whole, owner-only. */
  set(key: string, sealed: string | null): void {
    const all = this.read();
    if (sealed === null) delete all[key];
    else all[key] = sealed;
    const temporary = `${this.file}.${process.pid}.tmp`;
    const fd = openSync(temporary, 'w', 0o600);
    try {
      writeSync(fd, JSON.stringify(all, null, 2) + '\n');
      fsyncSync(fd); // written before the database forgets its copy (moveSecretsOut)
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(temporary, this.file);
    } finally {
      rmSync(temporary, { force: true });
    }
  }

  private read(): Record<string, string> {
    let text: string;
    try {
      text = readFileSync(this.file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw e;
    }
    const value = JSON.parse(text) as unknown;
    return typeof value === 'object' && value !== null ? (value as Record<string, string>) : {};
  }
}
