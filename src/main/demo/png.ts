// Minimal PNG codec for 8-bit images: encoder (grey or RGB, adaptive row filters) and a
// decoder for non-interlaced 8-bit grey, grey+alpha, RGB and RGBA with all five row filters.

import { deflateSync, inflateSync } from 'node:zlib';

export interface RasterImage {
  width: number;
  height: number;
  /** 1 grey, 2 grey+alpha, 3 RGB, 4 RGBA. */
  channels: 1 | 2 | 3 | 4;
  /** Row-major, interleaved channels, width × height × channels bytes. */
  data: Uint8Array;
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPE: Record<RasterImage['channels'], number> = { 1: 0, 2: 4, 3: 2, 4: 6 };
const CHANNELS_OF: Record<number, RasterImage['channels']> = { 0: 1, 4: 2, 2: 3, 6: 4 };

let crcTable: Uint32Array | undefined;

/** CRC-32 (ISO 3309, as used by PNG and zlib). */
export function crc32(bytes: Uint8Array, crc = 0): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = (crcTable[(c ^ (bytes[i] ?? 0)) & 0xff] ?? 0) ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** Writes filter `type` of `row` (previous row `prev`) into out[1..], with out[0] = type. */
function filterRow(type: number, row: Uint8Array, prev: Uint8Array, bpp: number, out: Uint8Array): void {
  out[0] = type;
  for (let i = 0; i < row.length; i++) {
    const x = row[i] ?? 0;
    const a = i >= bpp ? (row[i - bpp] ?? 0) : 0;
    const b = prev[i] ?? 0;
    const c = i >= bpp ? (prev[i - bpp] ?? 0) : 0;
    const pred = type === 0 ? 0 : type === 1 ? a : type === 2 ? b : type === 3 ? (a + b) >> 1 : paeth(a, b, c);
    out[i + 1] = (x - pred) & 0xff;
  }
}

export interface EncodeOptions {
  /** Row filter: 'adaptive' picks per row the filter with the smallest sum of |signed residuals|. */
  filter?: 'adaptive' | 0 | 1 | 2 | 3 | 4;
  level?: number;
}

export function encodePng(img: RasterImage, options: EncodeOptions = {}): Uint8Array {
  const { width, height, channels, data } = img;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new RangeError(`bad PNG size ${width}×${height}`);
  }
  const stride = width * channels;
  if (data.length !== stride * height) throw new RangeError(`expected ${stride * height} bytes, got ${data.length}`);
  const filter = options.filter ?? 'adaptive';
  const raw = new Uint8Array((stride + 1) * height);
  const candidate = new Uint8Array(stride + 1);
  let prev: Uint8Array = new Uint8Array(stride);
  for (let y = 0; y < height; y++) {
    const row = data.subarray(y * stride, (y + 1) * stride);
    const dest = raw.subarray(y * (stride + 1), (y + 1) * (stride + 1));
    if (filter !== 'adaptive') {
      filterRow(filter, row, prev, channels, dest);
    } else {
      let best = Infinity;
      for (let type = 0; type <= 4; type++) {
        filterRow(type, row, prev, channels, candidate);
        let cost = 0;
        for (let i = 1; i <= stride; i++) {
          const v = candidate[i] ?? 0;
          cost += v < 128 ? v : 256 - v;
        }
        if (cost < best) {
          best = cost;
          dest.set(candidate);
        }
      }
    }
    prev = row;
  }
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr[8] = 8;
  ihdr[9] = COLOR_TYPE[channels];
  const idat = deflateSync(raw, { level: options.level ?? 6 });
  const parts = [SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', new Uint8Array(0))];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Encodes a 1-channel 8-bit image. */
export function encodeGrayPng(width: number, height: number, data: Uint8Array, options?: EncodeOptions): Uint8Array {
  return encodePng({ width, height, channels: 1, data }, options);
}

export class PngError extends Error {
  override name = 'PngError';
}

export function decodePng(bytes: Uint8Array): RasterImage {
  for (let i = 0; i < 8; i++) if (bytes[i] !== SIGNATURE[i]) throw new PngError('not a PNG file');
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let width = 0;
  let height = 0;
  let channels: RasterImage['channels'] | undefined;
  const idat: Uint8Array[] = [];
  let pos = 8;
  let sawEnd = false;
  while (pos + 12 <= bytes.length) {
    const length = view.getUint32(pos);
    const type = String.fromCharCode(...bytes.subarray(pos + 4, pos + 8));
    if (pos + 12 + length > bytes.length) throw new PngError(`truncated ${type} chunk`);
    const body = bytes.subarray(pos + 8, pos + 8 + length);
    if (crc32(bytes.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) {
      throw new PngError(`bad CRC in ${type} chunk`);
    }
    if (type === 'IHDR') {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const [depth, colorType, compression, filterMethod, interlace] = body.subarray(8, 13);
      if (depth !== 8) throw new PngError(`only 8-bit PNGs are supported (got ${depth}-bit)`);
      channels = CHANNELS_OF[colorType ?? -1];
      if (!channels) throw new PngError(`unsupported colour type ${colorType} (palette PNGs are not supported)`);
      if (compression !== 0 || filterMethod !== 0) throw new PngError('unknown compression or filter method');
      if (interlace !== 0) throw new PngError('interlaced PNGs are not supported');
    } else if (type === 'IDAT') {
      idat.push(body);
    } else if (type === 'IEND') {
      sawEnd = true;
      break;
    }
    pos += 12 + length;
  }
  if (!channels || width === 0 || height === 0) throw new PngError('missing IHDR');
  if (!sawEnd) throw new PngError('missing IEND');
  const raw = inflateSync(Buffer.concat(idat));
  const stride = width * channels;
  if (raw.length < (stride + 1) * height) throw new PngError('image data too short');
  const out = new Uint8Array(stride * height);
  const bpp = channels;
  for (let y = 0; y < height; y++) {
    const type = raw[y * (stride + 1)];
    const src = y * (stride + 1) + 1;
    const dst = y * stride;
    for (let i = 0; i < stride; i++) {
      const x = raw[src + i] ?? 0;
      const a = i >= bpp ? (out[dst + i - bpp] ?? 0) : 0;
      const b = y > 0 ? (out[dst - stride + i] ?? 0) : 0;
      const c = i >= bpp && y > 0 ? (out[dst - stride + i - bpp] ?? 0) : 0;
      let pred: number;
      switch (type) {
        case 0: pred = 0; break;
        case 1: pred = a; break;
        case 2: pred = b; break;
        case 3: pred = (a + b) >> 1; break;
        case 4: pred = paeth(a, b, c); break;
        default: throw new PngError(`bad filter type ${type} on row ${y}`);
      }
      out[dst + i] = (x + pred) & 0xff;
    }
  }
  return { width, height, channels, data: out };
}
