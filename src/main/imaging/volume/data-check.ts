// Makes sure a file holds every voxel byte its header promises before ITK reads it: ITK's readers
// fill a short file with zeros (measured: a NIfTI cut to half, raw or gzipped, comes back as
// "read" with the missing half blank), so without this a damaged file would import silently.
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import path from 'node:path';
import { createGunzip, createUnzip } from 'node:zlib';
import { VolumeError, describe, fsError } from './errors';

export type DataEncoding = 'raw' | 'gzip' | 'zlib' | 'text';

/** Where the voxel bytes of a file lie, as its header says. */
export interface DataPlan {
  /** Absolute path of the file holding the voxels (the header itself, or a detached file). */
  file: string;
  /** Byte where the data stream starts; 'end' means the last `needBytes` of the file (raw only). */
  offset: number | 'end';
  encoding: DataEncoding;
  /** Decoded bytes needed from the start of the stream, skips included. */
  needBytes: number;
  /** Size of the compressed stream when the header records it (MetaImage CompressedDataSize). */
  compressedBytes?: number;
}

/** The decompressed size a gzip trailer may exceed the need by and still be taken at its word. */
const ISIZE_SLACK = 1 << 20;

async function fileSize(file: string): Promise<number> {
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new VolumeError('not-found', `${path.basename(file)} is not a regular file`);
    return s.size;
  } catch (e) {
    if (e instanceof VolumeError) throw e;
    throw fsError(e, path.basename(file));
  }
}

function short(plan: DataPlan, have: number, unit: string): VolumeError {
  return new VolumeError(
    'truncated',
    `${path.basename(plan.file)} is truncated: the header needs ${plan.needBytes} ${unit}, the file has ${have}`,
  );
}

/** gzip's last 4 bytes: the uncompressed size modulo 2^32 (of the last member only). */
async function gzipTrailerSize(file: string, size: number): Promise<number> {
  const handle = await open(file, 'r');
  try {
    const b = Buffer.alloc(4);
    await handle.read(b, 0, 4, size - 4);
    return b.readUInt32LE(0);
  } finally {
    await handle.close();
  }
}

/**
 * Inflates the stream (off the main thread, in libuv's pool) until `needBytes` have come out.
 * Stops early once enough has, so a complete file costs at most one decompression.
 */
function countInflated(plan: DataPlan, start: number): Promise<number> {
  return new Promise((resolve, reject) => {
    let total = 0;
    let done = false;
    const input = createReadStream(plan.file, { start });
    const inflate = plan.encoding === 'gzip' ? createGunzip() : createUnzip();
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      input.destroy();
      inflate.destroy();
      fn();
    };
    inflate.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total >= plan.needBytes) finish(() => resolve(total));
    });
    inflate.on('end', () => finish(() => resolve(total)));
    inflate.on('error', (e: NodeJS.ErrnoException) => {
      // A stream cut short ends with Z_BUF_ERROR ("unexpected end of file"): report the count.
      if (e.code === 'Z_BUF_ERROR') finish(() => resolve(total));
      else
        finish(() =>
          reject(
            new VolumeError(
              'malformed',
              `${path.basename(plan.file)}: the ${plan.encoding} stream is damaged (${describe(e)})`,
              e,
            ),
          ),
        );
    });
    input.on('error', (e) => finish(() => reject(fsError(e, path.basename(plan.file)))));
    input.pipe(inflate);
  });
}

/** Throws a VolumeError ('not-found', 'truncated', 'malformed') unless the data is all there. */
export async function checkData(plan: DataPlan): Promise<void> {
  const size = await fileSize(plan.file);
  const start = plan.offset === 'end' ? Math.max(0, size - plan.needBytes) : plan.offset;
  const available = size - start;
  switch (plan.encoding) {
    case 'raw':
      if (available < plan.needBytes) throw short(plan, Math.max(0, available), 'bytes');
      return;
    case 'text':
      // ITK parses text itself and fails on too few values (measured); only refuse nothing at all.
      if (available <= 0) throw short(plan, 0, 'values');
      return;
    case 'gzip': {
      // Fast path: a trailer that says "just about the size we need" is trusted. A file cut
      // short ends in compressed bytes, which match that by chance with odds below 1 in 4000.
      const isize = available >= 18 ? await gzipTrailerSize(plan.file, size) : null;
      if (isize !== null && isize >= plan.needBytes % 2 ** 32 && isize - (plan.needBytes % 2 ** 32) <= ISIZE_SLACK) return;
      const got = await countInflated(plan, start);
      if (got < plan.needBytes) throw short(plan, got, 'decompressed bytes');
      return;
    }
    case 'zlib': {
      if (plan.compressedBytes !== undefined) {
        if (available < plan.compressedBytes) {
          throw new VolumeError(
            'truncated',
            `${path.basename(plan.file)} is truncated: the header records ${plan.compressedBytes} compressed bytes, the file has ${Math.max(0, available)}`,
          );
        }
        return;
      }
      const got = await countInflated(plan, start);
      if (got < plan.needBytes) throw short(plan, got, 'decompressed bytes');
      return;
    }
  }
}
