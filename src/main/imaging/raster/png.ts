// PNG decoding on Node's zlib: every bit depth and colour type of the PNG specification
// (gray 1–16 bit, gray+alpha, RGB, RGBA, palette), Adam7 interlacing, CRC-checked chunks.
// Written here rather than through itk-wasm's PNG pipeline because that pipeline reads only
// files and instantiates its WebAssembly module per call: 2–4× slower per 512×512 image (read.ts).
import { crc32, inflateSync } from 'node:zlib';
import { RasterError } from './errors';

/** What the PNG and JPEG decoders give back. */
export interface DecodedPixels {
  rows: number;
  columns: number;
  /** 1 (gray) or 3 (RGB): alpha is dropped, a palette expanded to RGB. */
  samplesPerPixel: 1 | 3;
  /** Significant bits per sample: 8 or 16 (PNG gray may also be 1, 2 or 4, values unscaled). */
  bitsStored: number;
  /** rows·columns·samplesPerPixel values, row by row, RGB interleaved; Uint16Array for 16-bit PNG. */
  pixels: Uint8Array | Uint16Array;
  /** What was changed or ignored (alpha dropped, palette expanded, EXIF orientation …). */
  warnings: string[];
}

export const PNG_SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);

// Colour type → samples stored per pixel, and the bit depths the specification allows.
const COLOUR_TYPES = new Map<number, { channels: number; depths: number[]; name: string }>([
  [0, { channels: 1, depths: [1, 2, 4, 8, 16], name: 'gray' }],
  [2, { channels: 3, depths: [8, 16], name: 'RGB' }],
  [3, { channels: 1, depths: [1, 2, 4, 8], name: 'palette' }],
  [4, { channels: 2, depths: [8, 16], name: 'gray+alpha' }],
  [6, { channels: 4, depths: [8, 16], name: 'RGBA' }],
]);

// Adam7 passes: [x start, y start, x step, y step].
const ADAM7 = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

interface Header {
  width: number;
  height: number;
  depth: number;
  colourType: number;
  channels: number;
  interlaced: boolean;
}

function passSizes(h: Header): [number, number][] {
  if (!h.interlaced) return [[h.width, h.height]];
  return ADAM7.map(([x0, y0, dx, dy]) => [Math.ceil(Math.max(0, h.width - x0) / dx), Math.ceil(Math.max(0, h.height - y0) / dy)]);
}

function rowBytes(h: Header, width: number): number {
  return Math.ceil((width * h.channels * h.depth) / 8);
}

/** Reverses the per-row filters in place; `data` holds (1 + rowLength) bytes per row. */
function unfilter(data: Uint8Array, start: number, rowLength: number, rows: number, bpp: number): void {
  const stride = rowLength + 1;
  // A zero row stands in for the one above the first.
  const zero = new Uint8Array(rowLength);
  for (let y = 0; y < rows; y++) {
    const at = start + y * stride;
    const filter = data[at];
    const cur = data.subarray(at + 1, at + stride);
    const prev = y === 0 ? zero : data.subarray(at + 1 - stride, at);
    switch (filter) {
      case 0:
        break;
      case 1:
        for (let x = bpp; x < rowLength; x++) cur[x] = ((cur[x] as number) + (cur[x - bpp] as number)) & 0xff;
        break;
      case 2:
        for (let x = 0; x < rowLength; x++) cur[x] = ((cur[x] as number) + (prev[x] as number)) & 0xff;
        break;
      case 3:
        for (let x = 0; x < rowLength; x++) {
          const a = x >= bpp ? (cur[x - bpp] as number) : 0;
          cur[x] = ((cur[x] as number) + ((a + (prev[x] as number)) >> 1)) & 0xff;
        }
        break;
      case 4:
        for (let x = 0; x < rowLength; x++) {
          const a = x >= bpp ? (cur[x - bpp] as number) : 0;
          const b = prev[x] as number;
          const c = x >= bpp ? (prev[x - bpp] as number) : 0;
          const pa = Math.abs(b - c); // |p - a| with p = a + b - c
          const pb = Math.abs(a - c);
          const pc = Math.abs(a + b - 2 * c);
          cur[x] = ((cur[x] as number) + (pa <= pb && pa <= pc ? a : pb <= pc ? b : c)) & 0xff;
        }
        break;
      default:
        throw new RasterError('malformed', `PNG row ${y} has unknown filter type ${filter}`);
    }
  }
}

/** Sample `i` of a packed row (bit depths 1, 2, 4, 8, 16, most significant bits first). */
function sample(data: Uint8Array, rowStart: number, i: number, depth: number): number {
  if (depth === 8) return data[rowStart + i] ?? 0;
  if (depth === 16) return ((data[rowStart + 2 * i] ?? 0) << 8) | (data[rowStart + 2 * i + 1] ?? 0);
  const bit = i * depth;
  const byte = data[rowStart + (bit >> 3)] ?? 0;
  return (byte >> (8 - depth - (bit & 7))) & ((1 << depth) - 1);
}

function readChunks(bytes: Uint8Array): { header: Header; palette: Uint8Array | null; idat: Uint8Array[]; hasTrns: boolean } {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = PNG_SIGNATURE.length;
  let header: Header | null = null;
  let palette: Uint8Array | null = null;
  let hasTrns = false;
  const idat: Uint8Array[] = [];
  for (;;) {
    if (pos + 8 > bytes.length) throw new RasterError('truncated', `PNG ends after ${bytes.length} bytes, before its IEND chunk`);
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (length > 0x7fffffff || !/^[A-Za-z]{4}$/.test(type))
      throw new RasterError('malformed', `PNG chunk at byte ${pos} is damaged`);
    if (pos + 12 + length > bytes.length)
      throw new RasterError('truncated', `PNG ends inside its ${type} chunk (${bytes.length} bytes)`);
    const data = bytes.subarray(pos + 8, pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) {
      throw new RasterError('malformed', `PNG ${type} chunk fails its CRC check (the file is damaged)`);
    }
    pos += 12 + length;
    if (header === null && type !== 'IHDR') throw new RasterError('malformed', 'PNG does not start with an IHDR chunk');
    switch (type) {
      case 'IHDR': {
        if (length !== 13 || header) throw new RasterError('malformed', 'PNG has a damaged or repeated IHDR chunk');
        const d = new DataView(data.buffer, data.byteOffset, 13);
        const colourType = data[9] ?? 0;
        const info = COLOUR_TYPES.get(colourType);
        const depth = data[8] ?? 0;
        if (!info) throw new RasterError('malformed', `PNG colour type ${colourType} does not exist`);
        if (!info.depths.includes(depth)) throw new RasterError('malformed', `PNG ${info.name} cannot have bit depth ${depth}`);
        if (data[10] !== 0 || data[11] !== 0 || (data[12] ?? 0) > 1)
          throw new RasterError('unsupported', 'PNG uses an unknown compression, filter or interlace method');
        header = {
          width: d.getUint32(0),
          height: d.getUint32(4),
          depth,
          colourType,
          channels: info.channels,
          interlaced: data[12] === 1,
        };
        if (header.width === 0 || header.height === 0) throw new RasterError('malformed', 'PNG has zero width or height');
        break;
      }
      case 'PLTE':
        if (length % 3 !== 0 || length === 0 || length > 768)
          throw new RasterError('malformed', `PNG palette has ${length} bytes`);
        palette = data;
        break;
      case 'tRNS':
        hasTrns = true;
        break;
      case 'IDAT':
        idat.push(data);
        break;
      case 'IEND':
        if (!header) throw new RasterError('malformed', 'PNG has no IHDR chunk');
        return { header, palette, idat, hasTrns };
      default:
        // Lower-case first letter: ancillary, safe to skip. Upper case: needed to decode.
        if (type.charCodeAt(0) < 0x61) throw new RasterError('unsupported', `PNG has a critical chunk ${type} we do not know`);
    }
  }
}

export function decodePng(bytes: Uint8Array, maxPixels: number): DecodedPixels {
  const { header: h, palette, idat, hasTrns } = readChunks(bytes);
  if (h.width * h.height > maxPixels) {
    throw new RasterError('too-large', `PNG is ${h.width}×${h.height}, over the ${maxPixels}-pixel limit`);
  }
  if (h.colourType === 3 && !palette) throw new RasterError('malformed', 'palette PNG without a PLTE chunk');
  if (idat.length === 0) throw new RasterError('malformed', 'PNG has no IDAT chunk');

  const passes = passSizes(h);
  const expected = passes.reduce((n, [w, ht]) => n + (w && ht ? ht * (1 + rowBytes(h, w)) : 0), 0);
  let raw: Uint8Array;
  try {
    raw = inflateSync(Buffer.concat(idat), { maxOutputLength: expected });
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code === 'Z_BUF_ERROR') throw new RasterError('truncated', 'PNG image data ends early (the file is cut short)', e);
    if (code === 'ERR_BUFFER_TOO_LARGE') throw new RasterError('malformed', 'PNG image data is larger than its IHDR says', e);
    throw new RasterError('malformed', `PNG image data is damaged (${(e as Error).message})`, e);
  }
  if (raw.length < expected) throw new RasterError('truncated', `PNG image data has ${raw.length} of ${expected} bytes`);

  const spp: 1 | 3 = h.colourType === 0 || h.colourType === 4 ? 1 : 3;
  const out = h.depth === 16 ? new Uint16Array(h.width * h.height * spp) : new Uint8Array(h.width * h.height * spp);
  const bpp = Math.max(1, (h.channels * h.depth) >> 3);
  let offset = 0;
  passes.forEach(([pw, ph], p) => {
    if (pw === 0 || ph === 0) return;
    const [x0, y0, dx, dy] = h.interlaced ? (ADAM7[p] ?? ADAM7[0]) : [0, 0, 1, 1];
    const length = rowBytes(h, pw);
    unfilter(raw, offset, length, ph, bpp);
    for (let y = 0; y < ph; y++) {
      const rowStart = offset + y * (length + 1) + 1;
      const outRow = (y0 + y * dy) * h.width;
      if (h.colourType === 3) {
        for (let x = 0; x < pw; x++) {
          const o = (outRow + x0 + x * dx) * 3;
          const index = sample(raw, rowStart, x, h.depth) * 3;
          out[o] = palette?.[index] ?? 0;
          out[o + 1] = palette?.[index + 1] ?? 0;
          out[o + 2] = palette?.[index + 2] ?? 0;
        }
      } else if (h.depth === 8) {
        // Gray, gray+alpha, RGB, RGBA: the first `spp` samples; alpha is dropped.
        for (let x = 0, s = rowStart; x < pw; x++, s += h.channels) {
          const o = (outRow + x0 + x * dx) * spp;
          for (let c = 0; c < spp; c++) out[o + c] = raw[s + c] as number;
        }
      } else {
        for (let x = 0; x < pw; x++) {
          const o = (outRow + x0 + x * dx) * spp;
          for (let c = 0; c < spp; c++) out[o + c] = sample(raw, rowStart, x * h.channels + c, h.depth);
        }
      }
    }
    offset += ph * (length + 1);
  });

  const warnings: string[] = [];
  if (h.colourType === 4 || h.colourType === 6 || hasTrns) warnings.push('alpha channel dropped');
  if (h.colourType === 3) warnings.push('palette expanded to RGB');
  if (h.interlaced) warnings.push('Adam7 interlaced');
  return {
    rows: h.height,
    columns: h.width,
    samplesPerPixel: spp,
    bitsStored: h.colourType === 3 ? 8 : h.depth,
    pixels: out,
    warnings,
  };
}
