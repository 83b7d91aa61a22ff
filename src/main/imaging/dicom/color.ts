// Colour layout and colour space: planar → interleaved, YBR (full, partial, 4:2:2) → RGB.
// Coefficients are those of PS3.3 C.7.6.3.1.2 (ITU-R BT.601).
import type { PixelArray } from './types';

/** Photometric Interpretations the decoder converts to grey or RGB (PS3.3 C.7.6.3.1.2). */
export const DECODED_PHOTOMETRIC: ReadonlySet<string> = new Set([
  'MONOCHROME1',
  'MONOCHROME2',
  'RGB',
  'PALETTE COLOR',
  'YBR_FULL',
  'YBR_FULL_422',
  'YBR_PARTIAL_422',
  'YBR_PARTIAL_420',
  'YBR_ICT',
  'YBR_RCT',
]);

/** RRR…GGG…BBB… → RGBRGB…, into a new array of the same type. */
export function planarToInterleaved<T extends PixelArray>(planar: T, pixels: number, samples: number): T {
  const out = new (planar.constructor as new (n: number) => T)(pixels * samples);
  for (let s = 0; s < samples; s++) {
    const base = s * pixels;
    for (let i = 0; i < pixels; i++) out[i * samples + s] = planar[base + i] ?? 0;
  }
  return out;
}

/** Y0 Y1 Cb Cr per pixel pair (4:2:2 subsampling) → Y Cb Cr per pixel, interleaved. */
export function expandYbr422<T extends PixelArray>(sub: T, rows: number, columns: number): T {
  const out = new (sub.constructor as new (n: number) => T)(rows * columns * 3);
  let src = 0;
  let dst = 0;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < columns; c += 2) {
      const y0 = sub[src] ?? 0;
      const y1 = sub[src + 1] ?? 0;
      const cb = sub[src + 2] ?? 0;
      const cr = sub[src + 3] ?? 0;
      src += 4;
      out[dst++] = y0;
      out[dst++] = cb;
      out[dst++] = cr;
      if (c + 1 < columns) {
        out[dst++] = y1;
        out[dst++] = cb;
        out[dst++] = cr;
      }
    }
  }
  return out;
}

/** Interleaved Y Cb Cr → R G B in place, for unsigned samples of `bits` precision. */
export function ybrToRgb(px: PixelArray, bits: number, partial: boolean): void {
  const max = 2 ** Math.min(bits, 16) - 1;
  const half = 2 ** (Math.min(bits, 16) - 1);
  // Partial range: Y in [16, 235], Cb/Cr in [16, 240] for 8 bits, scaled for more.
  const scale = 2 ** (Math.min(bits, 16) - 8);
  const clamp = (v: number) => (v < 0 ? 0 : v > max ? max : Math.round(v));
  for (let i = 0; i + 2 < px.length; i += 3) {
    const y = px[i] ?? 0;
    const cb = (px[i + 1] ?? 0) - half;
    const cr = (px[i + 2] ?? 0) - half;
    if (partial) {
      const yy = 1.1644 * (y - 16 * scale);
      px[i] = clamp(yy + 1.596 * cr);
      px[i + 1] = clamp(yy - 0.3918 * cb - 0.813 * cr);
      px[i + 2] = clamp(yy + 2.0172 * cb);
    } else {
      px[i] = clamp(y + 1.402 * cr);
      px[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
      px[i + 2] = clamp(y + 1.772 * cb);
    }
  }
}

export function isYbr(photometric: string): boolean {
  return photometric.startsWith('YBR_');
}
