// From the model's logits to a stored label map: sigmoid, un-letterbox, resize back, threshold,
// optional clean-up; plus the flip test-time-augmentation helpers and uncertainty scores.
import { resizeBilinear, type Letterbox } from './preprocess';

export function sigmoidInPlace(values: Float32Array, offset = 0, length = values.length - offset): Float32Array {
  for (let i = offset; i < offset + length; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
  return values;
}

/** The probabilities inside the letterbox, resized back to the slice (columns × rows). */
export function unletterbox(prob: Float32Array, box: Letterbox, columns: number, rows: number, offset = 0): Float32Array {
  const crop = cropLetterbox(prob, box, offset);
  if (box.scaledWidth === columns && box.scaledHeight === rows) return crop;
  return resizeBilinear(crop, box.scaledWidth, box.scaledHeight, columns, rows);
}

/** `threshold(unletterbox(…), t)` in one pass: the slice's mask straight from the model's grid. */
export function unletterboxMask(prob: Float32Array, box: Letterbox, columns: number, rows: number, t: number): Uint8Array {
  const mask = new Uint8Array(columns * rows);
  const first = box.offsetY * box.width + box.offsetX;
  return resizeBilinear(prob, box.scaledWidth, box.scaledHeight, columns, rows, mask, columns, 0, t, box.width, first);
}

function cropLetterbox(prob: Float32Array, box: Letterbox, offset: number): Float32Array {
  const crop = new Float32Array(box.scaledWidth * box.scaledHeight);
  for (let y = 0; y < box.scaledHeight; y++) {
    const from = offset + (y + box.offsetY) * box.width + box.offsetX;
    crop.set(prob.subarray(from, from + box.scaledWidth), y * box.scaledWidth);
  }
  return crop;
}

export function threshold(prob: Float32Array, t: number, label = 1): Uint8Array {
  const mask = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) if (prob[i]! > t) mask[i] = label;
  return mask;
}

export type Flip = 'none' | 'h' | 'v' | 'hv';
export const TTA_FLIPS: Record<0 | 2 | 4, Flip[]> = { 0: ['none'], 2: ['none', 'h'], 4: ['none', 'h', 'v', 'hv'] };

/** Flips planes of a C×H×W block (its own inverse). */
export function flipPlanes(data: Float32Array, width: number, height: number, planes: number, flip: Flip, offset = 0): void {
  if (flip === 'none') return;
  const h = flip === 'h' || flip === 'hv';
  const v = flip === 'v' || flip === 'hv';
  for (let p = 0; p < planes; p++) {
    const base = offset + p * width * height;
    if (h) {
      for (let y = 0; y < height; y++) {
        const row = base + y * width;
        for (let x = 0, e = width - 1; x < e; x++, e--) {
          const t = data[row + x]!;
          data[row + x] = data[row + e]!;
          data[row + e] = t;
        }
      }
    }
    if (v) {
      for (let y = 0, e = height - 1; y < e; y++, e--) {
        const a = base + y * width;
        const b = base + e * width;
        for (let x = 0; x < width; x++) {
          const t = data[a + x]!;
          data[a + x] = data[b + x]!;
          data[b + x] = t;
        }
      }
    }
  }
}

// Binary entropy from a table: two logarithms per pixel were a measurable part of the slice
// pipeline; linear interpolation over 4,096 steps of p ∈ [0, 0.5] errs by under 1e-5 bits.
const ENTROPY_STEPS = 4096;
const ENTROPY_TABLE = (() => {
  const t = new Float64Array(ENTROPY_STEPS + 2);
  for (let i = 1; i <= ENTROPY_STEPS; i++) {
    const p = (0.5 * i) / ENTROPY_STEPS;
    t[i] = -(p * Math.log2(p) + (1 - p) * Math.log2(1 - p));
  }
  t[ENTROPY_STEPS + 1] = t[ENTROPY_STEPS]!;
  return t;
})();

/** Binary entropy (bits) of probability p; symmetric, 0 at 0 and 1, 1 at 0.5. */
export function binaryEntropy(p: number): number {
  const q = p > 0.5 ? 1 - p : p;
  if (!(q > 0)) return 0;
  const x = q * 2 * ENTROPY_STEPS;
  const i = Math.floor(x);
  const f = x - i;
  return ENTROPY_TABLE[i]! + (ENTROPY_TABLE[i + 1]! - ENTROPY_TABLE[i]!) * f;
}

/** Mean binary entropy (bits) of a probability map: 0 = certain everywhere. */
export function meanEntropy(prob: Float32Array): number {
  let sum = 0;
  for (let i = 0; i < prob.length; i++) sum += binaryEntropy(prob[i]!);
  return prob.length ? sum / prob.length : 0;
}

/** meanEntropy of the letterboxed region of a model-sized map, without copying it out. */
export function letterboxEntropy(prob: Float32Array, box: Letterbox): number {
  let sum = 0;
  for (let y = 0; y < box.scaledHeight; y++) {
    const row = (y + box.offsetY) * box.width + box.offsetX;
    for (let x = 0; x < box.scaledWidth; x++) sum += binaryEntropy(prob[row + x]!);
  }
  return sum / (box.scaledWidth * box.scaledHeight);
}

/** Per-pixel binary entropy quantised to 0..255, for the heat map. */
export function entropyMap(prob: Float32Array): Uint8Array {
  const out = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) out[i] = Math.round(binaryEntropy(prob[i]!) * 255);
  return out;
}

/** Dice of two binary masks; two empty masks agree perfectly. */
export function dice(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let inter = 0;
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! > 0 ? 1 : 0;
    const y = b[i]! > 0 ? 1 : 0;
    inter += x & y;
    sa += x;
    sb += y;
  }
  return sa + sb === 0 ? 1 : (2 * inter) / (sa + sb);
}

/**
 * Removes foreground components smaller than `minPixels` and fills background holes not
 * connected to the border (4-connectivity), in place. Only the bounding box of the foreground
 * is searched (everything outside it is background joined to the border), with preallocated
 * typed-array queues: this runs once per slice inside the measured pipeline (docs/benchmarks.md).
 */
export function cleanMask(mask: Uint8Array, width: number, height: number, minPixels: number, fillHoles: boolean): Uint8Array {
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) {
      if (mask[row + x] !== 0) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        y1 = y;
      }
    }
  }
  if (x1 < 0) return mask;
  const w = x1 - x0 + 1;
  const h = y1 - y0 + 1;
  const n = w * h;
  // Work on the box: index k ↔ pixel (x0 + k % w, y0 + ⌊k / w⌋).
  const at = (k: number) => (y0 + Math.floor(k / w)) * width + x0 + (k % w);
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n);
  const fill = (start: number, value: number): number => {
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
      const k = queue[head++]!;
      const x = k % w;
      for (let d = 0; d < 4; d++) {
        const j = d === 0 ? (x > 0 ? k - 1 : -1) : d === 1 ? (x < w - 1 ? k + 1 : -1) : d === 2 ? k - w : k + w;
        if (j >= 0 && j < n && !seen[j] && mask[at(j)] === value) {
          seen[j] = 1;
          queue[tail++] = j;
        }
      }
    }
    return tail;
  };
  if (minPixels > 1) {
    for (let k = 0; k < n; k++) {
      if (seen[k] || mask[at(k)] === 0) continue;
      const count = fill(k, mask[at(k)]!);
      if (count < minPixels) for (let q = 0; q < count; q++) mask[at(queue[q]!)] = 0;
    }
  }
  if (fillHoles) {
    seen.fill(0);
    const fromEdge = (k: number) => {
      if (!seen[k] && mask[at(k)] === 0) fill(k, 0);
    };
    for (let x = 0; x < w; x++) {
      fromEdge(x);
      fromEdge((h - 1) * w + x);
    }
    for (let y = 0; y < h; y++) {
      fromEdge(y * w);
      fromEdge(y * w + w - 1);
    }
    // Background inside the box not reached from its edge is a hole: it becomes foreground.
    for (let k = 0; k < n; k++) if (!seen[k] && mask[at(k)] === 0) mask[at(k)] = 1;
  }
  return mask;
}
