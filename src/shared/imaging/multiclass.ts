// The per-slice post-processing of a softmax (multi-class) model, issue 22: model.json's
// `output.activation: 'softmax'` has channel 0 = background and channel k = labels[k−1], painted
// as label value values[k−1]. The label map is the argmax of the class probabilities resampled
// bilinearly to the slice (after averaging the softmax over the TTA flips), cleaned per label,
// one label per pixel; the uncertainty is the normalised entropy of the averaged distribution.
//
// As for the binary model (slice-mask.ts), only the slice pixels that can be foreground are
// resampled: a pixel whose four taps all have background probability above ½ is background
// (the classes' interpolated probabilities sum to 1, so no other class can exceed it).
import type { Flip } from './postprocess';
import { resizeBilinear, resampleAxis, type Letterbox, type ResampleAxis } from './preprocess';
import { encodeGridHeatMap } from './heat-map';
import { encodeSliceMaskRle, heatBounds, reach, type SliceMask } from './slice-mask';
import { withSoftmaxKernel } from './wasm/softmax';

// A class whose logit is this far below the top one gets probability 0 instead of e^−30 < 1e-13
// of it (float32 keeps 1e-7 of the top class's): no exponential for it.
const FAR = -30;

// exp on [FAR, 0] and −p·ln p on [0, 1] from tables with linear interpolation: Math.exp and
// Math.log per class and pixel were most of the post-processing (tests/bench/postprocess-multiclass.ts:
// 35 ns against 6 ns per value). 2^16 steps: exp errs by under 3e-8 relative (float32 keeps
// 6e-8), −p·ln p by under 5e-5 absolute (a 255-level heat map step is 0.004 of log 2).
const STEPS = 1 << 16;
const EXP_SCALE = STEPS / -FAR;
const EXP_TABLE = (() => {
  const t = new Float64Array(STEPS + 2);
  for (let i = 0; i <= STEPS + 1; i++) t[i] = Math.exp(FAR + i / EXP_SCALE);
  return t;
})();
const PLOGP_TABLE = (() => {
  const t = new Float64Array(STEPS + 2);
  for (let i = 1; i <= STEPS; i++) t[i] = -(i / STEPS) * Math.log(i / STEPS);
  return t;
})();

// ln s for 1 ≤ s ≤ 64 (a softmax denominator after subtracting the top logit: 1 ≤ s ≤ C), table
// with linear interpolation, errs by under 2e-7 (the TTA-off score only); Math.log above.
const LOG_STEPS = 1 << 16;
const LOG_MAX = 64;
const LOG_SCALE = LOG_STEPS / (LOG_MAX - 1);
const LOG_TABLE = (() => {
  const t = new Float64Array(LOG_STEPS + 2);
  for (let i = 0; i <= LOG_STEPS + 1; i++) t[i] = Math.log(1 + i / LOG_SCALE);
  return t;
})();

function logSum(s: number): number {
  if (s > LOG_MAX) return Math.log(s);
  const x = (s - 1) * LOG_SCALE;
  const k = x | 0;
  return LOG_TABLE[k]! + (LOG_TABLE[k + 1]! - LOG_TABLE[k]!) * (x - k);
}

/** e^d for FAR ≤ d ≤ 0 (table, linear interpolation); 0 below FAR. */
function expFar(d: number): number {
  if (d < FAR) return 0;
  const x = (d - FAR) * EXP_SCALE;
  const k = x | 0;
  return EXP_TABLE[k]! + (EXP_TABLE[k + 1]! - EXP_TABLE[k]!) * (x - k);
}

/** −p·ln p for 0 ≤ p ≤ 1 (table, linear interpolation). */
function pLogP(p: number): number {
  const x = p * STEPS;
  const k = x | 0;
  return PLOGP_TABLE[k]! + (PLOGP_TABLE[k + 1]! - PLOGP_TABLE[k]!) * (x - k);
}

/**
 * Softmax over `classes` planes of `plane` values each (C×H×W at `offset`), in place, for the
 * pixels `from … from + count − 1` of every plane; returns the sum over those pixels of the
 * normalised entropy H(p) / log C (0 = certain, 1 = uniform), computed from the logits as
 * log S − Σ p_k (l_k − max l) with one logarithm per pixel (S = Σ exp(l_k − max l)). Classes
 * more than 30 below the top logit get probability 0.
 */
export function softmaxPlanes(
  values: Float32Array,
  offset: number,
  classes: number,
  plane: number,
  from: number,
  count: number,
): number {
  const norm = 1 / Math.log(classes);
  let total = 0;
  for (let i = offset + from; i < offset + from + count; i++) {
    let max = values[i]!;
    for (let c = 1; c < classes; c++) if (values[i + c * plane]! > max) max = values[i + c * plane]!;
    let sum = 0;
    let weighted = 0;
    for (let c = 0; c < classes; c++) {
      const d = values[i + c * plane]! - max;
      const e = d === 0 ? 1 : expFar(d);
      sum += e;
      weighted += e * d;
      values[i + c * plane] = e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) values[i + c * plane]! *= inv;
    total += (logSum(sum) - weighted * inv) * norm;
  }
  return total;
}

/**
 * Softmax over the whole planes (C×H×W at `offset`, in place, classes more than 30 below the top
 * logit get 0), without the entropy; the argmax class of each pixel (ties: the lower class) is
 * written to `argmax` (H×W).
 */
export function softmaxArgmax(values: Float32Array, offset: number, classes: number, plane: number, argmax: Uint8Array): void {
  for (let k = 0; k < plane; k++) {
    const i = offset + k;
    let max = values[i]!;
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (values[i + c * plane]! > max) {
        max = values[i + c * plane]!;
        best = c;
      }
    }
    argmax[k] = best;
    let sum = 0;
    for (let c = 0; c < classes; c++) {
      const d = values[i + c * plane]! - max;
      const e = c === best ? 1 : expFar(d);
      sum += e;
      values[i + c * plane] = e;
    }
    if (sum === 1) continue;
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) values[i + c * plane]! *= inv;
  }
}

/**
 * `softmaxArgmax` with the softmax in the WebAssembly SIMD kernel where it loads (`softmaxWhole`):
 * the argmax class of each pixel (ties: the lower class) is read from the logits first (the
 * softmax keeps their order), then the planes become probabilities in place. The argmax is the
 * same as `softmaxArgmax`'s; the probabilities agree with it within 1e-6 (wasm.test.ts).
 */
export function softmaxArgmaxFast(
  values: Float32Array,
  offset: number,
  classes: number,
  plane: number,
  argmax: Uint8Array,
): void {
  for (let k = 0; k < plane; k++) argmax[k] = argmaxAt(values, offset + k, classes, plane);
  softmaxWhole(values, offset, classes, plane);
}

/**
 * mean (+)= scale × the un-flipped planes of a C×H×W block at `offset` that was computed on an
 * input flipped by `flip` (`flipPlanes` then adding, in one pass); `first` sets instead of adding.
 */
export function addFlipped(
  mean: Float32Array,
  block: Float32Array,
  offset: number,
  classes: number,
  width: number,
  height: number,
  flip: Flip,
  scale: number,
  first: boolean,
): void {
  const h = flip === 'h' || flip === 'hv';
  const v = flip === 'v' || flip === 'hv';
  const plane = width * height;
  for (let c = 0; c < classes; c++) {
    for (let y = 0; y < height; y++) {
      const o = c * plane + y * width;
      const src = offset + c * plane + (v ? height - 1 - y : y) * width;
      if (h) {
        if (first) for (let x = 0; x < width; x++) mean[o + x] = block[src + width - 1 - x]! * scale;
        else for (let x = 0; x < width; x++) mean[o + x]! += block[src + width - 1 - x]! * scale;
      } else if (first) for (let x = 0; x < width; x++) mean[o + x] = block[src + x]! * scale;
      else for (let x = 0; x < width; x++) mean[o + x]! += block[src + x]! * scale;
    }
  }
}

/** Flips a W×H label plane (its own inverse), as `flipPlanes` flips probabilities. */
export function flipLabels(labels: Uint8Array, width: number, height: number, flip: Flip): void {
  if (flip === 'h' || flip === 'hv') for (let y = 0; y < height; y++) labels.subarray(y * width, (y + 1) * width).reverse();
  if (flip === 'v' || flip === 'hv') {
    const row = new Uint8Array(width);
    for (let y = 0, e = height - 1; y < e; y++, e--) {
      row.set(labels.subarray(y * width, (y + 1) * width));
      labels.copyWithin(y * width, e * width, (e + 1) * width);
      labels.set(row, e * width);
    }
  }
}

/** `labelAgreement` of two argmax planes (H×W class indices, 0 = background). */
export function argmaxAgreement(a: Uint8Array, b: Uint8Array): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x !== 0) sa++;
    if (y !== 0) sb++;
    if (x !== 0 && x === y) inter++;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

/**
 * `softmaxPlanes` over the whole planes (C×`plane` at `offset`), through the WebAssembly SIMD
 * kernel where it loads (the last plane mod 4 pixels, and everything without it, in JavaScript);
 * returns the sum of the normalised entropy over the plane. For the 3D sliding window's patches.
 */
export function softmaxWhole(values: Float32Array, offset: number, classes: number, plane: number): number {
  const fast = plane - (plane % 4);
  const kernel = withSoftmaxKernel(values, offset, classes, plane, (softmax) => softmax(0, fast));
  return kernel === null
    ? softmaxPlanes(values, offset, classes, plane, 0, plane)
    : kernel + softmaxPlanes(values, offset, classes, plane, fast, plane - fast);
}

/**
 * `softmaxPlanes` over the letterboxed rows only (the padding is never read); returns the mean
 * normalised entropy inside the letterbox. With WebAssembly SIMD (wasm/softmax.ts) each row's
 * pixels go four at a time through its float32 kernel, the last (width mod 4) through
 * `softmaxPlanes`; `simd: false` keeps the JavaScript path throughout (the reference).
 */
export function softmaxLetterbox(values: Float32Array, offset: number, classes: number, box: Letterbox, simd = true): number {
  const plane = box.width * box.height;
  const width = box.scaledWidth;
  const fast = width - (width % 4);
  const rowStart = (y: number) => (y + box.offsetY) * box.width + box.offsetX;
  const kernel = simd
    ? withSoftmaxKernel(values, offset, classes, plane, (softmax) => {
        let sum = 0;
        for (let y = 0; y < box.scaledHeight; y++) sum += softmax(rowStart(y), fast);
        return sum;
      })
    : null;
  let total = kernel ?? 0;
  for (let y = 0; y < box.scaledHeight; y++)
    total +=
      kernel === null
        ? softmaxPlanes(values, offset, classes, plane, rowStart(y), width)
        : softmaxPlanes(values, offset, classes, plane, rowStart(y) + fast, width - fast);
  return total / (box.scaledWidth * box.scaledHeight);
}

/**
 * Normalised entropy −Σ p_k log p_k / log C of class probabilities (C×H×W at `offset`) inside
 * the letterbox, written to `out` (H×W, same indices; values outside the letterbox untouched);
 * returns its mean over the letterbox. 0 = one class certain, 1 = all classes equally likely.
 */
export function entropyPlane(prob: Float32Array, offset: number, classes: number, box: Letterbox, out: Float32Array): number {
  const plane = box.width * box.height;
  const norm = 1 / Math.log(classes);
  let total = 0;
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = (y + box.offsetY) * box.width + box.offsetX;
    for (let k = row; k < row + box.scaledWidth; k++) {
      let h = 0;
      for (let c = 0; c < classes; c++) h += pLogP(prob[offset + c * plane + k]!);
      const e = h * norm;
      out[k] = e;
      total += e;
    }
  }
  return total / (box.scaledWidth * box.scaledHeight);
}

/** Argmax class (0 = background) of one pixel; ties go to the lower class, background first. */
function argmaxAt(prob: Float32Array, index: number, classes: number, plane: number): number {
  let best = 0;
  let max = prob[index]!;
  for (let c = 1; c < classes; c++) {
    const p = prob[index + c * plane]!;
    if (p > max) {
      max = p;
      best = c;
    }
  }
  return best;
}

/**
 * Agreement of two class-probability blocks' argmax label maps on the model grid (two TTA
 * flips, both un-flipped): Dice of the foreground over pixels given the same label,
 * 2·|{a = b ≠ 0}| / (|{a ≠ 0}| + |{b ≠ 0}|); two empty maps agree perfectly. With one label
 * it is the binary pipeline's `thresholdDice`.
 */
export function labelAgreement(
  a: Float32Array,
  aOffset: number,
  b: Float32Array,
  bOffset: number,
  classes: number,
  plane: number,
): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < plane; i++) {
    const x = argmaxAt(a, aOffset + i, classes, plane);
    const y = argmaxAt(b, bOffset + i, classes, plane);
    if (x !== 0) sa++;
    if (y !== 0) sb++;
    if (x !== 0 && x === y) inter++;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

/**
 * Reference path (tests): every class's letterboxed probabilities resampled to the slice
 * (`resizeBilinear`, float32 as stored), then the argmax; class k paints `values[k−1]`.
 * `prob` is C×H×W at `offset` on the model grid; the result is columns × rows.
 */
export function unletterboxLabels(
  prob: Float32Array,
  offset: number,
  classes: number,
  box: Letterbox,
  columns: number,
  rows: number,
  values: number[],
): Uint8Array {
  const plane = box.width * box.height;
  const resized: Float32Array[] = [];
  for (let c = 0; c < classes; c++) {
    const first = offset + c * plane + box.offsetY * box.width + box.offsetX;
    resized.push(
      resizeBilinear(
        prob,
        box.scaledWidth,
        box.scaledHeight,
        columns,
        rows,
        new Float32Array(columns * rows),
        columns,
        0,
        undefined,
        box.width,
        first,
      ),
    );
  }
  const out = new Uint8Array(columns * rows);
  for (let i = 0; i < out.length; i++) {
    let best = 0;
    let max = resized[0]![i]!;
    for (let c = 1; c < classes; c++) {
      if (resized[c]![i]! > max) {
        max = resized[c]![i]!;
        best = c;
      }
    }
    out[i] = best === 0 ? 0 : values[best - 1]!;
  }
  return out;
}

/** Breadth-first fill buffers, kept between slices. */
class Fill {
  seen = new Uint8Array(0);
  queue = new Int32Array(0);
  size(n: number): void {
    if (this.seen.length < n) {
      this.seen = new Uint8Array(n);
      this.queue = new Int32Array(n);
    }
  }

  /** 4-connected region from `start` over pixels where (m[k] === value) === same; marks `seen`, returns its size (pixels in queue[0…size−1]). */
  region(m: Uint8Array, w: number, n: number, start: number, value: number, same: boolean): number {
    const { seen, queue } = this;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
      const k = queue[head++]!;
      const x = k % w;
      if (x > 0 && !seen[k - 1] && (m[k - 1] === value) === same) {
        seen[k - 1] = 1;
        queue[tail++] = k - 1;
      }
      if (x < w - 1 && !seen[k + 1] && (m[k + 1] === value) === same) {
        seen[k + 1] = 1;
        queue[tail++] = k + 1;
      }
      if (k >= w && !seen[k - w] && (m[k - w] === value) === same) {
        seen[k - w] = 1;
        queue[tail++] = k - w;
      }
      if (k + w < n && !seen[k + w] && (m[k + w] === value) === same) {
        seen[k + w] = 1;
        queue[tail++] = k + w;
      }
    }
    return tail;
  }

  /**
   * Marks in `seen` every pixel joined to the box's edge through pixels that are not `label`
   * (`same`: through pixels that are `label`); returns how many.
   */
  fromEdge(m: Uint8Array, w: number, h: number, label: number, same = false): number {
    const n = w * h;
    this.seen.fill(0, 0, n);
    let reached = 0;
    const visit = (k: number) => {
      if (!this.seen[k] && (m[k] === label) === same) reached += this.region(m, w, n, k, label, same);
    };
    for (let x = 0; x < w; x++) {
      visit(x);
      visit((h - 1) * w + x);
    }
    for (let y = 0; y < h; y++) {
      visit(y * w);
      visit(y * w + w - 1);
    }
    return reached;
  }
}

/**
 * Today's clean-up rules (postprocess.ts `cleanMask`) applied per label on a label map, in place:
 * 4-connected components of one label smaller than `minPixels` become background; then each
 * label's holes — background not joined to the border except through that label — are filled
 * with that label. A pocket that is a hole of several labels (nested structures) takes the
 * innermost, the label whose filled area is smallest; pixels of other labels are never
 * overwritten, so one label per pixel holds. With a single label it is `cleanMask` exactly.
 * The map may be a box holding all foreground of a larger one (outside it is background).
 * Returns the foreground pixel count.
 */
export function cleanLabels(
  m: Uint8Array,
  w: number,
  h: number,
  minPixels: number,
  fillHoles: boolean,
  fill: Fill = new Fill(),
): number {
  const n = w * h;
  fill.size(n);
  const seen = fill.seen;
  const present = new Set<number>();
  seen.fill(0, 0, n);
  for (let k = 0; k < n; k++) {
    const v = m[k]!;
    if (v === 0 || seen[k]) continue;
    const count = fill.region(m, w, n, k, v, true);
    if (count < minPixels) for (let q = 0; q < count; q++) m[fill.queue[q]!] = 0;
    else present.add(v);
  }
  // A hole of any label is background that cannot reach the edge through background: without
  // such pockets (the common case) there is nothing to fill, found with one flood.
  let background = 0;
  if (fillHoles && present.size > 0) for (let k = 0; k < n; k++) if (m[k] === 0) background++;
  if (fillHoles && present.size > 0 && fill.fromEdge(m, w, h, 0, true) < background) {
    const labels = [...present];
    // The filled area of each label (its pixels and its holes): nested labels have nested areas.
    const area = new Map<number, number>();
    if (labels.length > 1) for (const label of labels) area.set(label, n - fill.fromEdge(m, w, h, label));
    labels.sort((a, b) => (area.get(a) ?? 0) - (area.get(b) ?? 0) || a - b);
    for (const label of labels) {
      fill.fromEdge(m, w, h, label);
      for (let k = 0; k < n; k++) if (!seen[k] && m[k] === 0) m[k] = label;
    }
  }
  let foreground = 0;
  for (let k = 0; k < n; k++) if (m[k] !== 0) foreground++;
  return foreground;
}

// As in slice-mask.ts: the background probability's margin above ½ that float rounding of an
// interpolation cannot cross.
const MARGIN = 1e-6;
// Margin of a model cell's top class over the next above which resampling cannot change the
// argmax: float32 rounding of interpolated values (≤ 1) moves each by under 6e-8.
const SURE = 1e-6;

/** The slice's label map from a softmax model's probabilities, resampling only where a label can win. */
export class SliceLabeler {
  private local = new Uint8Array(0);
  private cells = new Int8Array(0);
  private readonly fill = new Fill();

  /**
   * Class probabilities on the model grid (C × `box.width × box.height` at `offset`, the slice
   * letterboxed in it) → the slice's label map (columns × rows): per class bilinear resample
   * (float32), argmax (class k paints `values[k−1]`, background 0), then `cleanLabels`. Equal to
   * `cleanLabels(unletterboxLabels(…))` on the whole slice (tested), but only the pixels
   * reached by a model cell whose background probability is at most ½ are resampled.
   */
  labels(
    prob: Float32Array,
    offset: number,
    classes: number,
    box: Letterbox,
    columns: number,
    rows: number,
    values: number[],
    minPixels: number,
    fillHoles: boolean,
  ): SliceMask {
    const plane = box.width * box.height;
    const ax = resampleAxis(box.scaledWidth, columns);
    const ay = resampleAxis(box.scaledHeight, rows);
    const first = offset + box.offsetY * box.width + box.offsetX;
    const stride = box.width;
    let sx0 = box.scaledWidth;
    let sy0 = box.scaledHeight;
    let sx1 = -1;
    let sy1 = -1;
    const near = 0.5 + MARGIN;
    // Each model cell's argmax class where it wins by more than SURE, else −1: a slice pixel whose
    // four taps agree on a sure class has that class (a bilinear weight keeps p_c − p_j > 0).
    if (this.cells.length < plane) this.cells = new Int8Array(plane);
    const cells = this.cells;
    for (let y = 0; y < box.scaledHeight; y++) {
      const row = first + y * stride;
      for (let x = 0; x < box.scaledWidth; x++) {
        const i = row + x;
        if (prob[i]! <= near) {
          if (x < sx0) sx0 = x;
          if (x > sx1) sx1 = x;
          if (y < sy0) sy0 = y;
          sy1 = y;
          let best = 0;
          let max = prob[i]!;
          let second = -1;
          for (let c = 1, p = plane; c < classes; c++, p += plane) {
            const v = prob[i + p]!;
            if (v > max) {
              second = max;
              max = v;
              best = c;
            } else if (v > second) second = v;
          }
          cells[i - offset] = max - second > SURE ? best : -1;
        } else cells[i - offset] = 0; // background by more than 2·MARGIN
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
    if (this.local.length < w * h) this.local = new Uint8Array(Math.max(w * h, this.local.length * 2));
    const local = this.local.subarray(0, w * h);
    let any = false;
    for (let y = Y0; y <= Y1; y++) {
      const wy = ay.weight[y]!;
      const row0 = first + ay.lo[y]! * stride;
      const row1 = first + ay.hi[y]! * stride;
      const o = (y - Y0) * w - X0;
      for (let x = X0; x <= X1; x++) {
        const a = row0 + ax.lo[x]!;
        const b = row0 + ax.hi[x]!;
        const d = row1 + ax.lo[x]!;
        const e = row1 + ax.hi[x]!;
        const wx = ax.weight[x]!;
        let best = cells[a - offset]!;
        if (best < 0 || best !== cells[b - offset] || best !== cells[d - offset] || best !== cells[e - offset]) best = 0;
        else {
          if (best !== 0) {
            local[o + x] = values[best - 1]!;
            any = true;
          } else local[o + x] = 0;
          continue;
        }
        let max = -1;
        for (let c = 0, p = 0; c < classes; c++, p += plane) {
          const top = prob[a + p]! + (prob[b + p]! - prob[a + p]!) * wx;
          const bottom = prob[d + p]! + (prob[e + p]! - prob[d + p]!) * wx;
          const v = Math.fround(top + (bottom - top) * wy);
          if (v > max) {
            max = v;
            best = c;
          }
        }
        if (best === 0) local[o + x] = 0;
        else {
          local[o + x] = values[best - 1]!;
          any = true;
        }
      }
    }
    if (!any) return empty;
    const foreground = cleanLabels(local, w, h, minPixels, fillHoles, this.fill);
    if (foreground === 0) return empty;
    return { box: local, bounds: { x0: X0, y0: Y0, x1: X1, y1: Y1 }, columns, rows, foreground };
  }
}

// A heat of round(e × 255) is 0 below this normalised entropy: slice pixels whose four taps all
// lie under it need no resampling.
const COLD = 1 / 512;

/**
 * The heat map as a softmax prediction stores it (heat-map.ts, on the model's grid): the
 * letterboxed part of the normalised entropy plane (H×W on the model grid, `entropyPlane`),
 * quantised to round(e × 255), scaledWidth × scaledHeight values. The viewer resamples it to the
 * slice (`decodeHeatMap`), within one level of `entropyRle`'s slice-size map (tested).
 */
export function gridHeatMap(entropy: Float32Array, box: Letterbox, scratch: { grid?: Uint8Array }): Uint8Array {
  const w = box.scaledWidth;
  const h = box.scaledHeight;
  if (!scratch.grid || scratch.grid.length < w * h) scratch.grid = new Uint8Array(w * h);
  const grid = scratch.grid;
  for (let y = 0; y < h; y++) {
    const src = (y + box.offsetY) * box.width + box.offsetX;
    const o = y * w;
    for (let x = 0; x < w; x++) {
      // Math.round for a value ≥ 0
      const v = (entropy[src + x]! * 255 + 0.5) | 0;
      grid[o + x] = v > 255 ? 255 : v;
    }
  }
  return encodeGridHeatMap(grid, w, h);
}

/**
 * The heat map at the slice's size, as softmax predictions stored it before 2026-12-06 (the
 * reference `gridHeatMap` is tested against): the normalised entropy plane (H×W on the model grid,
 * `entropyPlane`) resampled bilinearly to columns × rows and quantised to 0..255 (round(e × 255)),
 * the same 0..255 scale as the binary model's map; only the box of slice pixels that some tap
 * above 1/512 reaches is resampled, elsewhere the heat is 0.
 */
export function entropyRle(
  entropy: Float32Array,
  box: Letterbox,
  columns: number,
  rows: number,
  scratch: { heat: Uint8Array; rows?: Float64Array },
): Uint8Array {
  const first = box.offsetY * box.width + box.offsetX;
  const stride = box.width;
  let sx0 = box.scaledWidth;
  let sy0 = box.scaledHeight;
  let sx1 = -1;
  let sy1 = -1;
  // Per model row, the columns at or above COLD (from > to: none): slice pixels outside the
  // reach of their two rows' columns are 0 without resampling.
  const from = new Int32Array(box.scaledHeight).fill(box.scaledWidth);
  const to = new Int32Array(box.scaledHeight).fill(-1);
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = first + y * stride;
    for (let x = 0; x < box.scaledWidth; x++) {
      if (entropy[row + x]! >= COLD) {
        if (x < from[y]!) from[y] = x;
        to[y] = x;
      }
    }
    if (to[y]! >= 0) {
      if (from[y]! < sx0) sx0 = from[y]!;
      if (to[y]! > sx1) sx1 = to[y]!;
      if (y < sy0) sy0 = y;
      sy1 = y;
    }
  }
  const reached = heatBounds(box, columns, rows, sx0, sx1, sy0, sy1);
  if (!reached) return encodeSliceMaskRle({ box: new Uint8Array(0), bounds: null, columns, rows, foreground: 0 });
  const { ax, ay, X0, X1, Y0, Y1 } = reached;
  const w = X1 - X0 + 1;
  const n = w * (Y1 - Y0 + 1);
  if (scratch.heat.length < n) scratch.heat = new Uint8Array(n);
  const heat = scratch.heat;
  // Separable: each source row the box reads is interpolated along x once (the same float64
  // values the four-tap expression computes), then each slice pixel is one interpolation along y.
  const r0 = ay.lo[Y0]!;
  const r1 = ay.hi[Y1]!;
  const need = (r1 - r0 + 1) * w;
  if (!scratch.rows || scratch.rows.length < need) scratch.rows = new Float64Array(need);
  const across = scratch.rows;
  // The slice columns whose taps reach model columns a…b: firstReach[a] … lastReach[b].
  const { first: firstReach, last: lastReach } = reachTable(ax, box.scaledWidth);
  const span = (a: number, b: number): [number, number] => [Math.max(X0, firstReach[a]!), Math.min(X1, lastReach[b]!)];
  for (let r = r0; r <= r1; r++) {
    const above = Math.max(0, r - 1);
    const below = Math.min(box.scaledHeight - 1, r + 1);
    const a = Math.min(from[above]!, from[r]!, from[below]!);
    const b = Math.max(to[above]!, to[r]!, to[below]!);
    if (b < a) continue;
    const [x0, x1] = span(a, b);
    const src = first + r * stride;
    const o = (r - r0) * w - X0;
    for (let x = x0; x <= x1; x++) {
      const v = entropy[src + ax.lo[x]!]!;
      across[o + x] = v + (entropy[src + ax.hi[x]!]! - v) * ax.weight[x]!;
    }
  }
  for (let y = Y0; y <= Y1; y++) {
    const wy = ay.weight[y]!;
    const lo = ay.lo[y]!;
    const hi = ay.hi[y]!;
    const top = (lo - r0) * w - X0;
    const bottom = (hi - r0) * w - X0;
    const o = (y - Y0) * w - X0;
    const a = Math.min(from[lo]!, from[hi]!);
    const b = Math.max(to[lo]!, to[hi]!);
    heat.fill(0, o + X0, o + X1 + 1);
    if (b < a) continue;
    const [x0, x1] = span(a, b);
    for (let x = x0; x <= x1; x++) {
      const t = across[top + x]!;
      // Math.round for a value ≥ 0
      const v = (Math.fround(t + (across[bottom + x]! - t) * wy) * 255 + 0.5) | 0;
      heat[o + x] = v > 255 ? 255 : v;
    }
  }
  return encodeSliceMaskRle({ box: heat, bounds: { x0: X0, y0: Y0, x1: X1, y1: Y1 }, columns, rows, foreground: 0 });
}

const reachTables = new WeakMap<ResampleAxis, { first: Int32Array; last: Int32Array }>();
/** For each source index s: the first destination index whose taps reach s or beyond, and the last whose taps start at or before s. */
function reachTable(axis: ResampleAxis, sources: number): { first: Int32Array; last: Int32Array } {
  let t = reachTables.get(axis);
  if (t) return t;
  const dst = axis.lo.length;
  t = { first: new Int32Array(sources), last: new Int32Array(sources) };
  for (let s = 0, x = 0; s < sources; s++) {
    while (x < dst && axis.hi[x]! < s) x++;
    t.first[s] = x;
  }
  for (let s = sources - 1, x = dst - 1; s >= 0; s--) {
    while (x >= 0 && axis.lo[x]! > s) x--;
    t.last[s] = x;
  }
  reachTables.set(axis, t);
  return t;
}

/** One slice's stored prediction from a softmax model (the RLEs as `predictions` keeps them). */
export interface SoftmaxSliceResult {
  /** RLE of the label map (label values, 0 = background), columns × rows. */
  mask: Uint8Array;
  /** The heat map (normalised entropy × 255) on the model's grid (heat-map.ts); null without TTA. */
  uncertainty: Uint8Array | null;
  foreground: number;
  /** Mean normalised entropy inside the letterbox (0…1), the series' uncertainty score. */
  entropy: number;
  /** Mean `labelAgreement` of each flip's argmax with the unflipped run's; null without TTA. */
  ttaDice: number | null;
}

/**
 * The softmax model's per-slice pipeline after the run: softmax → un-flip and average over the
 * TTA flips → entropy (the heat map kept on the model's grid) → argmax resampled to the slice →
 * per-label clean-up → RLE. Buffers are
 * kept between slices. The logits of one slice are `flips.length` blocks of C×H×W at `first`
 * (flip f's block at first + f·C·H·W, as the worker batches them); they are overwritten.
 */
export class SoftmaxSlices {
  private readonly labeler = new SliceLabeler();
  private mean = new Float32Array(0);
  private entropy = new Float32Array(0);
  private argmax = new Uint8Array(0);
  private readonly heat: { grid?: Uint8Array } = {};

  slice(
    logits: Float32Array,
    first: number,
    flips: readonly Flip[],
    classes: number,
    box: Letterbox,
    columns: number,
    rows: number,
    values: number[],
    minPixels: number,
    fillHoles: boolean,
  ): SoftmaxSliceResult {
    const plane = box.width * box.height;
    const block = classes * plane;
    if (flips.length === 1) {
      // Only the letterboxed rows are read below: the padding needs no softmax.
      const entropy = softmaxLetterbox(logits, first, classes, box);
      const m = this.labeler.labels(logits, first, classes, box, columns, rows, values, minPixels, fillHoles);
      return { mask: encodeSliceMaskRle(m), uncertainty: null, foreground: m.foreground, entropy, ttaDice: null };
    }
    if (this.mean.length < block) this.mean = new Float32Array(block);
    if (this.entropy.length < plane) this.entropy = new Float32Array(plane);
    if (this.argmax.length < flips.length * plane) this.argmax = new Uint8Array(flips.length * plane);
    const mean = this.mean.subarray(0, block);
    const n = flips.length;
    const scale = 1 / n;
    for (const [f, flip] of flips.entries()) {
      const offset = first + f * block;
      const argmax = this.argmax.subarray(f * plane, (f + 1) * plane);
      softmaxArgmaxFast(logits, offset, classes, plane, argmax);
      // Un-flipped while averaged: read each flipped pixel from its mirrored place.
      addFlipped(mean, logits, offset, classes, box.width, box.height, flip, scale, f === 0);
      flipLabels(argmax, box.width, box.height, flip);
    }
    let agreement = 0;
    for (let f = 1; f < n; f++)
      agreement += argmaxAgreement(this.argmax.subarray(0, plane), this.argmax.subarray(f * plane, (f + 1) * plane));
    const entropy = entropyPlane(mean, 0, classes, box, this.entropy);
    const m = this.labeler.labels(mean, 0, classes, box, columns, rows, values, minPixels, fillHoles);
    return {
      mask: encodeSliceMaskRle(m),
      uncertainty: gridHeatMap(this.entropy, box, this.heat),
      foreground: m.foreground,
      entropy,
      ttaDice: agreement / (flips.length - 1),
    };
  }
}
