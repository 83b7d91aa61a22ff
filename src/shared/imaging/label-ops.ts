// Editing operations on a uint8 label map (one slice, row-major, 0 = background). Every
// operation returns the rectangle it touched (or null when nothing changed) so the viewer
// redraws only that part. `allowed` (optional, 1 = may change) limits painting, e.g. to an
// intensity range for the threshold-limited brush.

export interface Rect {
  x0: number;
  y0: number;
  /** Exclusive. */
  x1: number;
  /** Exclusive. */
  y1: number;
}

export interface LabelGrid {
  data: Uint8Array;
  width: number;
  height: number;
}

export function unionRect(a: Rect | null, b: Rect | null): Rect | null {
  if (!a) return b;
  if (!b) return a;
  return { x0: Math.min(a.x0, b.x0), y0: Math.min(a.y0, b.y0), x1: Math.max(a.x1, b.x1), y1: Math.max(a.y1, b.y1) };
}

/**
 * Paints every pixel whose centre lies within `radius` of the segment a→b (a capsule; a dab when
 * a = b). Coordinates are continuous image coordinates: pixel (x, y) spans [x, x+1) × [y, y+1).
 * The eraser is this with value 0.
 */
export function paintCapsule(
  grid: LabelGrid,
  ax: number,
  ay: number,
  bx: number,
  by: number,
  radius: number,
  value: number,
  allowed?: Uint8Array | null,
): Rect | null {
  const { data, width, height } = grid;
  const x0 = Math.max(0, Math.floor(Math.min(ax, bx) - radius - 0.5));
  const y0 = Math.max(0, Math.floor(Math.min(ay, by) - radius - 0.5));
  const x1 = Math.min(width, Math.ceil(Math.max(ax, bx) + radius + 0.5));
  const y1 = Math.min(height, Math.ceil(Math.max(ay, by) + radius + 0.5));
  const dx = bx - ax;
  const dy = by - ay;
  const len2 = dx * dx + dy * dy;
  const r2 = radius * radius;
  let changed: Rect | null = null;
  for (let y = y0; y < y1; y++) {
    const py = y + 0.5;
    for (let x = x0; x < x1; x++) {
      const px = x + 0.5;
      let t = len2 > 0 ? ((px - ax) * dx + (py - ay) * dy) / len2 : 0;
      t = t < 0 ? 0 : t > 1 ? 1 : t;
      const ex = px - (ax + t * dx);
      const ey = py - (ay + t * dy);
      if (ex * ex + ey * ey > r2) continue;
      const i = y * width + x;
      if (data[i] === value || (allowed && allowed[i] === 0)) continue;
      data[i] = value;
      changed = grow(changed, x, y);
    }
  }
  return changed;
}

/**
 * Fills a polygon (even-odd rule): a pixel is inside when its centre is. Along each row the span
 * is half-open, [left edge, right edge), so two polygons sharing an edge never both take a pixel.
 * `points` are x, y pairs in continuous image coordinates.
 */
export function fillPolygon(grid: LabelGrid, points: readonly number[], value: number, allowed?: Uint8Array | null): Rect | null {
  const { data, width, height } = grid;
  const n = points.length >> 1;
  if (n < 3) return null;
  let minY = Infinity;
  let maxY = -Infinity;
  for (let k = 0; k < n; k++) {
    minY = Math.min(minY, points[2 * k + 1]!);
    maxY = Math.max(maxY, points[2 * k + 1]!);
  }
  const yStart = Math.max(0, Math.ceil(minY - 0.5));
  const yEnd = Math.min(height - 1, Math.floor(maxY - 0.5));
  const crossings: number[] = [];
  let changed: Rect | null = null;
  for (let y = yStart; y <= yEnd; y++) {
    const cy = y + 0.5;
    crossings.length = 0;
    for (let k = 0, j = n - 1; k < n; j = k++) {
      const xa = points[2 * j]!;
      const ya = points[2 * j + 1]!;
      const xb = points[2 * k]!;
      const yb = points[2 * k + 1]!;
      // Half-open in y, so a vertex on the scan line counts once.
      if (ya <= cy === yb <= cy) continue;
      crossings.push(xa + ((cy - ya) * (xb - xa)) / (yb - ya));
    }
    crossings.sort((p, q) => p - q);
    for (let c = 0; c + 1 < crossings.length; c += 2) {
      const from = Math.max(0, Math.ceil(crossings[c]! - 0.5));
      const to = Math.min(width, Math.ceil(crossings[c + 1]! - 0.5));
      for (let x = from; x < to; x++) {
        const i = y * width + x;
        if (data[i] === value || (allowed && allowed[i] === 0)) continue;
        data[i] = value;
        changed = grow(changed, x, y);
      }
    }
  }
  return changed;
}

/**
 * Flood fill from (sx, sy): the 4-connected region of pixels holding the seed's label (and
 * allowed, when given) takes `value`. Filling a hole inside an outline, or relabelling one
 * connected structure, is one click.
 */
export function floodFill(grid: LabelGrid, sx: number, sy: number, value: number, allowed?: Uint8Array | null): Rect | null {
  const { data, width, height } = grid;
  if (sx < 0 || sy < 0 || sx >= width || sy >= height) return null;
  const seed = sy * width + sx;
  const target = data[seed]!;
  if (target === value || (allowed && allowed[seed] === 0)) return null;
  const inside = (i: number) => data[i] === target && (!allowed || allowed[i] !== 0);
  // Scanline fill: a stack of seeds, each expanded to its whole run. A pixel is pushed at most
  // once from the row above and once from the row below.
  const stack = new Int32Array(2 * width * height + 1);
  let top = 0;
  stack[top++] = seed;
  let changed: Rect | null = null;
  while (top > 0) {
    const i = stack[--top]!;
    if (!inside(i)) continue;
    const y = (i / width) | 0;
    const row = y * width;
    let left = i;
    while (left > row && inside(left - 1)) left--;
    let right = i;
    while (right < row + width - 1 && inside(right + 1)) right++;
    data.fill(value, left, right + 1);
    changed = unionRect(changed, { x0: left - row, y0: y, x1: right - row + 1, y1: y + 1 });
    for (const ny of [y - 1, y + 1]) {
      if (ny < 0 || ny >= height) continue;
      let above = false;
      for (let j = left - row + ny * width, end = right - row + ny * width; j <= end; j++) {
        const open = inside(j);
        if (open && !above) stack[top++] = j;
        above = open;
      }
    }
  }
  return changed;
}

/** 1 where the modality value (stored × slope + intercept) lies in [low, high]. */
export function intensityMask(
  values: ArrayLike<number>,
  low: number,
  high: number,
  slope = 1,
  intercept = 0,
  out?: Uint8Array,
): Uint8Array {
  const mask = out ?? new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * slope + intercept;
    mask[i] = v >= low && v <= high ? 1 : 0;
  }
  return mask;
}

/** Pixels per label value (index = label). */
export function labelCounts(data: Uint8Array): number[] {
  const counts = new Array<number>(256).fill(0);
  for (let i = 0; i < data.length; i++) counts[data[i]!]!++;
  let last = 255;
  while (last > 0 && counts[last] === 0) last--;
  return counts.slice(0, last + 1);
}

export function isEmpty(data: Uint8Array): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0) return false;
  return true;
}

/** The bounding rectangle of every pixel that differs between two maps, or null. */
export function diffRect(a: Uint8Array, b: Uint8Array, width: number): Rect | null {
  let r: Rect | null = null;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) r = grow(r, i % width, (i / width) | 0);
  return r;
}

function grow(r: Rect | null, x: number, y: number): Rect {
  if (!r) return { x0: x, y0: y, x1: x + 1, y1: y + 1 };
  if (x < r.x0) r.x0 = x;
  if (y < r.y0) r.y0 = y;
  if (x >= r.x1) r.x1 = x + 1;
  if (y >= r.y1) r.y1 = y + 1;
  return r;
}
