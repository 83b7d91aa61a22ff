// Probe geometry: where the field of view sits in the image, and the mapping between image
// pixels, tissue coordinates (lateral arc length l, depth d, both in pixels) and the scan grid
// (beam b, sample s) on which echoes are simulated before scan conversion.

import type { Rng } from './prng';

export type ProbeKind = 'linear' | 'convex';

export interface FieldOfView {
  readonly kind: ProbeKind;
  readonly width: number;
  readonly height: number;
  /** Tissue depth shown, in pixels (from the skin line to the bottom of the field). */
  readonly depthPx: number;
  /** Scan grid size: beams across, samples down. */
  readonly beams: number;
  readonly samples: number;
  /** Linear: left edge and top of the field; lateral extent in pixels. */
  readonly x0: number;
  readonly y0: number;
  readonly lateralPx: number;
  /** Convex: apex of the fan (may lie above the image), skin radius, half opening angle (rad). */
  readonly apexX: number;
  readonly apexY: number;
  readonly radius0: number;
  readonly halfAngle: number;
}

/** A linear probe: a rectangle with black margins (annotation bars) around it. */
export function linearFov(width: number, height: number, rng: Rng): FieldOfView {
  const top = Math.round(height * rng.uniform(0.05, 0.09));
  const bottom = Math.round(height * rng.uniform(0.015, 0.03));
  const side = Math.round(width * rng.uniform(0.06, 0.1));
  const lateralPx = width - 2 * side;
  const depthPx = height - top - bottom;
  return {
    kind: 'linear',
    width,
    height,
    depthPx,
    beams: lateralPx,
    samples: depthPx,
    x0: side,
    y0: top,
    lateralPx,
    apexX: 0,
    apexY: 0,
    radius0: 0,
    halfAngle: 0,
  };
}

/** A convex (curvilinear) probe: a fan whose apex sits above the top of the image. */
export function convexFov(width: number, height: number, rng: Rng): FieldOfView {
  const top = height * rng.uniform(0.04, 0.07);
  const bottom = height * rng.uniform(0.015, 0.03);
  const radius0 = height * rng.uniform(0.42, 0.55);
  const apexY = top - radius0;
  const radius1 = height - bottom - apexY;
  // Widest opening that keeps the bottom corners of the fan inside the image, with a margin.
  const maxHalf = Math.asin(Math.min(0.95, (width * 0.47) / radius1));
  const halfAngle = Math.min(maxHalf, rng.uniform(0.42, 0.52));
  const depthPx = Math.round(radius1 - radius0);
  const midArc = 2 * halfAngle * (radius0 + depthPx / 2);
  return {
    kind: 'convex',
    width,
    height,
    depthPx,
    beams: Math.round(midArc),
    samples: depthPx,
    x0: 0,
    y0: 0,
    lateralPx: 0,
    apexX: width / 2,
    apexY,
    radius0,
    halfAngle,
  };
}

/** Half of the lateral extent of the field at depth d (pixels of arc length). */
export function halfLateralAt(fov: FieldOfView, d: number): number {
  return fov.kind === 'linear' ? fov.lateralPx / 2 : fov.halfAngle * (fov.radius0 + d);
}

export interface Point {
  x: number;
  y: number;
}

/** Tissue (l, d) → image (x, y). l = 0 is the centre line of the probe. */
export function tissueToImage(fov: FieldOfView, l: number, d: number): Point {
  if (fov.kind === 'linear') return { x: fov.x0 + fov.lateralPx / 2 + l, y: fov.y0 + d };
  const r = fov.radius0 + d;
  const theta = l / r;
  return { x: fov.apexX + r * Math.sin(theta), y: fov.apexY + r * Math.cos(theta) };
}

export interface TissuePoint {
  l: number;
  d: number;
  inside: boolean;
}

/** Image (x, y) → tissue (l, d), with whether the point lies inside the field of view. */
export function imageToTissue(fov: FieldOfView, x: number, y: number): TissuePoint {
  if (fov.kind === 'linear') {
    const l = x - fov.x0 - fov.lateralPx / 2;
    const d = y - fov.y0;
    return { l, d, inside: Math.abs(l) <= fov.lateralPx / 2 && d >= 0 && d <= fov.depthPx };
  }
  const dx = x - fov.apexX;
  const dy = y - fov.apexY;
  const r = Math.sqrt(dx * dx + dy * dy);
  const theta = Math.atan2(dx, dy);
  const d = r - fov.radius0;
  return { l: theta * r, d, inside: Math.abs(theta) <= fov.halfAngle && d >= 0 && d <= fov.depthPx };
}

/**
 * Scan conversion: fills `out` (width × height) from the scan grid `grid` (beams × samples,
 * row = sample), bilinear, `outside` where the pixel is not in the field of view.
 */
export function scanConvert(fov: FieldOfView, grid: Float32Array, out: Float32Array, outside: number): void {
  const { width, height, beams, samples } = fov;
  out.fill(outside);
  if (fov.kind === 'linear') {
    for (let s = 0; s < samples; s++) {
      const row = (fov.y0 + s) * width + fov.x0;
      out.set(grid.subarray(s * beams, s * beams + beams), row);
    }
    return;
  }
  const beamScale = beams / (2 * fov.halfAngle);
  const sampleScale = samples / fov.depthPx;
  for (let y = 0; y < height; y++) {
    const dy = y + 0.5 - fov.apexY;
    for (let x = 0; x < width; x++) {
      const dx = x + 0.5 - fov.apexX;
      const theta = Math.atan2(dx, dy);
      if (Math.abs(theta) > fov.halfAngle) continue;
      const r = Math.sqrt(dx * dx + dy * dy);
      const d = r - fov.radius0;
      if (d < 0 || d > fov.depthPx) continue;
      const fb = Math.min(beams - 1, Math.max(0, (theta + fov.halfAngle) * beamScale - 0.5));
      const fs = Math.min(samples - 1, Math.max(0, d * sampleScale - 0.5));
      const b0 = Math.min(beams - 2, Math.floor(fb));
      const s0 = Math.min(samples - 2, Math.floor(fs));
      const tb = fb - b0;
      const ts = fs - s0;
      const i = s0 * beams + b0;
      const top = (grid[i] ?? 0) * (1 - tb) + (grid[i + 1] ?? 0) * tb;
      const bot = (grid[i + beams] ?? 0) * (1 - tb) + (grid[i + beams + 1] ?? 0) * tb;
      out[y * width + x] = top * (1 - ts) + bot * ts;
    }
  }
}

/** Tissue coordinates of scan-grid sample (b, s). */
export function sampleToTissue(fov: FieldOfView, b: number, s: number): { l: number; d: number } {
  const d = ((s + 0.5) * fov.depthPx) / fov.samples;
  if (fov.kind === 'linear') return { l: b + 0.5 - fov.lateralPx / 2, d };
  const theta = -fov.halfAngle + ((b + 0.5) * 2 * fov.halfAngle) / fov.beams;
  return { l: theta * (fov.radius0 + d), d };
}

/** Inclusive pixel bounding box [x0, y0, x1, y1] of the field of view. */
export function fovBounds(fov: FieldOfView): [number, number, number, number] {
  if (fov.kind === 'linear') return [fov.x0, fov.y0, fov.x0 + fov.lateralPx - 1, fov.y0 + fov.depthPx - 1];
  const r1 = fov.radius0 + fov.depthPx;
  const half = r1 * Math.sin(fov.halfAngle);
  const clamp = (v: number, hi: number): number => Math.min(hi, Math.max(0, v));
  return [
    clamp(Math.floor(fov.apexX - half), fov.width - 1),
    clamp(Math.floor(fov.apexY + fov.radius0 * Math.cos(fov.halfAngle)), fov.height - 1),
    clamp(Math.ceil(fov.apexX + half) - 1, fov.width - 1),
    clamp(Math.ceil(fov.apexY + r1) - 1, fov.height - 1),
  ];
}
