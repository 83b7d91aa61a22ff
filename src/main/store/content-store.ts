// The content-addressed file store: every imported file is copied in before it is indexed, so
// the source (a CD, a network share) may go away. The database maps each file's SHA-256 to where
// its bytes are, in one of two forms:
//
// - a pack: DICOM images on the import's fast path are appended back to back to a pack file,
//   a new one per import (packs/<time>-<pid>-<thread>-<n>.pack), and found by (pack, offset,
//   size). Creating a file per image cost 68 µs (quiet file system) to 700 µs (busy journal)
//   of kernel time per 128 KB file on the development VM's ext4, appending it 32 µs
//   (tests/bench/store-write.ts, docs/benchmarks.md); and a folder of 100,000 files is slow to
//   list, back up and scan for viruses.
// - a file of its own (ab/<sha256><ext>): volumes and raster images, read by path by itk-wasm and
//   the image decoders, and DICOM the fast path did not take.
//
// Crash safety: the database refers to bytes only after they were written, in the series'
// commit. A crash leaves at most unreferenced bytes at the end of a pack (never appended to
// again: each import starts a new pack; a pack nothing refers to is swept at the next start) or
// a short single file, which `put` writes again.
import { createHash } from 'node:crypto';
import {
  closeSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  rmSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { threadId } from 'node:worker_threads';
import type { Database } from '../db/database';
import { isProcessAlive } from '../process-alive';

/** Where a stored file's bytes are: `offset` null means the whole of `relative`. */
export interface StoredLocation {
  relative: string;
  offset: number | null;
}

/** Whether any file row of the database points into a store path (a pack, usually). */
export function referencedIn(db: Database): (relative: string) => boolean {
  const row = db.prepare('SELECT 1 FROM files WHERE store_path = ? LIMIT 1').pluck();
  return (relative) => row.get(relative) !== undefined;
}

/**
 * Reads up to `length` bytes at `position` into `target`, as many calls as it takes; returns
 * how many it got (fewer only at the end of the file).
 */
export function readFully(fd: number, target: Uint8Array, length: number, position: number): number {
  let filled = 0;
  while (filled < length) {
    const n = readSync(fd, target, filled, length - filled, position + filled);
    if (n === 0) break;
    filled += n;
  }
  return filled;
}

/** A pack rolls over to a new one at this size. */
const PACK_LIMIT_BYTES = 1 << 30;

export class ContentStore {
  private readonly madeDirs = new Set<string>();

  constructor(readonly root: string) {
    mkdirSync(root, { recursive: true, mode: 0o700 });
  }

  static hash(bytes: Uint8Array): string {
    return createHash('sha256').update(bytes).digest('hex');
  }

  /**
   * Store-relative path of a file of its own: ab/abcd…, relative so the data folder can move.
   * One level of 256 folders: a folder per file (two levels) cost a third of an import's time.
   */
  static relativePath(sha256: string, extension = ''): string {
    return path.join(sha256.slice(0, 2), sha256 + extension);
  }

  absolute(relative: string): string {
    return path.join(this.root, relative);
  }

  /** A stored file's bytes. */
  read(location: StoredLocation, size: number): Uint8Array {
    const file = this.absolute(location.relative);
    const fd = openSync(file, 'r');
    try {
      const start = location.offset ?? 0;
      const length = location.offset === null ? fstatSync(fd).size : size;
      const bytes = new Uint8Array(length);
      if (readFully(fd, bytes, length, start) < length)
        throw new Error(`${location.relative} ends before byte ${start + length} (store damaged)`);
      return bytes;
    } finally {
      closeSync(fd);
    }
  }

  /** Removes a file or pack nothing refers to (the caller checks that). */
  remove(relative: string): void {
    rmSync(this.absolute(relative), { force: true });
  }

  /**
   * Writes the bytes as a file of its own unless a whole copy is there already. Safe when
   * several threads store the same content at once: each writes the same bytes from the start,
   * so the file ends whole whichever finishes last.
   */
  put(
    bytes: Uint8Array,
    sha256 = ContentStore.hash(bytes),
    extension = '',
  ): StoredLocation & { sha256: string; written: boolean } {
    const relative = ContentStore.relativePath(sha256, extension);
    const target = this.absolute(relative);
    // A copy cut short by a crash is shorter than its content: only a whole one is kept.
    if (statSync(target, { throwIfNoEntry: false })?.size === bytes.length)
      return { sha256, relative, offset: null, written: false };
    this.ensureDir(path.dirname(target));
    writeFileSync(target, bytes, { mode: 0o600 }); // patient data: the owner's only
    return { sha256, relative, offset: null, written: true };
  }

  /**
   * Removes packs a crashed import left behind: written by a process that is gone (a zombie
   * counts as gone), and with no file row pointing into them. A pack of a live process (an import running in another
   * process on the same data folder) is never touched. Returns the packs removed.
   */
  sweepPacks(isReferenced: (relative: string) => boolean): string[] {
    const removed: string[] = [];
    let names: string[];
    try {
      names = readdirSync(this.absolute('packs'));
    } catch {
      return removed; // no packs yet
    }
    for (const name of names) {
      const match = /^([0-9a-z]+)-(\d+)-\d+-\d+\.pack$/.exec(name);
      const pid = Number(match?.[2]);
      const relative = path.join('packs', name);
      // The pack's name starts with its creation time (base 36 ms): a process that started later reuses the id.
      if (!match || !Number.isInteger(pid) || isProcessAlive(pid, parseInt(match[1]!, 36)) || isReferenced(relative)) continue;
      this.remove(relative);
      removed.push(relative);
    }
    return removed;
  }

  /** An append-only pack for one thread of one import. */
  openPack(): PackWriter {
    this.ensureDir(this.absolute('packs'));
    return new PackWriter(this);
  }

  private ensureDir(dir: string): void {
    if (this.madeDirs.has(dir)) return;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    this.madeDirs.add(dir);
  }
}

let packSerial = 0;

/** Appends files to packs (a new pack past PACK_LIMIT_BYTES); every pack it started is listed. */
export class PackWriter {
  /** Store-relative paths of the packs this writer created. */
  readonly packs: string[] = [];
  private fd: number | null = null;
  private offset = 0;

  constructor(private readonly store: ContentStore) {}

  append(bytes: Uint8Array): StoredLocation {
    if (this.fd === null || this.offset + bytes.length > PACK_LIMIT_BYTES) this.roll();
    const at = this.offset;
    let written = 0;
    while (written < bytes.length) written += writeSync(this.fd!, bytes, written, bytes.length - written, at + written);
    this.offset += bytes.length;
    return { relative: this.packs.at(-1)!, offset: at };
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private roll(): void {
    this.close();
    // Unique per process, thread and pack; the time keeps a reused process id apart.
    const relative = path.join('packs', `${Date.now().toString(36)}-${process.pid}-${threadId}-${packSerial++}.pack`);
    this.fd = openSync(this.store.absolute(relative), 'wx', 0o600);
    this.offset = 0;
    this.packs.push(relative);
  }
}
