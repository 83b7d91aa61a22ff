// The per-file half of an import: read the file, hash it, skip it if the database has it, read
// its header on the fast path. The caller stores the bytes of a new image: the import worker
// appends them to its pack; a reader thread leaves them in a shared slot for the import worker
// to append (readers.ts: on this machine page-cache writes from two threads at once ran slower
// than from one, so one thread writes). Anything the fast header reader does not take (NIfTI,
// PNG, unusual DICOM, SEG) comes back `deferred`, for the full readers; a file it
// refuses (a non-image, a damaged image) comes back `refused` with its reason.
import { closeSync, fstatSync, openSync } from 'node:fs';
import { detectFormat } from '../imaging/detect';
import { ContentStore, readFully } from '../store/content-store';
import { readFastRecords } from './fast-records';
import type { FrameRecord, ReadOutcome, SeriesRecord } from './records';

type Refusal = Extract<ReadOutcome, { status: 'skipped' | 'failed' }>;

export interface ScannedFile {
  path: string;
  size: number;
}

export type Ingested = { index: number; path: string; size: number } & (
  | { status: 'image'; sha256: string; series: SeriesRecord; frames: FrameRecord[]; notes?: string[] }
  /** The database has a file with these bytes already. */
  | { status: 'known'; sha256: string }
  | { status: 'deferred'; sha256: string }
  /** The fast path's own answer for a file that is no image to import: skipped or failed, with its reason. */
  | { status: 'refused'; sha256: string; outcome: Refusal }
  | { status: 'unreadable'; reason: string }
);

// Larger files are multi-frame objects or volumes: the full readers take them.
export const FAST_PATH_MAX_BYTES = 64 << 20;

/**
 * Reads a whole file into memory `buffer(size)` provides (reused, so no fresh pages per file).
 * `expectedSize` (from the scan) saves a stat; a file that changed size since is read again.
 */
export function readInto(filePath: string, buffer: (size: number) => Uint8Array, expectedSize?: number): Uint8Array {
  const fd = openSync(filePath, 'r');
  try {
    let size = expectedSize ?? fstatSync(fd).size;
    for (;;) {
      if (size > FAST_PATH_MAX_BYTES) throw new TooLarge();
      // One byte more than expected: getting it means the file grew, and its real size is needed.
      const target = buffer(size + 1);
      const filled = readFully(fd, target, size + 1, 0);
      if (filled <= size) return target.subarray(0, filled); // whole (or shrank: take what is there)
      size = fstatSync(fd).size;
    }
  } finally {
    closeSync(fd);
  }
}

class TooLarge extends Error {}

/** A growable read buffer for one thread. */
export class Scratch {
  private buffer = new Uint8Array(1 << 20);
  readonly take = (size: number): Uint8Array => {
    if (size > this.buffer.length) this.buffer = new Uint8Array(Math.max(size, this.buffer.length * 2));
    return this.buffer;
  };
}

/** `bytes` is set for a new image: the caller stores them before reusing their memory. */
export function ingestFile(
  index: number,
  file: ScannedFile,
  buffer: (size: number) => Uint8Array,
  isKnown: (sha256: string) => boolean,
): { result: Ingested; bytes: Uint8Array | null } {
  const base = { index, path: file.path, size: file.size };
  let bytes: Uint8Array;
  try {
    bytes = readInto(file.path, buffer, file.size);
  } catch (e) {
    if (e instanceof TooLarge) return { result: { ...base, status: 'deferred', sha256: '' }, bytes: null };
    return {
      result: {
        ...base,
        status: 'unreadable',
        reason: `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      },
      bytes: null,
    };
  }
  const sized = { ...base, size: bytes.length };
  const sha256 = ContentStore.hash(bytes);
  if (isKnown(sha256)) return { result: { ...sized, status: 'known', sha256 }, bytes: null };
  const outcome = detectFormat(file.path, bytes.subarray(0, 4096)) === 'dicom' ? readFastRecords(bytes) : null;
  // A non-image or a damaged image the fast path recognised is not read a second time.
  if (outcome?.status === 'skipped' || outcome?.status === 'failed')
    return { result: { ...sized, status: 'refused', sha256, outcome }, bytes: null };
  if (outcome?.status !== 'image') return { result: { ...sized, status: 'deferred', sha256 }, bytes: null };
  return {
    result: {
      ...sized,
      status: 'image',
      sha256,
      series: outcome.series,
      frames: outcome.frames,
      ...(outcome.notes ? { notes: outcome.notes } : {}),
    },
    bytes,
  };
}
