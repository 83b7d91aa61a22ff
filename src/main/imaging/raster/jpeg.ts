// JPEG decoding (baseline, extended, progressive; gray or YCbCr colour) with the libjpeg-turbo
// WebAssembly build of @cornerstonejs/codec-libjpeg-turbo-8bit: one module instance per thread,
// created on first use (~7 ms) and kept; 3–5× faster than itk-wasm's JPEG pipeline per 512×512
// image and identical to Pillow's decode (see read.ts). A marker walk comes first so that a file
// cut short — which libjpeg only warns about, painting the missing rows — is refused with a reason.
import { createRequire } from 'node:module';
import { describeThrown } from '../read-error';
import { RasterError } from './errors';
import type { DecodedPixels } from './png';

interface FrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
}

interface JpegDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  getDecodedBuffer(): Uint8Array;
  decode(): void;
  getFrameInfo(): FrameInfo;
  delete(): void;
}

type CodecModule = { JPEGDecoder: new () => JpegDecoder };
type Factory = (moduleArg?: { print?: (s: string) => void; printErr?: (s: string) => void }) => Promise<CodecModule>;

const requireCjs = createRequire(import.meta.url);
let instance: Promise<CodecModule> | null = null;

function codec(): Promise<CodecModule> {
  if (!instance) {
    const factory = requireCjs('@cornerstonejs/codec-libjpeg-turbo-8bit/decodewasmjs') as Factory;
    const quiet = () => {};
    instance = factory({ print: quiet, printErr: quiet });
    instance.catch(() => (instance = null));
  }
  return instance;
}

interface JpegInfo {
  width: number;
  height: number;
  components: number;
  precision: number;
  process: string;
  /** EXIF Orientation (1–8), 1 when absent. */
  orientation: number;
}

const SOF_PROCESS = new Map<number, string>([
  [0xc0, 'baseline'],
  [0xc1, 'extended sequential'],
  [0xc2, 'progressive'],
  [0xc3, 'lossless'],
  [0xc5, 'hierarchical'],
  [0xc6, 'hierarchical'],
  [0xc7, 'hierarchical'],
  [0xc9, 'arithmetic sequential'],
  [0xca, 'arithmetic progressive'],
  [0xcb, 'lossless'],
  [0xcd, 'hierarchical'],
  [0xce, 'hierarchical'],
  [0xcf, 'hierarchical'],
]);

/** EXIF Orientation from an APP1 segment's data, or 1. Every offset is bounds-checked. */
function exifOrientation(b: Uint8Array, start: number, end: number): number {
  if (end - start < 14 || String.fromCharCode(...b.subarray(start, start + 4)) !== 'Exif') return 1;
  const tiff = start + 6;
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = b[tiff] === 0x49;
  if (!le && b[tiff] !== 0x4d) return 1;
  const ifd = tiff + view.getUint32(tiff + 4, le);
  if (ifd + 2 > end) return 1;
  const count = view.getUint16(ifd, le);
  for (let i = 0; i < count; i++) {
    const entry = ifd + 2 + i * 12;
    if (entry + 12 > end) return 1;
    if (view.getUint16(entry, le) === 0x0112) {
      const v = view.getUint16(entry + 8, le);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Walks the markers up to the first scan and checks the stream reaches its EOI. */
function inspectJpeg(b: Uint8Array): JpegInfo {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let pos = 2;
  let frame: Omit<JpegInfo, 'orientation'> | null = null;
  let orientation = 1;
  for (;;) {
    if (pos + 4 > b.length) throw new RasterError('truncated', `JPEG ends after ${b.length} bytes, before its image data`);
    if (b[pos] !== 0xff) throw new RasterError('malformed', `JPEG marker expected at byte ${pos}`);
    const marker = b[pos + 1] ?? 0;
    if (marker === 0xff) {
      pos++; // fill byte
      continue;
    }
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      pos += 2;
      continue;
    }
    const length = view.getUint16(pos + 2);
    if (length < 2) throw new RasterError('malformed', `JPEG segment at byte ${pos} has length ${length}`);
    if (pos + 2 + length > b.length) throw new RasterError('truncated', `JPEG ends inside a marker segment (${b.length} bytes)`);
    const process = SOF_PROCESS.get(marker);
    if (process !== undefined) {
      if (length < 8) throw new RasterError('malformed', 'JPEG frame header is too short');
      frame = {
        precision: b[pos + 4] ?? 0,
        height: view.getUint16(pos + 5),
        width: view.getUint16(pos + 7),
        components: b[pos + 9] ?? 0,
        process,
      };
    } else if (marker === 0xe1 && orientation === 1) {
      orientation = exifOrientation(b, pos + 4, pos + 2 + length);
    } else if (marker === 0xda) {
      if (!frame) throw new RasterError('malformed', 'JPEG scan before any frame header');
      // The compressed data is not walked; a stream cut short has no EOI after its first scan.
      let eoi = false;
      for (let i = b.length - 2; i >= pos && !eoi; i--) eoi = b[i] === 0xff && b[i + 1] === 0xd9;
      if (!eoi) throw new RasterError('truncated', 'JPEG ends before its end-of-image marker (the file is cut short)');
      return { ...frame, orientation };
    } else if (marker === 0xd9) {
      throw new RasterError('malformed', 'JPEG ends before any image data');
    }
    pos += 2 + length;
  }
}

export async function decodeJpeg(bytes: Uint8Array, maxPixels: number): Promise<DecodedPixels> {
  const info = inspectJpeg(bytes);
  if (info.process === 'lossless' || info.process === 'hierarchical') {
    throw new RasterError('unsupported', `${info.process} JPEG is not supported`);
  }
  if (info.precision !== 8) throw new RasterError('unsupported', `${info.precision}-bit JPEG is not supported (8-bit only)`);
  if (info.components !== 1 && info.components !== 3) {
    throw new RasterError('unsupported', `JPEG with ${info.components} components (e.g. CMYK) is not supported`);
  }
  if (info.width === 0 || info.height === 0)
    throw new RasterError('unsupported', 'JPEG whose height is given after the scan (DNL) is not supported');
  if (info.width * info.height > maxPixels) {
    throw new RasterError('too-large', `JPEG is ${info.width}×${info.height}, over the ${maxPixels}-pixel limit`);
  }

  const mod = await codec();
  const decoder = new mod.JPEGDecoder();
  let pixels: Uint8Array;
  try {
    decoder.getEncodedBuffer(bytes.length).set(bytes);
    decoder.decode();
    const frame = decoder.getFrameInfo();
    if (frame.width !== info.width || frame.height !== info.height || frame.componentCount !== info.components) {
      throw new RasterError(
        'decode-failed',
        `libjpeg-turbo decoded ${frame.width}×${frame.height}×${frame.componentCount}, the header says ${info.width}×${info.height}×${info.components}`,
      );
    }
    pixels = decoder.getDecodedBuffer().slice(0, info.width * info.height * info.components); // copy out of wasm memory
  } catch (e) {
    // An Emscripten throw (a bare number) or abort may leave the instance unusable: start afresh.
    instance = null;
    if (e instanceof RasterError) throw e;
    const why = describeThrown(e);
    throw new RasterError('decode-failed', `libjpeg-turbo could not decode the JPEG (${why})`, e);
  } finally {
    try {
      decoder.delete();
    } catch {
      instance = null;
    }
  }
  if (pixels.length < info.width * info.height * info.components)
    throw new RasterError('decode-failed', 'libjpeg-turbo returned too few samples');
  const warnings = [`${info.process} JPEG`];
  if (info.orientation !== 1) warnings.push(`EXIF orientation ${info.orientation} not applied: pixels are as stored`);
  return {
    rows: info.height,
    columns: info.width,
    samplesPerPixel: info.components === 1 ? 1 : 3,
    bitsStored: 8,
    pixels,
    warnings,
  };
}
