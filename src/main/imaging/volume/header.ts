// What our own header parsers (NIfTI, NRRD, MetaImage) learn before ITK is called: enough to
// refuse a damaged or unsupported file with a reason, and to size the read before allocating.
import { open } from 'node:fs/promises';
import path from 'node:path';
import type { DataPlan } from './data-check';
import { VolumeError, fsError } from './errors';
import type { VolumeFormat } from './types';

export interface HeaderInfo {
  format: VolumeFormat;
  /** e.g. "NIfTI-1 (single file)", "NRRD0004", "MetaImage". */
  variant: string;
  /** Every axis of the file as its header lists them (components axis included). */
  dims: number[];
  /** Bytes of one stored value. */
  valueBytes: number;
  /** Bytes the voxel array takes once decoded: product(dims) · valueBytes. */
  dataBytes: number;
  data: DataPlan;
  warnings: string[];
  /**
   * NIfTI only: the sform's rows (RAS, mm; 3 rows of 4) when sform_code is set, the transform
   * nibabel uses first; ITK may prefer the qform, so this one is applied over ITK's geometry.
   */
  sform?: number[][];
}

/** Reads up to `n` bytes from the start of a file. */
export async function readHead(file: string, n: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(file, 'r');
  } catch (e) {
    throw fsError(e, path.basename(file));
  }
  try {
    const buffer = new Uint8Array(n);
    const { bytesRead } = await handle.read(buffer, 0, n, 0);
    return buffer.subarray(0, bytesRead);
  } catch (e) {
    throw fsError(e, path.basename(file));
  } finally {
    await handle.close();
  }
}

/** Product of sizes, refusing anything that is not a positive safe integer on the way. */
export function product(dims: readonly number[], what: string): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 1) throw new VolumeError('malformed', `${what}: size ${d} is not a positive integer`);
    n *= d;
    if (!Number.isSafeInteger(n)) throw new VolumeError('too-large', `${what}: ${dims.join('×')} voxels overflow`);
  }
  return n;
}

/**
 * The header of a text format (NRRD, MetaImage): bytes up to `end(text)` decoded as Latin-1.
 * Grows the read until the end is found or `limit` bytes, so a binary file is refused quickly.
 */
export async function readTextHeader(
  file: string,
  findEnd: (text: string) => number | null,
  limit = 1 << 20,
): Promise<{ text: string; end: number; bytes: number }> {
  for (let n = 8192; ; n *= 4) {
    const head = await readHead(file, Math.min(n, limit));
    const text = Buffer.from(head.buffer, head.byteOffset, head.byteLength).toString('latin1');
    const end = findEnd(text);
    if (end !== null) return { text: text.slice(0, end), end, bytes: head.length };
    if (head.length < Math.min(n, limit)) return { text, end: head.length, bytes: head.length };
    if (n >= limit) throw new VolumeError('malformed', `${path.basename(file)}: no end of header in the first ${limit} bytes`);
  }
}
