// The content-addressed file store: every imported file is copied in under its SHA-256 before
// it is indexed, so the source (a CD, a network share) may go away. A copy is written to a
// temporary name and renamed in, so a crash leaves either the whole file or nothing.
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export class ContentStore {
  private readonly tmpDir: string;
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {
    this.tmpDir = path.join(root, 'tmp');
    mkdirSync(this.tmpDir, { recursive: true });
  }

  /** Removes temporary files a crashed import left behind. */
  sweep(): number {
    const leftovers = readdirSync(this.tmpDir);
    for (const name of leftovers) rmSync(path.join(this.tmpDir, name), { force: true });
    return leftovers.length;
  }

  static hash(bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex');
  }

  /**
   * Store-relative path of a hash: ab/abcd…, relative so the data folder can move. One level of
   * 256 folders: creating a folder per file (two levels) cost a third of an import's time here.
   */
  static relativePath(sha256: string, extension = ''): string {
    return path.join(sha256.slice(0, 2), sha256 + extension);
  }

  absolute(relative: string): string {
    return path.join(this.root, relative);
  }

  /** Writes the bytes under their hash unless already there; returns the store-relative path. */
  put(bytes: Uint8Array, sha256 = ContentStore.hash(bytes), extension = ''): { sha256: string; relative: string; written: boolean } {
    const relative = ContentStore.relativePath(sha256, extension);
    const target = this.absolute(relative);
    if (existsSync(target)) return { sha256, relative, written: false };
    const dir = path.dirname(target);
    if (!this.madeDirs.has(dir)) {
      mkdirSync(dir, { recursive: true });
      this.madeDirs.add(dir);
    }
    const tmp = path.join(this.tmpDir, `${sha256}.${randomBytes(4).toString('hex')}`);
    writeFileSync(tmp, bytes);
    renameSync(tmp, target);
    return { sha256, relative, written: true };
  }
}
