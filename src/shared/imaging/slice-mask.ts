// The inference pipeline's per-slice post-processing, done where the result cannot differ from
// the reference path (postprocess.ts: unletterboxMask → cleanMask → encodeRle) yet costs less:
// only the slice pixels whose bilinear taps reach the threshold are resampled, the clean-up
// runs on that box alone, and the RLE walks the box, so the rest of the slice is never touched.
// Every buffer is kept between slices (docs/benchmarks.md, issue 16).
import { binaryEntropy } from './postprocess';
import { resampleAxis, type Letterbox, type ResampleAxis } from './preprocess';

/** Inclusive pixel bounding box. */
export interface PixelBox {
  x0: number;
  y0: number;
  x1: number;
  y1: number;
}

/** One slice's cleaned label map, inside `box`; pixels outside it are background. */
export interface SliceMask {
  /** Row-major box contents (width x1 − x0 + 1); a view into the masker's buffer, valid until its next call. */
  box: Uint8Array;
  /** null: no foreground anywhere. */
  bounds: PixelBox | null;
  columns: number;
  rows: number;
  foreground: number;
}

/** The destination range whose taps touch source [from, to] (taps are monotonic); null if none. */
export function reach(axis: ResampleAxis, from: number, to: number): [number, number] | null {
  const dst = axis.lo.length;
  let a = 0;
  while (a < dst && axis.hi[a]! < from) a++;
  let b = dst - 1;
  while (b >= 0 && axis.lo[b]! > to) b--;
  return a <= b ? [a, b] : null;
}

// A probability at most this far below the threshold cannot be lifted above it by the rounding
// of an interpolation between such values; the box is found with this margin so that no pixel
// outside it could have been foreground on the reference path.
const MARGIN = 1e-6;

export class SliceMasker {
  private local = new Uint8Array(0);
  private seen = new Uint8Array(0);
  private queue = new Int32Array(0);

  /**
   * The slice's label map from model-grid probabilities (the letterboxed slice inside a
   * `box.width × box.height` plane starting at `offset`): bilinear resample to
   * columns × rows, `> t` is foreground, then components under `minPixels` dropped and
   * enclosed holes filled (4-connectivity) when asked. Equal to
   * `cleanMask(unletterboxMask(prob, box, columns, rows, t), …)` (tested on real predictions).
   */
  mask(
    prob: Float32Array,
    offset: number,
    box: Letterbox,
    columns: number,
    rows: number,
    t: number,
    minPixels: number,
    fillHoles: boolean,
  ): SliceMask {
    const ax = resampleAxis(box.scaledWidth, columns);
    const ay = resampleAxis(box.scaledHeight, rows);
    const first = offset + box.offsetY * box.width + box.offsetX;
    const stride = box.width;
    // Source cells that may reach the threshold.
    let sx0 = box.scaledWidth;
    let sy0 = box.scaledHeight;
    let sx1 = -1;
    let sy1 = -1;
    const near = t - MARGIN;
    for (let y = 0; y < box.scaledHeight; y++) {
      const row = first + y * stride;
      for (let x = 0; x < box.scaledWidth; x++) {
        if (prob[row + x]! > near) {
          if (x < sx0) sx0 = x;
          if (x > sx1) sx1 = x;
          if (y < sy0) sy0 = y;
          sy1 = y;
        }
      }
    }
    const empty: SliceMask = { box: this.local.subarray(0, 0), bounds: null, columns, rows, foreground: 0 };
    if (sx1 < 0) return empty;
    const rx = reach(ax, sx0, sx1);
    const ry = reach(ay, sy0, sy1);
    if (!rx || !ry) return empty;
    const [X0, X1] = rx;
    const [Y0, Y1] = ry;
    const w = X1 - X0 + 1;
    const h = Y1 - Y0 + 1;
    const local = this.scratch(w * h);
    let any = false;
    for (let y = Y0; y <= Y1; y++) {
      const wy = ay.weight[y]!;
      const row0 = first + ay.lo[y]! * stride;
      const row1 = first + ay.hi[y]! * stride;
      const o = (y - Y0) * w - X0;
      for (let x = X0; x <= X1; x++) {
        const x0 = ax.lo[x]!;
        const x1 = ax.hi[x]!;
        const wx = ax.weight[x]!;
        const top = prob[row0 + x0]! + (prob[row0 + x1]! - prob[row0 + x0]!) * wx;
        const bottom = prob[row1 + x0]! + (prob[row1 + x1]! - prob[row1 + x0]!) * wx;
        const v = top + (bottom - top) * wy;
        if (v > t) {
          local[o + x] = 1;
          any = true;
        } else local[o + x] = 0;
      }
    }
    if (!any) return empty;
    const foreground = this.clean(local, w, h, minPixels, fillHoles);
    if (foreground === 0) return empty;
    return { box: local, bounds: { x0: X0, y0: Y0, x1: X1, y1: Y1 }, columns, rows, foreground };
  }

  /**
   * `cleanMask` on a box that holds all of the foreground, with reused queues and box-local
   * indices; returns the foreground count. The box need not be tight: background reached from
   * its edge is background reached from the slice's border (everything outside is background).
   */
  private clean(m: Uint8Array, w: number, h: number, minPixels: number, fillHoles: boolean): number {
    const n = w * h;
    if (this.seen.length < n) {
      this.seen = new Uint8Array(n);
      this.queue = new Int32Array(n);
    }
    const seen = this.seen;
    const queue = this.queue;
    seen.fill(0, 0, n);
    const fill = (start: number, value: number): number => {
      let head = 0;
      let tail = 0;
      queue[tail++] = start;
      seen[start] = 1;
      while (head < tail) {
        const k = queue[head++]!;
        const x = k % w;
        if (x > 0 && !seen[k - 1] && m[k - 1] === value) {
          seen[k - 1] = 1;
          queue[tail++] = k - 1;
        }
        if (x < w - 1 && !seen[k + 1] && m[k + 1] === value) {
          seen[k + 1] = 1;
          queue[tail++] = k + 1;
        }
        if (k >= w && !seen[k - w] && m[k - w] === value) {
          seen[k - w] = 1;
          queue[tail++] = k - w;
        }
        if (k + w < n && !seen[k + w] && m[k + w] === value) {
          seen[k + w] = 1;
          queue[tail++] = k + w;
        }
      }
      return tail;
    };
    if (minPixels > 1) {
      for (let k = 0; k < n; k++) {
        if (seen[k] || m[k] === 0) continue;
        const count = fill(k, m[k]!);
        if (count < minPixels) for (let q = 0; q < count; q++) m[queue[q]!] = 0;
      }
    }
    if (fillHoles) {
      seen.fill(0, 0, n);
      const fromEdge = (k: number) => {
        if (!seen[k] && m[k] === 0) fill(k, 0);
      };
      for (let x = 0; x < w; x++) {
        fromEdge(x);
        fromEdge((h - 1) * w + x);
      }
      for (let y = 0; y < h; y++) {
        fromEdge(y * w);
        fromEdge(y * w + w - 1);
      }
      for (let k = 0; k < n; k++) if (!seen[k] && m[k] === 0) m[k] = 1;
    }
    let foreground = 0;
    for (let k = 0; k < n; k++) if (m[k] !== 0) foreground++;
    return foreground;
  }

  private scratch(n: number): Uint8Array {
    if (this.local.length < n) this.local = new Uint8Array(Math.max(n, this.local.length * 2));
    return this.local.subarray(0, n);
  }
}

/**
 * The RLE of the whole slice (`encodeRle` in rle.ts: value byte, LEB128 run length) written
 * from the box alone; byte for byte what `encodeRle` gives for the full label map.
 */
export function encodeSliceMaskRle(m: SliceMask): Uint8Array {
  const total = m.columns * m.rows;
  const writer = new RunWriter();
  if (!m.bounds) {
    if (total > 0) writer.run(0, total);
    return writer.bytes();
  }
  const { x0, y0, x1, y1 } = m.bounds;
  const w = x1 - x0 + 1;
  let value = 0;
  let run = y0 * m.columns + x0; // background before the box's first pixel
  for (let y = y0; y <= y1; y++) {
    if (y > y0) {
      const gap = m.columns - w; // right of the box on the row above, left of it on this row
      if (gap > 0) {
        if (value === 0) run += gap;
        else {
          writer.run(value, run);
          value = 0;
          run = gap;
        }
      }
    }
    const row = (y - y0) * w;
    for (let x = 0; x < w; x++) {
      const v = m.box[row + x]!;
      if (v === value) run++;
      else {
        if (run > 0) writer.run(value, run);
        value = v;
        run = 1;
      }
    }
  }
  const tail = total - (y1 * m.columns + x1 + 1);
  if (tail > 0) {
    if (value === 0) run += tail;
    else {
      writer.run(value, run);
      value = 0;
      run = tail;
    }
  }
  writer.run(value, run);
  return writer.bytes();
}

class RunWriter {
  private out = new Uint8Array(256);
  private o = 0;
  run(value: number, length: number): void {
    if (this.o + 6 > this.out.length) {
      const bigger = new Uint8Array(this.out.length * 2);
      bigger.set(this.out);
      this.out = bigger;
    }
    this.out[this.o++] = value;
    let n = length;
    while (n >= 0x80) {
      this.out[this.o++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    this.out[this.o++] = n;
  }
  bytes(): Uint8Array {
    return this.out.slice(0, this.o);
  }
}

/** Dice of `a > t` and `b > t` over n values at the given offsets, without making the masks. */
export function thresholdDice(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, n: number, t: number): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < n; i++) {
    const x = a[aOffset + i]! > t ? 1 : 0;
    const y = b[bOffset + i]! > t ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

// Below this probability a pixel's heat, round(entropy × 255), is 0 (checked at load below):
// slice pixels whose four taps all lie under it need no resampling.
const COLD = 1e-4;
if (Math.round(binaryEntropy(COLD + MARGIN) * 255) !== 0) throw new Error('COLD must round to zero heat');

/**
 * The slice pixels (inclusive X0…X1 × Y0…Y1, columns × rows) whose bilinear taps reach the
 * model-grid rectangle sx0…sx1 × sy0…sy1 inside the letterbox, with both axes' resampling tables;
 * null when the rectangle is empty (sx1 < 0) or reaches no slice pixel. A heat map is resampled
 * only there (uncertaintyRle here, the softmax heat map in multiclass.ts).
 */
export function heatBounds(
  box: Letterbox,
  columns: number,
  rows: number,
  sx0: number,
  sx1: number,
  sy0: number,
  sy1: number,
): { ax: ResampleAxis; ay: ResampleAxis; X0: number; X1: number; Y0: number; Y1: number } | null {
  const ax = resampleAxis(box.scaledWidth, columns);
  const ay = resampleAxis(box.scaledHeight, rows);
  const rx = sx1 < 0 ? null : reach(ax, sx0, sx1);
  const ry = sx1 < 0 ? null : reach(ay, sy0, sy1);
  if (!rx || !ry) return null;
  return { ax, ay, X0: rx[0], X1: rx[1], Y0: ry[0], Y1: ry[1] };
}

/**
 * The heat map's RLE: per-pixel binary entropy (bits × 255, rounded) of the model-grid
 * probabilities resampled to columns × rows. Byte for byte
 * `encodeRle(entropyMap(unletterbox(prob, box, columns, rows)))`, but only the box of slice
 * pixels that some tap above `COLD` reaches is resampled; elsewhere the heat is 0.
 */
export function uncertaintyRle(
  prob: Float32Array,
  box: Letterbox,
  columns: number,
  rows: number,
  scratch?: { heat: Uint8Array },
): Uint8Array {
  const first = box.offsetY * box.width + box.offsetX;
  const stride = box.width;
  let sx0 = box.scaledWidth;
  let sy0 = box.scaledHeight;
  let sx1 = -1;
  let sy1 = -1;
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = first + y * stride;
    for (let x = 0; x < box.scaledWidth; x++) {
      if (prob[row + x]! > COLD) {
        if (x < sx0) sx0 = x;
        if (x > sx1) sx1 = x;
        if (y < sy0) sy0 = y;
        sy1 = y;
      }
    }
  }
  const reached = heatBounds(box, columns, rows, sx0, sx1, sy0, sy1);
  if (!reached) return encodeSliceMaskRle({ box: new Uint8Array(0), bounds: null, columns, rows, foreground: 0 });
  const { ax, ay, X0, X1, Y0, Y1 } = reached;
  const w = X1 - X0 + 1;
  const n = w * (Y1 - Y0 + 1);
  let heat = scratch?.heat;
  if (!heat || heat.length < n) {
    heat = new Uint8Array(n);
    if (scratch) scratch.heat = heat;
  }
  for (let y = Y0; y <= Y1; y++) {
    const wy = ay.weight[y]!;
    const row0 = first + ay.lo[y]! * stride;
    const row1 = first + ay.hi[y]! * stride;
    const o = (y - Y0) * w - X0;
    for (let x = X0; x <= X1; x++) {
      const x0 = ax.lo[x]!;
      const x1 = ax.hi[x]!;
      const wx = ax.weight[x]!;
      const top = prob[row0 + x0]! + (prob[row0 + x1]! - prob[row0 + x0]!) * wx;
      const bottom = prob[row1 + x0]! + (prob[row1 + x1]! - prob[row1 + x0]!) * wx;
      // stored as float32 first, as the full-size probability map held it
      heat[o + x] = Math.round(binaryEntropy(Math.fround(top + (bottom - top) * wy)) * 255);
    }
  }
  return encodeSliceMaskRle({ box: heat, bounds: { x0: X0, y0: Y0, x1: X1, y1: Y1 }, columns, rows, foreground: 0 });
}
