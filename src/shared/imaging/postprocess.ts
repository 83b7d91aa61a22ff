// From the model's logits to a stored label map: sigmoid, un-letterbox, resize back, threshold,
// optional clean-up; plus the flip test-time-augmentation helpers and uncertainty scores.
import { resizeBilinear, type Letterbox } from './preprocess';

export function sigmoidInPlace(values: Float32Array, offset = 0, length = values.length - offset): Float32Array {
  for (let i = offset; i < offset + length; i++) values[i] = 1 / (1 + Math.exp(-values[i]!));
  return values;
}

/** The probabilities inside the letterbox, resized back to the slice (columns × rows). */
export function unletterbox(prob: Float32Array, box: Letterbox, columns: number, rows: number, offset = 0): Float32Array {
  const crop = new Float32Array(box.scaledWidth * box.scaledHeight);
  for (let y = 0; y < box.scaledHeight; y++) {
    const from = offset + (y + box.offsetY) * box.width + box.offsetX;
    crop.set(prob.subarray(from, from + box.scaledWidth), y * box.scaledWidth);
  }
  if (box.scaledWidth === columns && box.scaledHeight === rows) return crop;
  return resizeBilinear(crop, box.scaledWidth, box.scaledHeight, columns, rows);
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

/** Mean binary entropy (bits) of a probability map: 0 = certain everywhere. */
export function meanEntropy(prob: Float32Array): number {
  let sum = 0;
  for (const p of prob) {
    if (p > 1e-6 && p < 1 - 1e-6) sum -= p * Math.log2(p) + (1 - p) * Math.log2(1 - p);
  }
  return prob.length ? sum / prob.length : 0;
}

/** Per-pixel binary entropy quantised to 0..255, for the heat map. */
export function entropyMap(prob: Float32Array): Uint8Array {
  const out = new Uint8Array(prob.length);
  for (let i = 0; i < prob.length; i++) {
    const p = prob[i]!;
    out[i] = p > 1e-6 && p < 1 - 1e-6 ? Math.round(-(p * Math.log2(p) + (1 - p) * Math.log2(1 - p)) * 255) : 0;
  }
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
 * connected to the border (4-connectivity), in place. Preallocated typed-array queues: this
 * runs once per slice and must stay a small part of the pipeline (docs/benchmarks.md).
 */
export function cleanMask(mask: Uint8Array, width: number, height: number, minPixels: number, fillHoles: boolean): Uint8Array {
  const n = mask.length;
  const seen = new Uint8Array(n);
  const queue = new Int32Array(n);
  // Breadth-first fill from `start` over pixels whose value equals `value`; returns the count.
  // The pixels visited stay in queue[0..count) for the caller.
  const fill = (start: number, value: number): number => {
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    while (head < tail) {
      const i = queue[head++]!;
      const x = i % width;
      for (let k = 0; k < 4; k++) {
        const j = k === 0 ? (x > 0 ? i - 1 : -1) : k === 1 ? (x < width - 1 ? i + 1 : -1) : k === 2 ? i - width : i + width;
        if (j >= 0 && j < n && !seen[j] && mask[j] === value) {
          seen[j] = 1;
          queue[tail++] = j;
        }
      }
    }
    return tail;
  };
  if (minPixels > 1) {
    for (let i = 0; i < n; i++) {
      if (seen[i] || mask[i] === 0) continue;
      const count = fill(i, mask[i]!);
      if (count < minPixels) for (let k = 0; k < count; k++) mask[queue[k]!] = 0;
    }
  }
  if (fillHoles) {
    seen.fill(0);
    const fromBorder = (i: number) => {
      if (!seen[i] && mask[i] === 0) fill(i, 0);
    };
    for (let x = 0; x < width; x++) {
      fromBorder(x);
      fromBorder((height - 1) * width + x);
    }
    for (let y = 0; y < height; y++) {
      fromBorder(y * width);
      fromBorder(y * width + width - 1);
    }
    // Background not reached from the border is a hole: it becomes foreground.
    for (let i = 0; i < n; i++) if (mask[i] === 0 && !seen[i]) mask[i] = 1;
  }
  return mask;
}
