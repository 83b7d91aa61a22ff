// Reads a PNG or JPEG (ultrasound, endoscopy, dermoscopy stills) into a `Raster`; the import
// turns each into a single-frame series. Decoders chosen by measurement, per 512×512 image, Node
// 20 on the shared 2-core machine under load (min / median of 25, after 3 warm-up runs):
//   PNG  gray 8-bit  : ours on node:zlib 3 / 13 ms      itk-wasm png pipeline  21 / 54 ms
//   PNG  RGB 8-bit   : ours on node:zlib 12 / 32 ms     itk-wasm png pipeline  21 / 72 ms
//   JPEG gray        : libjpeg-turbo wasm 1 / 8 ms      itk-wasm jpeg pipeline 20 / 41 ms
//   JPEG RGB 4:2:0   : libjpeg-turbo wasm 3 / 15 ms     itk-wasm jpeg pipeline 15 / 72 ms
//   JPEG progressive : libjpeg-turbo wasm 5 / 13 ms     itk-wasm jpeg pipeline 20 / 46 ms
// itk-wasm re-instantiates its WebAssembly module on every call and reads only files; its JPEG
// output also differs from Pillow's by up to 121 levels at 4:2:0 colour edges, where
// libjpeg-turbo here matches Pillow exactly.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { RasterError } from './errors';
import { decodeJpeg } from './jpeg';
import { PNG_SIGNATURE, decodePng, type DecodedPixels } from './png';

export interface Raster extends DecodedPixels {
  format: 'png' | 'jpeg';
  /** Milliseconds spent decoding (file read excluded). */
  decodeMs: number;
}

export interface ReadRasterOptions {
  /** Largest image accepted, in pixels, checked from the header before decoding. Default 2^28. */
  maxPixels?: number;
  /** Largest file read from disk, in bytes. Default 512 MiB. */
  maxFileBytes?: number;
}

export const DEFAULT_MAX_PIXELS = 2 ** 28;
export const DEFAULT_MAX_FILE_BYTES = 512 * 2 ** 20;

async function load(file: string, maxFileBytes: number): Promise<Uint8Array> {
  const name = path.basename(file);
  try {
    const s = await stat(file);
    if (!s.isFile()) throw new RasterError('not-found', `${name} is not a file`);
    if (s.size > maxFileBytes)
      throw new RasterError('too-large', `${name} is ${s.size} bytes, over the ${maxFileBytes}-byte limit`);
    return await readFile(file);
  } catch (e) {
    if (e instanceof RasterError) throw e;
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new RasterError('not-found', `${name} does not exist`, e);
    throw new RasterError('io', `cannot read ${name}: ${(e as Error).message}`, e);
  }
}

/** Decodes a PNG or JPEG given as a path or as the file's bytes. */
export async function readRaster(input: string | Uint8Array, options: ReadRasterOptions = {}): Promise<Raster> {
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_PIXELS;
  const bytes = typeof input === 'string' ? await load(input, options.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES) : input;
  const where = typeof input === 'string' ? path.basename(input) : 'the image';
  const started = performance.now();
  const isPng = bytes.length >= 8 && PNG_SIGNATURE.every((v, i) => bytes[i] === v);
  const isJpeg = bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
  if (!isPng && !isJpeg) {
    const what = bytes.length === 0 ? 'is empty' : 'has neither a PNG signature nor a JPEG start-of-image marker';
    throw new RasterError(bytes.length === 0 ? 'truncated' : 'bad-magic', `${where} ${what}`);
  }
  try {
    const decoded = isPng ? decodePng(bytes, maxPixels) : await decodeJpeg(bytes, maxPixels);
    return { format: isPng ? 'png' : 'jpeg', ...decoded, decodeMs: performance.now() - started };
  } catch (e) {
    if (e instanceof RasterError && typeof input === 'string') {
      throw new RasterError(e.failure, `${where}: ${e.message}`, e.cause ?? e);
    }
    throw e;
  }
}

export { RasterError, isRasterError, type RasterFailure } from './errors';
