// Smooth random fields and filters used to build phantom textures: value noise on a lattice,
// tabulated random boundary curves and a separable Gaussian blur.

import type { Rng } from './prng';

/** Value noise in [-1, 1]: random lattice values, smoothstep-interpolated. Cells may be anisotropic. */
export class ValueNoise {
  private readonly values: Float32Array;
  private readonly cols: number;
  private readonly rows: number;

  /**
   * @param cellL lattice spacing along l (pixels)
   * @param cellD lattice spacing along d (pixels)
   * @param minL smallest l that will be asked for (larger ranges are clamped)
   * @param spanL, spanD extent of the region covered
   */
  constructor(
    rng: Rng,
    private readonly cellL: number,
    private readonly cellD: number,
    private readonly minL: number,
    spanL: number,
    spanD: number,
  ) {
    this.cols = Math.ceil(spanL / cellL) + 2;
    this.rows = Math.ceil(spanD / cellD) + 2;
    this.values = new Float32Array(this.cols * this.rows);
    for (let i = 0; i < this.values.length; i++) this.values[i] = 2 * rng.next() - 1;
  }

  at(l: number, d: number): number {
    let gx = (l - this.minL) / this.cellL;
    let gy = d / this.cellD;
    gx = gx < 0 ? 0 : gx > this.cols - 1.001 ? this.cols - 1.001 : gx;
    gy = gy < 0 ? 0 : gy > this.rows - 1.001 ? this.rows - 1.001 : gy;
    const ix = Math.floor(gx);
    const iy = Math.floor(gy);
    let tx = gx - ix;
    let ty = gy - iy;
    tx = tx * tx * (3 - 2 * tx);
    ty = ty * ty * (3 - 2 * ty);
    const v = this.values;
    const i = iy * this.cols + ix;
    const a = v[i] ?? 0;
    const b = v[i + 1] ?? 0;
    const c = v[i + this.cols] ?? 0;
    const e = v[i + this.cols + 1] ?? 0;
    return (a + (b - a) * tx) * (1 - ty) + (c + (e - c) * tx) * ty;
  }
}

/** A function of l tabulated at 1-pixel steps over [minL, maxL], read back by linear interpolation. */
export class Table1D {
  private readonly table: Float32Array;

  constructor(
    private readonly minL: number,
    maxL: number,
    f: (l: number) => number,
  ) {
    const n = Math.ceil(maxL - minL) + 2;
    this.table = new Float32Array(n);
    for (let i = 0; i < n; i++) this.table[i] = f(minL + i);
  }

  at(l: number): number {
    let g = l - this.minL;
    const n = this.table.length;
    g = g < 0 ? 0 : g > n - 1.001 ? n - 1.001 : g;
    const i = Math.floor(g);
    const t = g - i;
    const a = this.table[i] ?? 0;
    const b = this.table[i + 1] ?? 0;
    return a + (b - a) * t;
  }
}

export interface Wave {
  amplitude: number;
  period: number;
}

/** A random smooth curve: l ↦ Σ amplitude·sin(2πl/period + random phase). */
export function randomWaves(rng: Rng, waves: readonly Wave[]): (l: number) => number {
  const terms = waves.map((w) => ({ a: w.amplitude, f: (2 * Math.PI) / w.period, p: rng.uniform(0, 2 * Math.PI) }));
  return (l) => {
    let v = 0;
    for (const t of terms) v += t.a * Math.sin(t.f * l + t.p);
    return v;
  };
}

/** Normalised Gaussian kernel of standard deviation sigma, truncated at ceil(2.5 sigma). */
export function gaussianKernel(sigma: number): Float32Array {
  const radius = Math.max(1, Math.ceil(2.5 * sigma));
  const k = new Float32Array(2 * radius + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    const v = Math.exp(-(i * i) / (2 * sigma * sigma));
    k[i + radius] = v;
    sum += v;
  }
  for (let i = 0; i < k.length; i++) k[i] = (k[i] ?? 0) / sum;
  return k;
}

/** Σ k², the variance gain of white noise filtered by the kernel. */
export function kernelEnergy(k: Float32Array): number {
  let s = 0;
  for (const v of k) s += v * v;
  return s;
}

/**
 * In-place separable convolution of a cols × rows field: kernel kx along rows, ky down columns,
 * edges clamped. `tmp` must hold cols × rows values.
 */
export function convolveSeparable(
  field: Float32Array,
  cols: number,
  rows: number,
  kx: Float32Array,
  ky: Float32Array,
  tmp: Float32Array,
): void {
  const rx = (kx.length - 1) >> 1;
  const ry = (ky.length - 1) >> 1;
  // Horizontal pass through a clamped, padded copy of each row: no bounds tests in the loop.
  const padded = new Float32Array(cols + 2 * rx);
  for (let y = 0; y < rows; y++) {
    const row = y * cols;
    padded.set(field.subarray(row, row + cols), rx);
    const first = field[row] ?? 0;
    const last = field[row + cols - 1] ?? 0;
    for (let j = 0; j < rx; j++) {
      padded[j] = first;
      padded[rx + cols + j] = last;
    }
    for (let x = 0; x < cols; x++) {
      let acc = 0;
      for (let j = 0; j < kx.length; j++) acc += (kx[j] as number) * (padded[x + j] as number);
      tmp[row + x] = acc;
    }
  }
  // Vertical pass: the clamped source rows of each output row are looked up once.
  const offsets = new Int32Array(ky.length);
  const taps = ky.length;
  for (let y = 0; y < rows; y++) {
    for (let j = 0; j < taps; j++) {
      const yy = y + j - ry;
      offsets[j] = (yy < 0 ? 0 : yy >= rows ? rows - 1 : yy) * cols;
    }
    const dst = y * cols;
    for (let x = 0; x < cols; x++) {
      let acc = 0;
      for (let j = 0; j < taps; j++) acc += (ky[j] as number) * (tmp[(offsets[j] as number) + x] as number);
      field[dst + x] = acc;
    }
  }
}
