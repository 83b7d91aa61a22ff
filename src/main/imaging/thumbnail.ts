// A small 8-bit preview of a frame for the worklist: the file's window, else the 1–99th
// percentiles; box-averaged down to at most `size` pixels on the long side; PNG.
import { applyWindow, percentileWindow } from '../../shared/imaging/window';
import { encodePng } from './raster/png-encoder';
import type { LoadedFrame } from './frames';

export function thumbnailPng(frame: LoadedFrame, size = 128): Uint8Array {
  const { rows, columns, samplesPerPixel: spp } = frame;
  const scale = Math.min(1, size / Math.max(rows, columns));
  const w = Math.max(1, Math.round(columns * scale));
  const h = Math.max(1, Math.round(rows * scale));
  let gray: Uint8Array;
  if (spp === 1) {
    const window =
      frame.windowCenter !== null && frame.windowWidth !== null && frame.windowWidth > 0
        ? { center: frame.windowCenter, width: frame.windowWidth }
        : percentileWindow(frame.pixels, frame.slope, frame.intercept);
    gray = applyWindow(frame.pixels, window, frame.slope, frame.intercept, frame.photometric === 'MONOCHROME1');
  } else {
    // Colour: luminance of the interleaved RGB values, scaled to 8 bits.
    const max = frame.pixels.BYTES_PER_ELEMENT === 1 ? 255 : 65535;
    gray = new Uint8Array(rows * columns);
    for (let i = 0; i < gray.length; i++) {
      const r = frame.pixels[i * spp]!;
      const g = frame.pixels[i * spp + 1]!;
      const b = frame.pixels[i * spp + 2]!;
      gray[i] = Math.min(255, ((0.299 * r + 0.587 * g + 0.114 * b) * 255) / max);
    }
  }
  const out = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.floor((y * rows) / h);
    const y1 = Math.max(y0 + 1, Math.floor(((y + 1) * rows) / h));
    for (let x = 0; x < w; x++) {
      const x0 = Math.floor((x * columns) / w);
      const x1 = Math.max(x0 + 1, Math.floor(((x + 1) * columns) / w));
      let sum = 0;
      for (let yy = y0; yy < y1; yy++) for (let xx = x0; xx < x1; xx++) sum += gray[yy * columns + xx]!;
      out[y * w + x] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return encodePng({ width: w, height: h, channels: 1, data: out });
}
