// The stored uncertainty heat map (`predictions.uncertainty`) in its two forms, and the one
// decoder the viewer uses for both:
//
// - **At the slice's size** (every binary prediction, and softmax predictions stored before
//   2026-12-06): the RLE (rle.ts) of columns × rows values 0..255.
// - **On the model's grid** (softmax predictions from 2026-12-06 on, issue 22): a header, then the
//   RLE of the letterboxed part of the model's grid (scaledWidth × scaledHeight values 0..255,
//   round(normalised entropy × 255)). The viewer resamples it bilinearly to the slice with the
//   same pixel-centre mapping the label map was resampled with (preprocess.ts `resampleAxis`).
//   Writing the map at the slice's size was most of the softmax post-processing of a 512² CT
//   (a run per pixel: docs/benchmarks.md, "perf"); the displayed map differs from the slice-size
//   one by at most one level of 255 (tested): each stored level is within ½ of 255·entropy, a
//   bilinear weight keeps that bound, and rounding adds at most ½ more.
//
// Header (8 bytes): 0x00 0x00 — a run of length 0, which no RLE writer here emits, so no
// slice-size map starts with it — then 0x47 ('G'), the format version 1, and the grid's width
// and height as little-endian uint16.
import { resampleAxis } from './preprocess';
import { decodeRle, encodeRle } from './rle';

const HEADER = 8;
const MARK = 0x47;
const VERSION = 1;

/** True for a heat map stored on the model's grid (header above); false for one at the slice's size. */
export function isGridHeatMap(stored: Uint8Array): boolean {
  return stored.length >= HEADER && stored[0] === 0 && stored[1] === 0 && stored[2] === MARK;
}

/**
 * A model-grid heat map as stored: `heat` holds width × height values 0..255 (row-major, the
 * letterboxed part of the model's grid only). Throws for a grid larger than 65535 on a side.
 */
export function encodeGridHeatMap(heat: Uint8Array, width: number, height: number): Uint8Array {
  if (width < 1 || height < 1 || width > 0xffff || height > 0xffff)
    throw new Error(`heat map grid ${width}×${height} cannot be stored`);
  const rle = encodeRle(heat.subarray(0, width * height));
  const out = new Uint8Array(HEADER + rle.length);
  out.set([0, 0, MARK, VERSION, width & 0xff, width >> 8, height & 0xff, height >> 8]);
  out.set(rle, HEADER);
  return out;
}

/** The grid size of a model-grid heat map (`isGridHeatMap`); throws for another format version. */
export function gridHeatMapSize(stored: Uint8Array): { width: number; height: number } {
  if (stored[3] !== VERSION) throw new Error(`heat map format version ${stored[3]} is not known`);
  return { width: stored[4]! | (stored[5]! << 8), height: stored[6]! | (stored[7]! << 8) };
}

/**
 * The heat map shown over a slice (columns × rows values 0..255) from either stored form: a
 * slice-size RLE is decoded as it is; a model-grid map is decoded and resampled bilinearly
 * (pixel centres, edge-clamped: `resampleAxis`, as the label map), each value rounded to the
 * nearest level. Throws when the stored bytes do not hold the size they claim.
 */
export function decodeHeatMap(stored: Uint8Array, columns: number, rows: number): Uint8Array {
  if (!isGridHeatMap(stored)) return decodeRle(stored, columns * rows);
  const { width, height } = gridHeatMapSize(stored);
  const grid = decodeRle(stored.subarray(HEADER), width * height);
  const ax = resampleAxis(width, columns);
  const ay = resampleAxis(height, rows);
  // Separable: each grid row interpolated along x once, then each slice row along y.
  const across = new Float64Array(height * columns);
  for (let r = 0; r < height; r++) {
    const src = r * width;
    const o = r * columns;
    for (let x = 0; x < columns; x++) {
      const a = grid[src + ax.lo[x]!]!;
      across[o + x] = a + (grid[src + ax.hi[x]!]! - a) * ax.weight[x]!;
    }
  }
  const out = new Uint8Array(columns * rows);
  for (let y = 0; y < rows; y++) {
    const top = ay.lo[y]! * columns;
    const bottom = ay.hi[y]! * columns;
    const wy = ay.weight[y]!;
    const o = y * columns;
    for (let x = 0; x < columns; x++) {
      const t = across[top + x]!;
      out[o + x] = (t + (across[bottom + x]! - t) * wy + 0.5) | 0;
    }
  }
  return out;
}
