// The per-slice post-processing of a softmax (multi-class) model, issue 22: model.json's
// `output.activation: 'softmax'` has channel 0 = background and channel k = labels[k−1], painted
// as label value values[k−1]. The label map is the argmax of the class probabilities resampled
// bilinearly to the slice (after averaging the softmax over the TTA flips), cleaned per label,
// one label per pixel; the uncertainty is the normalised entropy of the averaged distribution.
//
// As for the binary model (slice-mask.ts), only the slice pixels that can be foreground are
// resampled: a pixel whose four taps all have background probability above ½ is background
// (the classes' interpolated probabilities sum to 1, so no other class can exceed it).
import { flipPlanes, type Flip } from './postprocess';
import { resizeBilinear, resampleAxis, type Letterbox } from './preprocess';
import { encodeSliceMaskRle, reach, type SliceMask } from './slice-mask';

/**
 * Softmax over `classes` planes of `plane` values each (C×H×W at `offset`), in place, for the
 * pixels `from … from + count − 1` of every plane; returns the sum over those pixels of the
 * normalised entropy H(p) / log C (0 = certain, 1 = uniform), computed from the logits as
 * log S − Σ p_k (l_k − max l) with one logarithm per pixel (S = Σ exp(l_k − max l)).
 */
export function softmaxPlanes(values: Float32Array, offset: number, classes: number, plane: number, from: number, count: number): number {
  const norm = 1 / Math.log(classes);
  let total = 0;
  for (let i = offset + from; i < offset + from + count; i++) {
    let max = values[i]!;
    for (let c = 1; c < classes; c++) if (values[i + c * plane]! > max) max = values[i + c * plane]!;
    let sum = 0;
    let weighted = 0;
    for (let c = 0; c < classes; c++) {
      const d = values[i + c * plane]! - max;
      const e = Math.exp(d);
      sum += e;
      weighted += e * d;
      values[i + c * plane] = e;
    }
    const inv = 1 / sum;
    for (let c = 0; c < classes; c++) values[i + c * plane]! *= inv;
    total += (Math.log(sum) - weighted * inv) * norm;
  }
  return total;
}

/** `softmaxPlanes` over the letterboxed rows only (the padding is never read); returns the mean normalised entropy inside the letterbox. */
export function softmaxLetterbox(values: Float32Array, offset: number, classes: number, box: Letterbox): number {
  const plane = box.width * box.height;
  let total = 0;
  for (let y = 0; y < box.scaledHeight; y++)
    total += softmaxPlanes(values, offset, classes, plane, (y + box.offsetY) * box.width + box.offsetX, box.scaledWidth);
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
      for (let c = 0; c < classes; c++) {
        const p = prob[offset + c * plane + k]!;
        if (p > 0) h -= p * Math.log(p);
      }
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
export function labelAgreement(a: Float32Array, aOffset: number, b: Float32Array, bOffset: number, classes: number, plane: number): number {
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
export function unletterboxLabels(prob: Float32Array, offset: number, classes: number, box: Letterbox, columns: number, rows: number, values: number[]): Uint8Array {
  const plane = box.width * box.height;
  const resized: Float32Array[] = [];
  for (let c = 0; c < classes; c++) {
    const first = offset + c * plane + box.offsetY * box.width + box.offsetX;
    resized.push(resizeBilinear(prob, box.scaledWidth, box.scaledHeight, columns, rows, new Float32Array(columns * rows), columns, 0, undefined, box.width, first));
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
      if (x > 0 && !seen[k - 1] && m[k - 1] === value === same) {
        seen[k - 1] = 1;
        queue[tail++] = k - 1;
      }
      if (x < w - 1 && !seen[k + 1] && m[k + 1] === value === same) {
        seen[k + 1] = 1;
        queue[tail++] = k + 1;
      }
      if (k >= w && !seen[k - w] && m[k - w] === value === same) {
        seen[k - w] = 1;
        queue[tail++] = k - w;
      }
      if (k + w < n && !seen[k + w] && m[k + w] === value === same) {
        seen[k + w] = 1;
        queue[tail++] = k + w;
      }
    }
    return tail;
  }

  /** Marks in `seen` every pixel joined to the box's edge through pixels that are not `label`; returns how many. */
  fromEdge(m: Uint8Array, w: number, h: number, label: number): number {
    const n = w * h;
    this.seen.fill(0, 0, n);
    let reached = 0;
    const visit = (k: number) => {
      if (!this.seen[k] && m[k] !== label) reached += this.region(m, w, n, k, label, false);
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
export function cleanLabels(m: Uint8Array, w: number, h: number, minPixels: number, fillHoles: boolean, fill: Fill = new Fill()): number {
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
  if (fillHoles && present.size > 0) {
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

/** The slice's label map from a softmax model's probabilities, resampling only where a label can win. */
export class SliceLabeler {
  private local = new Uint8Array(0);
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
    for (let y = 0; y < box.scaledHeight; y++) {
      const row = first + y * stride;
      for (let x = 0; x < box.scaledWidth; x++) {
        if (prob[row + x]! <= near) {
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
        let best = 0;
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
 * The heat map's RLE for a softmax model: the normalised entropy plane (H×W on the model grid,
 * `entropyPlane`) resampled bilinearly to columns × rows and quantised to 0..255 (round(e × 255)),
 * the same 0..255 scale as the binary model's map; only the box of slice pixels that some tap
 * above 1/512 reaches is resampled, elsewhere the heat is 0.
 */
export function entropyRle(entropy: Float32Array, box: Letterbox, columns: number, rows: number, scratch: { heat: Uint8Array }): Uint8Array {
  const first = box.offsetY * box.width + box.offsetX;
  const stride = box.width;
  let sx0 = box.scaledWidth;
  let sy0 = box.scaledHeight;
  let sx1 = -1;
  let sy1 = -1;
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = first + y * stride;
    for (let x = 0; x < box.scaledWidth; x++) {
      if (entropy[row + x]! >= COLD) {
        if (x < sx0) sx0 = x;
        if (x > sx1) sx1 = x;
        if (y < sy0) sy0 = y;
        sy1 = y;
      }
    }
  }
  const ax = resampleAxis(box.scaledWidth, columns);
  const ay = resampleAxis(box.scaledHeight, rows);
  const rx = sx1 < 0 ? null : reach(ax, sx0, sx1);
  const ry = sx1 < 0 ? null : reach(ay, sy0, sy1);
  if (!rx || !ry) return encodeSliceMaskRle({ box: new Uint8Array(0), bounds: null, columns, rows, foreground: 0 });
  const [X0, X1] = rx;
  const [Y0, Y1] = ry;
  const w = X1 - X0 + 1;
  const n = w * (Y1 - Y0 + 1);
  if (scratch.heat.length < n) scratch.heat = new Uint8Array(n);
  const heat = scratch.heat;
  for (let y = Y0; y <= Y1; y++) {
    const wy = ay.weight[y]!;
    const row0 = first + ay.lo[y]! * stride;
    const row1 = first + ay.hi[y]! * stride;
    const o = (y - Y0) * w - X0;
    for (let x = X0; x <= X1; x++) {
      const x0 = ax.lo[x]!;
      const x1 = ax.hi[x]!;
      const wx = ax.weight[x]!;
      const top = entropy[row0 + x0]! + (entropy[row0 + x1]! - entropy[row0 + x0]!) * wx;
      const bottom = entropy[row1 + x0]! + (entropy[row1 + x1]! - entropy[row1 + x0]!) * wx;
      const v = Math.round(Math.fround(top + (bottom - top) * wy) * 255);
      heat[o + x] = v > 255 ? 255 : v;
    }
  }
  return encodeSliceMaskRle({ box: heat, bounds: { x0: X0, y0: Y0, x1: X1, y1: Y1 }, columns, rows, foreground: 0 });
}

/** One slice's stored prediction from a softmax model (the RLEs as `predictions` keeps them). */
export interface SoftmaxSliceResult {
  /** RLE of the label map (label values, 0 = background), columns × rows. */
  mask: Uint8Array;
  /** RLE of the heat map (normalised entropy × 255); null without TTA. */
  uncertainty: Uint8Array | null;
  foreground: number;
  /** Mean normalised entropy inside the letterbox (0…1), the series' uncertainty score. */
  entropy: number;
  /** Mean `labelAgreement` of each flip with the unflipped run; null without TTA. */
  ttaDice: number | null;
}

/**
 * The softmax model's per-slice pipeline after the run: softmax → un-flip and average over the
 * TTA flips → entropy → argmax resampled to the slice → per-label clean-up → RLE. Buffers are
 * kept between slices. The logits of one slice are `flips.length` blocks of C×H×W at `first`
 * (flip f's block at first + f·C·H·W, as the worker batches them); they are overwritten.
 */
export class SoftmaxSlices {
  private readonly labeler = new SliceLabeler();
  private mean = new Float32Array(0);
  private entropy = new Float32Array(0);
  private readonly heat = { heat: new Uint8Array(0) };

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
    const mean = this.mean.subarray(0, block);
    mean.fill(0);
    const scale = 1 / flips.length;
    for (const [f, flip] of flips.entries()) {
      const offset = first + f * block;
      softmaxPlanes(logits, offset, classes, plane, 0, plane);
      flipPlanes(logits, box.width, box.height, classes, flip, offset);
      for (let k = 0; k < block; k++) mean[k]! += logits[offset + k]! * scale;
    }
    let agreement = 0;
    for (let f = 1; f < flips.length; f++) agreement += labelAgreement(logits, first, logits, first + f * block, classes, plane);
    const entropy = entropyPlane(mean, 0, classes, box, this.entropy);
    const m = this.labeler.labels(mean, 0, classes, box, columns, rows, values, minPixels, fillHoles);
    return {
      mask: encodeSliceMaskRle(m),
      uncertainty: entropyRle(this.entropy, box, columns, rows, this.heat),
      foreground: m.foreground,
      entropy,
      ttaDice: agreement / (flips.length - 1),
    };
  }
}
