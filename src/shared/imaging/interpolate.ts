// Shape-based interpolation between two labelled slices: per label, a signed Euclidean distance
// map of each slice (negative inside), blended linearly, inside where the blend is negative.
// The exact distance transform is Felzenszwalb & Huttenlocher's two-pass lower envelope, O(n).

const FAR = 1e20;

/** Squared Euclidean distance from each pixel to the nearest pixel where `seed` is 1. */
export function squaredDistance(seed: Uint8Array, width: number, height: number): Float32Array {
  const d = new Float32Array(width * height);
  for (let i = 0; i < d.length; i++) d[i] = seed[i] ? 0 : FAR;
  const n = Math.max(width, height);
  const f = new Float64Array(n);
  const out = new Float64Array(n);
  const v = new Int32Array(n);
  const z = new Float64Array(n + 1);
  for (let x = 0; x < width; x++) {
    for (let y = 0; y < height; y++) f[y] = d[y * width + x]!;
    envelope(f, height, out, v, z);
    for (let y = 0; y < height; y++) d[y * width + x] = out[y]!;
  }
  for (let y = 0; y < height; y++) {
    const row = y * width;
    for (let x = 0; x < width; x++) f[x] = d[row + x]!;
    envelope(f, width, out, v, z);
    for (let x = 0; x < width; x++) d[row + x] = out[x]!;
  }
  return d;
}

function envelope(f: Float64Array, n: number, out: Float64Array, v: Int32Array, z: Float64Array): void {
  let k = 0;
  v[0] = 0;
  z[0] = -Infinity;
  z[1] = Infinity;
  for (let q = 1; q < n; q++) {
    let p = v[k]!;
    let s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
    // z[0] is -Infinity, so this stops at k = 0 at the latest.
    while (s <= z[k]!) {
      k--;
      p = v[k]!;
      s = (f[q]! + q * q - (f[p]! + p * p)) / (2 * q - 2 * p);
    }
    k++;
    v[k] = q;
    z[k] = s;
    z[k + 1] = Infinity;
  }
  k = 0;
  for (let q = 0; q < n; q++) {
    while (z[k + 1]! < q) k++;
    const p = v[k]!;
    out[q] = (q - p) * (q - p) + f[p]!;
  }
}

/** Signed distance to the edge of `label`: negative inside, positive outside; null if absent. */
export function signedDistance(map: Uint8Array, width: number, height: number, label: number): Float32Array | null {
  const inside = new Uint8Array(map.length);
  const outside = new Uint8Array(map.length);
  let any = false;
  for (let i = 0; i < map.length; i++) {
    if (map[i] === label) {
      inside[i] = 1;
      any = true;
    } else outside[i] = 1;
  }
  if (!any) return null;
  const toInside = squaredDistance(inside, width, height);
  const toOutside = squaredDistance(outside, width, height);
  const sd = new Float32Array(map.length);
  for (let i = 0; i < sd.length; i++) sd[i] = inside[i] ? -Math.sqrt(toOutside[i]!) : Math.sqrt(toInside[i]!);
  return sd;
}

/**
 * The label maps of the `count` slices strictly between slice a and slice b, evenly spaced.
 * A label present in only one of them shrinks to nothing across the gap.
 */
export function interpolateLabels(a: Uint8Array, b: Uint8Array, width: number, height: number, count: number): Uint8Array[] {
  const labels = new Set<number>();
  for (let i = 0; i < a.length; i++) {
    if (a[i]) labels.add(a[i]!);
    if (b[i]) labels.add(b[i]!);
  }
  const out = Array.from({ length: count }, () => new Uint8Array(a.length));
  const best = Array.from({ length: count }, () => new Float32Array(a.length).fill(0));
  for (const label of labels) {
    let sa = signedDistance(a, width, height, label);
    let sb = signedDistance(b, width, height, label);
    // A label on one side only erodes evenly to nothing at the other: its missing distance map
    // is the present one raised by its deepest inside point.
    if (!sa) sa = raised(sb!);
    if (!sb) sb = raised(sa);
    for (let k = 0; k < count; k++) {
      const t = (k + 1) / (count + 1);
      const map = out[k]!;
      const score = best[k]!;
      for (let i = 0; i < map.length; i++) {
        const d = (1 - t) * sa[i]! + t * sb[i]!;
        // Overlapping labels: the one reaching deepest inside wins.
        if (d < 0 && d < score[i]!) {
          score[i] = d;
          map[i] = label;
        }
      }
    }
  }
  return out;
}

function raised(sd: Float32Array): Float32Array {
  let depth = 0;
  for (let i = 0; i < sd.length; i++) if (-sd[i]! > depth) depth = -sd[i]!;
  return sd.map((v) => v + depth + 0.5);
}
