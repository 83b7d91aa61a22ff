// Minimal PNG encoder for 8-bit images (grey, grey+alpha, RGB, RGBA; adaptive row filters): the
// demo data, thumbnails and exported masks. Decoding is the raster reader's (imaging/raster/png.ts).
import { crc32, deflateSync } from 'node:zlib';

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
