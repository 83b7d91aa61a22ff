// The lesion: a star-shaped region whose radius is perturbed by random harmonics (lobulated or
// angular margins), with its echo level, internal texture and acoustic behaviour below it.

import type { Anatomy } from './anatomy';
import { imageToTissue, tissueToImage, type FieldOfView } from './fov';
import type { Rng } from './prng';

export type LesionKind = 'cyst' | 'benign' | 'malignant';

export interface Harmonic {
  k: number;
  amplitude: number;
  phase: number;
}

export interface LesionParams {
  kind: LesionKind;
  /** Centre in image pixels. */
  cx: number;
  cy: number;
  /** Semi-axes (pixels) before the harmonic perturbation, and rotation (radians). */
  rx: number;
  ry: number;
  angle: number;
  harmonics: Harmonic[];
  /** Mean echo relative to fibroglandular tissue (1). */
  echo: number;
  /** Relative amplitude of internal echo texture. */
  heterogeneity: number;
  /** Echo factor far below the lesion: < 1 shadowing, > 1 enhancement. */
  posterior: number;
  /** Strength (0–1) of the refraction shadows below the lateral margins. */
  edgeShadow: number;
  /** Echogenic rim outside the margin: thickness (fraction of radius) and echo gain (0 = none). */
  haloThickness: number;
  haloGain: number;
  /** Bright microcalcifications inside, image pixels. */
  calcifications: Array<{ x: number; y: number }>;
  weakContrast: boolean;
}

const TABLE = 512;

/** A lesion ready for fast inside / membership queries. */
export class Lesion {
  readonly radiusTable = new Float32Array(TABLE + 1);
  readonly boundRadius: number;
  private readonly cos: number;
  private readonly sin: number;
  private readonly meanRadius: number;

  constructor(readonly p: LesionParams) {
    this.cos = Math.cos(p.angle);
    this.sin = Math.sin(p.angle);
    let maxR = 0;
    for (let i = 0; i <= TABLE; i++) {
      const phi = (2 * Math.PI * i) / TABLE;
      let r = 1;
      for (const h of p.harmonics) r += h.amplitude * Math.cos(h.k * phi + h.phase);
      this.radiusTable[i] = r;
      if (r > maxR) maxR = r;
    }
    this.meanRadius = Math.sqrt(p.rx * p.ry);
    this.boundRadius = maxR * Math.max(p.rx, p.ry) + 2;
  }

  /** Normalised radial coordinate: < 1 inside the margin, 1 on it. */
  rho(x: number, y: number): number {
    const dx = x - this.p.cx;
    const dy = y - this.p.cy;
    const u = (dx * this.cos + dy * this.sin) / this.p.rx;
    const v = (-dx * this.sin + dy * this.cos) / this.p.ry;
    const r = Math.sqrt(u * u + v * v);
    if (r === 0) return 0;
    let phi = Math.atan2(v, u);
    if (phi < 0) phi += 2 * Math.PI;
    const g = (phi / (2 * Math.PI)) * TABLE;
    const i = Math.min(TABLE - 1, Math.floor(g));
    const t = g - i;
    const a = this.radiusTable[i] ?? 1;
    const b = this.radiusTable[i + 1] ?? 1;
    return r / (a + (b - a) * t);
  }

  /** Whether an image point is inside the margin (this defines the ground-truth mask). */
  contains(x: number, y: number): boolean {
    const dx = x - this.p.cx;
    const dy = y - this.p.cy;
    if (dx * dx + dy * dy > this.boundRadius * this.boundRadius) return false;
    return this.rho(x, y) < 1;
  }

  /** Soft membership in [0, 1] with a one-pixel transition, for rendering. */
  membership(rho: number): number {
    const sd = (1 - rho) * this.meanRadius + 0.5;
    return sd <= 0 ? 0 : sd >= 1 ? 1 : sd;
  }

  /** Points along the margin, image pixels (for placement checks). */
  outline(n: number): Array<{ x: number; y: number }> {
    const pts: Array<{ x: number; y: number }> = [];
    for (let i = 0; i < n; i++) {
      const phi = (2 * Math.PI * i) / n;
      const r = this.radiusTable[Math.round((i / n) * TABLE)] ?? 1;
      const u = r * Math.cos(phi) * this.p.rx;
      const v = r * Math.sin(phi) * this.p.ry;
      pts.push({ x: this.p.cx + u * this.cos - v * this.sin, y: this.p.cy + u * this.sin + v * this.cos });
    }
    return pts;
  }
}

function drawHarmonics(rng: Rng, kind: LesionKind): Harmonic[] {
  const out: Harmonic[] = [];
  const add = (k: number, amplitude: number): void => {
    out.push({ k, amplitude, phase: rng.uniform(0, 2 * Math.PI) });
  };
  if (kind === 'cyst') {
    add(2, rng.uniform(0, 0.04));
    add(3, rng.uniform(0, 0.03));
  } else if (kind === 'benign') {
    add(2, rng.uniform(0.02, 0.1));
    add(3, rng.uniform(0.02, 0.09));
    add(4, rng.uniform(0, 0.06));
  } else {
    for (let k = 2; k <= 6; k++) add(k, rng.uniform(0.03, 0.13) / Math.sqrt(k - 1));
    // Angular / microlobulated margin.
    add(rng.int(8, 11), rng.uniform(0.015, 0.04));
    add(rng.int(12, 16), rng.uniform(0.01, 0.03));
  }
  // Keep the radius positive and the shape star-convex with room to spare.
  const total = out.reduce((s, h) => s + h.amplitude, 0);
  if (total > 0.42) for (const h of out) h.amplitude *= 0.42 / total;
  return out;
}

/** Whether every margin point lies inside the field, `margin` pixels from its edges and under the skin. */
function fits(lesion: Lesion, fov: FieldOfView, anatomy: Anatomy, margin: number): boolean {
  for (const q of lesion.outline(64)) {
    const t = imageToTissue(fov, q.x, q.y);
    const half = fov.kind === 'linear' ? fov.lateralPx / 2 : fov.halfAngle * (fov.radius0 + t.d);
    if (!t.inside || Math.abs(t.l) > half - margin || t.d > fov.depthPx - margin || t.d < anatomy.minLesionDepth) {
      return false;
    }
    if (q.x < margin || q.y < margin || q.x > fov.width - margin || q.y > fov.height - margin) return false;
  }
  return true;
}

/** Draws a lesion and places it in the anatomy, inside the field of view. */
export function drawLesion(rng: Rng, fov: FieldOfView, anatomy: Anatomy): Lesion {
  const u = rng.next();
  const kind: LesionKind = u < 0.25 ? 'cyst' : u < 0.62 ? 'benign' : 'malignant';
  const sizeDraw = rng.next();
  const aspect = kind === 'malignant' ? rng.uniform(0.75, 1.4) : kind === 'benign' ? rng.uniform(1.15, 2) : rng.uniform(1, 1.6);
  const angle = kind === 'malignant' ? rng.uniform(-0.7, 0.7) : rng.uniform(-0.3, 0.3);
  const harmonics = drawHarmonics(rng, kind);
  // Weak contrast only for lesions that are not small: a small, nearly isoechoic lesion is not
  // something a reader (or a small network) can be expected to find.
  const weakContrast = kind !== 'cyst' && sizeDraw > 0.3 && rng.chance(0.15);
  let echo: number;
  let heterogeneity: number;
  let posterior: number;
  let edgeShadow = 0;
  let haloThickness = 0;
  let haloGain = 0;
  if (kind === 'cyst') {
    echo = rng.chance(0.25) ? rng.uniform(0.1, 0.2) : rng.uniform(0.03, 0.09);
    heterogeneity = rng.uniform(0.05, 0.4);
    posterior = rng.uniform(1.35, 1.9);
    if (rng.chance(0.6)) edgeShadow = rng.uniform(0.3, 0.6);
  } else if (kind === 'benign') {
    echo = rng.uniform(0.16, 0.42);
    heterogeneity = rng.uniform(0.15, 0.35);
    posterior = rng.uniform(0.9, 1.35);
    if (rng.chance(0.3)) edgeShadow = rng.uniform(0.2, 0.45);
    if (rng.chance(0.35)) {
      haloThickness = rng.uniform(0.04, 0.08);
      haloGain = rng.uniform(0.5, 1);
    }
  } else {
    echo = rng.uniform(0.12, 0.36);
    heterogeneity = rng.uniform(0.2, 0.45);
    posterior = rng.chance(0.7) ? rng.uniform(0.3, 0.8) : rng.uniform(0.9, 1.2);
    if (rng.chance(0.45)) {
      haloThickness = rng.uniform(0.1, 0.25);
      haloGain = rng.uniform(0.25, 0.6);
    }
  }
  if (weakContrast) {
    echo = rng.uniform(0.38, 0.52);
    posterior = rng.uniform(0.9, 1.1);
  }
  const calcCount = kind === 'malignant' && rng.chance(0.35) ? rng.int(3, 10) : 0;
  const calcDraws = Array.from({ length: calcCount }, () => ({ r: Math.sqrt(rng.next()) * 0.7, a: rng.uniform(0, 2 * Math.PI) }));

  // Position and size: retry positions, then shrink, until the lesion fits in the field.
  let radius = 0;
  let centre = { x: 0, y: 0 };
  let lesion: Lesion | undefined;
  for (let attempt = 0; attempt < 40; attempt++) {
    const pos = rng.next();
    const depthDraw = rng.next();
    if (attempt === 0 || attempt >= 8) {
      const maxR = anatomy.maxLesionRadius * Math.pow(0.92, Math.max(0, attempt - 8));
      const minR = Math.min(maxR * 0.9, Math.max(8, fov.height * 0.035));
      radius = minR * Math.exp(Math.log(maxR / minR) * sizeDraw);
    }
    const probeHalf = fov.kind === 'linear' ? fov.lateralPx / 2 : fov.halfAngle * (fov.radius0 + fov.depthPx * 0.4);
    const lo = Math.max(-0.7 * probeHalf, anatomy.lesionLateral.min);
    const hi = Math.min(0.7 * probeHalf, anatomy.lesionLateral.max);
    const l = hi > lo ? lo + (hi - lo) * pos : 0;
    const depth = anatomy.lesionDepth(l);
    const d = depth.min + (depth.max - depth.min) * depthDraw;
    centre = tissueToImage(fov, l, d);
    const rx = radius * Math.sqrt(aspect);
    const ry = radius / Math.sqrt(aspect);
    lesion = new Lesion({
      kind,
      cx: centre.x,
      cy: centre.y,
      rx,
      ry,
      angle,
      harmonics,
      echo,
      heterogeneity,
      posterior,
      edgeShadow,
      haloThickness,
      haloGain,
      calcifications: [],
      weakContrast,
    });
    if (fits(lesion, fov, anatomy, 6)) break;
    lesion = undefined;
  }
  if (!lesion) {
    // Last resort: a small round lesion in the middle of the field always fits.
    const c = tissueToImage(fov, 0, fov.depthPx * 0.45);
    const r = Math.max(8, fov.height * 0.035);
    lesion = new Lesion({
      kind,
      cx: c.x,
      cy: c.y,
      rx: r,
      ry: r,
      angle: 0,
      harmonics: [],
      echo,
      heterogeneity,
      posterior,
      edgeShadow,
      haloThickness,
      haloGain,
      calcifications: [],
      weakContrast,
    });
  }
  const p = lesion.p;
  p.calcifications = calcDraws.map(({ r, a }) => ({
    x: p.cx + r * p.rx * Math.cos(a) * Math.cos(p.angle) - r * p.ry * Math.sin(a) * Math.sin(p.angle),
    y: p.cy + r * p.rx * Math.cos(a) * Math.sin(p.angle) + r * p.ry * Math.sin(a) * Math.cos(p.angle),
  }));
  return lesion;
}
