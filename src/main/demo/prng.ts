// Seeded pseudo-random numbers for the phantom generator. Integer-only mixing (Math.imul) so a
// stream is bit-identical on every platform; Math.random is never used.

/** Finaliser of MurmurHash3: a cheap bijective mixer of 32-bit integers. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** Hashes a list of integers (any safe integer, negative allowed) to one 32-bit seed. */
export function hashInts(...values: readonly number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    if (!Number.isSafeInteger(v)) throw new RangeError(`not a safe integer: ${v}`);
    // Split into two 32-bit halves so seeds above 2^32 still matter.
    const lo = v >>> 0;
    const hi = Math.floor(v / 4294967296) >>> 0;
    h = fmix32((h ^ lo) + 0x7f4a7c15);
    h = fmix32((h ^ hi) + 0x632be5ab);
  }
  return h;
}

/** Hashes a short ASCII label (stream names) to an integer for hashInts. */
export function hashLabel(label: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < label.length; i++) {
    h = Math.imul(h ^ label.charCodeAt(i), 0x01000193);
  }
  return h >>> 0;
}

/** mulberry32-style generator with convenience draws. */
export class Rng {
  private state: number;
  private spareNormal: number | null = null;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform 32-bit unsigned integer. */
  nextU32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  /** Uniform in [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  /** Uniform in [lo, hi). */
  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  /** Log-uniform in [lo, hi): sizes spread evenly over scales. */
  logUniform(lo: number, hi: number): number {
    return lo * Math.exp(Math.log(hi / lo) * this.next());
  }

  /** Integer in [lo, hi] inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    const item = items[Math.floor(this.next() * items.length)];
    if (item === undefined) throw new RangeError('pick from an empty list');
    return item;
  }

  /** Standard normal (Box–Muller, caching the second value). */
  normal(): number {
    if (this.spareNormal !== null) {
      const s = this.spareNormal;
      this.spareNormal = null;
      return s;
    }
    // 1 - next() is in (0, 1], so the log is finite.
    const r = Math.sqrt(-2 * Math.log(1 - this.next()));
    const a = 2 * Math.PI * this.next();
    this.spareNormal = r * Math.sin(a);
    return r * Math.cos(a);
  }

  /**
   * Fills `out` with zero-mean, unit-variance triangular noise (sum of two 16-bit uniforms), one
   * 32-bit draw per value. Used where the noise is then blurred by a kernel of many taps, so the
   * result is Gaussian by the central limit theorem at a fraction of Box–Muller's cost.
   */
  fillTriangular(out: Float32Array): void {
    const scale = Math.sqrt(6) / 65536;
    for (let i = 0; i < out.length; i++) {
      const u = this.nextU32();
      out[i] = ((u & 0xffff) + (u >>> 16) - 65535) * scale;
    }
  }

  /** Fills `out` with standard normals, two per Box–Muller draw (the hot path of speckle). */
  fillNormal(out: Float32Array): void {
    const n = out.length;
    let i = 0;
    for (; i + 1 < n; i += 2) {
      const r = Math.sqrt(-2 * Math.log(1 - this.next()));
      const a = 2 * Math.PI * this.next();
      out[i] = r * Math.cos(a);
      out[i + 1] = r * Math.sin(a);
    }
    if (i < n) out[i] = this.normal();
  }
}

/** An independent stream for (seed, index, purpose): adding a draw to one purpose never shifts another. */
export function streamFor(seed: number, index: number, purpose: string): Rng {
  return new Rng(hashInts(seed, index, hashLabel(purpose)));
}
