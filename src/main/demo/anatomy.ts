// Tissue echogenicity without the lesion. An anatomy maps tissue coordinates (lateral l, depth
// d, pixels) to a mean echo amplitude (1 ≈ fibroglandular tissue); speckle is added later.

import type { FieldOfView } from './fov';
import { Table1D, ValueNoise, randomWaves } from './noise';
import type { Rng } from './prng';

export type AnatomyKind = 'breast' | 'thyroid';

export interface Anatomy {
  readonly kind: AnatomyKind;
  echo(l: number, d: number): number;
  /** Where a lesion centre may go: lateral range and, at a given l, the depth range. */
  readonly lesionLateral: { min: number; max: number };
  lesionDepth(l: number): { min: number; max: number };
  /** Largest sensible mean lesion radius (pixels) for this anatomy, before field-of-view checks. */
  readonly maxLesionRadius: number;
  /** Shallowest depth a lesion may reach (below skin and fat). */
  readonly minLesionDepth: number;
  /**
   * Which drawn structure tissue point (l, d) belongs to, as a label value (0 = none), with the
   * same precedence as `echo`: only anatomies with named structures (the thyroid) have it.
   */
  structure?(l: number, d: number): number;
}

/** Thin bright line of the given width centred on depth c. */
export function line(d: number, c: number, width: number): number {
  const t = (d - c) / width;
  return t > 4 || t < -4 ? 0 : Math.exp(-t * t);
}

export function smoothstep(e0: number, e1: number, x: number): number {
  const t = x <= e0 ? 0 : x >= e1 ? 1 : (x - e0) / (e1 - e0);
  return t * t * (3 - 2 * t);
}

/** Lateral range covered by any field of view of this image size. */
export function lateralSpan(fov: FieldOfView): { minL: number; maxL: number } {
  return { minL: -fov.width, maxL: fov.width };
}

/**
 * Breast, as a linear probe sees it: skin, subcutaneous fat with lobules and septa, Cooper's
 * ligaments scalloping the top of the fibroglandular layer, retromammary fat, pectoral muscle
 * with striations, and pleura / lung at the bottom when the field is deep enough.
 */
export function breastAnatomy(rng: Rng, fov: FieldOfView): Anatomy {
  const H = fov.depthPx;
  const W = fov.width;
  const { minL, maxL } = lateralSpan(fov);
  const span = maxL - minL;

  const skin = H * rng.uniform(0.03, 0.05);
  const fatBase = skin + H * rng.uniform(0.1, 0.24);
  const glandThick = H * rng.uniform(0.3, 0.45);
  const retroThick = H * rng.uniform(0.02, 0.05);
  const muscleThick = H * rng.uniform(0.14, 0.26);

  const topWaves = randomWaves(rng, [
    { amplitude: H * rng.uniform(0.01, 0.035), period: W * rng.uniform(0.7, 1.5) },
    { amplitude: H * rng.uniform(0.005, 0.015), period: W * rng.uniform(0.2, 0.4) },
  ]);
  // Cooper's ligaments: fat lobules bulge down into the gland between them, so the gland surface
  // is a row of arcs meeting in cusps that reach up towards the skin, each continued to the skin
  // by a thin bright band.
  const ligaments: Array<{ l: number; tip: number; slant: number }> = [];
  for (let l = minL; l < maxL + W * 0.3; l += W * rng.uniform(0.1, 0.3)) {
    ligaments.push({ l, tip: skin + (fatBase - skin) * rng.uniform(0.15, 0.7), slant: rng.uniform(-0.4, 0.4) });
  }
  const lobuleDepth = ligaments.map(() => rng.uniform(-0.15, 0.25) * (fatBase - skin));
  const gTop = new Table1D(minL, maxL, (l) => {
    let i = 0;
    while (i + 2 < ligaments.length && (ligaments[i + 1]?.l ?? Infinity) <= l) i++;
    const a = ligaments[i];
    const b = ligaments[i + 1];
    const base = fatBase + topWaves(l) + (lobuleDepth[i] ?? 0);
    if (!a || !b) return base;
    // Arc from cusp a to cusp b: circular-ish bottom, steep near the cusps.
    const t = Math.min(1, Math.max(-1, (2 * (l - a.l)) / (b.l - a.l) - 1));
    const tip = a.tip + ((b.tip - a.tip) * (t + 1)) / 2;
    return tip + (base - tip) * Math.sqrt(1 - t * t);
  });
  const botWaves = randomWaves(rng, [
    { amplitude: H * rng.uniform(0.01, 0.035), period: W * rng.uniform(0.6, 1.4) },
    { amplitude: H * rng.uniform(0.005, 0.012), period: W * rng.uniform(0.15, 0.3) },
  ]);
  const gBot = new Table1D(minL, maxL, (l) => fatBase + glandThick + botWaves(l));
  const tilt = rng.uniform(-0.08, 0.08);
  const deepWaves = randomWaves(rng, [{ amplitude: H * rng.uniform(0.003, 0.012), period: W * rng.uniform(0.6, 1.2) }]);
  const rBot = new Table1D(minL, maxL, (l) => gBot.at(l) + retroThick);
  const pleuraBase = Math.max(fatBase + glandThick + retroThick + muscleThick, H * rng.uniform(0.7, 1.25));
  const mBot = new Table1D(minL, maxL, (l) => Math.max(rBot.at(l) + H * 0.06, pleuraBase + tilt * l + deepWaves(l)));

  const fatTex = new ValueNoise(rng, rng.uniform(10, 16), rng.uniform(5, 8), minL, span, H + 2);
  const septa = new ValueNoise(rng, rng.uniform(16, 26), rng.uniform(8, 12), minL, span, H + 2);
  const glandCoarse = new ValueNoise(rng, rng.uniform(16, 26), rng.uniform(6, 10), minL, span, H + 2);
  const glandFine = new ValueNoise(rng, 6, 3, minL, span, H + 2);
  const islands = new ValueNoise(rng, rng.uniform(14, 22), rng.uniform(6, 10), minL, span, H + 2);
  const muscleTex = new ValueNoise(rng, 20, 8, minL, span, H + 2);
  const fatLevel = rng.uniform(0.24, 0.34);
  const glandLevel = 1;
  const islandAmount = rng.uniform(0.3, 0.75);
  const striaAngle = rng.uniform(-0.2, 0.2);
  const striaPeriod = rng.uniform(5, 9);
  const striaCos = Math.cos(striaAngle);
  const striaSin = Math.sin(striaAngle);

  return {
    kind: 'breast',
    lesionLateral: { min: minL, max: maxL },
    maxLesionRadius: Math.min(H * 0.26, glandThick * 0.75),
    minLesionDepth: skin + 3,
    lesionDepth: (l) => {
      const top = gTop.at(l);
      const bot = gBot.at(l);
      return { min: top + (bot - top) * 0.2, max: top + (bot - top) * 0.8 };
    },
    echo(l, d) {
      if (d < skin) {
        // Epidermis entry echo, darker dermis, bright deep dermal line.
        return 0.45 + 1.1 * line(d, 1.2, 1.2) + 0.9 * line(d, skin - 1, 1.2);
      }
      const top = gTop.at(l);
      const bot = gBot.at(l);
      const rb = rBot.at(l);
      const mb = mBot.at(l);
      let e: number;
      if (d < top) {
        e = fatLevel * (1 + 0.35 * fatTex.at(l, d)) + 0.6 * line(septa.at(l, d), 0, 0.05);
        for (const g of ligaments) {
          if (d < g.tip) e += 0.6 * line(l, g.l + g.slant * (g.tip - d), 0.9) * smoothstep(skin, skin + 4, d);
        }
      } else if (d < bot) {
        const g = glandLevel * (0.82 + 0.35 * glandCoarse.at(l, d) + 0.2 * glandFine.at(l, d));
        const t = islandAmount * smoothstep(0.25, 0.6, islands.at(l, d));
        e = g * (1 - t) + fatLevel * 1.2 * t;
      } else if (d < rb) {
        e = fatLevel * (1 + 0.3 * fatTex.at(l, d));
      } else if (d < mb) {
        const phase = (2 * Math.PI * (d * striaCos + l * striaSin)) / striaPeriod + 4 * muscleTex.at(l, d);
        const s = 0.5 + 0.5 * Math.sin(phase);
        e = 0.3 * (1 + 0.2 * muscleTex.at(l, d)) + 0.35 * s * s * s * s * s * s;
      } else {
        // Lung behind the pleura: air, only faint reverberation.
        e = 0.04 + 0.3 * line(d, 2 * mb - skin, 2);
      }
      // Bright interfaces: gland surface, fasciae, pleura.
      e += 0.6 * line(d, top, 1.3) + 0.5 * line(d, bot, 1.2) + 0.6 * line(d, rb, 1.1) + 1.6 * line(d, mb, 1.5);
      return e;
    },
  };
}
