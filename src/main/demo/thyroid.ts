// Thyroid, transverse view of one lobe: skin, thin fat, strap muscles, the lobe (homogeneous,
// brighter than muscle, thin bright capsule), the trachea medially (air: bright arc with
// reverberations and shadow), the carotid artery and jugular vein laterally (anechoic, bright
// walls, posterior enhancement), longus colli and the prevertebral line deep.

import { line, smoothstep, lateralSpan, type Anatomy } from './anatomy';
import type { FieldOfView } from './fov';
import { Table1D, ValueNoise, randomWaves } from './noise';
import type { Rng } from './prng';

/** Cartilage ring drawn above the air interface of the trachea (pixels). */
const TRACHEA_WALL = 4;

interface Ellipse {
  l: number;
  d: number;
  a: number;
  b: number;
}

/** Normalised elliptic radius: < 1 inside. */
function er(e: Ellipse, l: number, d: number): number {
  const u = (l - e.l) / e.a;
  const v = (d - e.d) / e.b;
  return Math.sqrt(u * u + v * v);
}

/** Label values of the thyroid phantom's structures in its ground-truth label map (0 = background). */
export const THYROID_LABELS = [
  { value: 1, name: 'Thyroid lobe' },
  { value: 2, name: 'Trachea' },
  { value: 3, name: 'Carotid artery' },
  { value: 4, name: 'Jugular vein' },
] as const;

export function thyroidAnatomy(rng: Rng, fov: FieldOfView): Anatomy {
  const H = fov.depthPx;
  const W = fov.width;
  const { minL, maxL } = lateralSpan(fov);
  const span = maxL - minL;
  const side = rng.chance(0.5) ? 1 : -1; // which way is lateral

  const skin = H * rng.uniform(0.03, 0.045);
  const fatBot = skin + H * rng.uniform(0.03, 0.07);
  const strapWaves = randomWaves(rng, [{ amplitude: H * rng.uniform(0.005, 0.02), period: W * rng.uniform(0.5, 1) }]);
  const strapThick = H * rng.uniform(0.07, 0.12);
  const strapBot = new Table1D(minL, maxL, (l) => fatBot + strapThick + strapWaves(l));

  const lobe: Ellipse = {
    l: side * W * rng.uniform(-0.04, 0.08),
    d: 0,
    a: W * rng.uniform(0.26, 0.34),
    b: H * rng.uniform(0.15, 0.2),
  };
  lobe.d = fatBot + strapThick + lobe.b + H * rng.uniform(0.01, 0.03);
  const lobeShape = randomWaves(rng, [
    { amplitude: rng.uniform(0.02, 0.06), period: (2 * Math.PI) / 2 },
    { amplitude: rng.uniform(0.01, 0.04), period: (2 * Math.PI) / 3 },
  ]);
  const lobeR = (l: number, d: number): number => {
    const r = er(lobe, l, d);
    return r / (1 + lobeShape(Math.atan2(d - lobe.d, (l - lobe.l) * (lobe.b / lobe.a))));
  };

  const tracheaR = W * rng.uniform(0.08, 0.11);
  const trachea = { l: lobe.l - side * (lobe.a + tracheaR * 0.55), d: lobe.d - lobe.b * 0.1 };
  const reverbStep = rng.uniform(7, 11);

  const carotidR = H * rng.uniform(0.055, 0.075);
  const carotid = { l: lobe.l + side * (lobe.a * 0.92 + carotidR * 0.6), d: lobe.d + lobe.b * rng.uniform(-0.1, 0.3) };
  const hasJugular = rng.chance(0.6);
  const jugular: Ellipse = {
    l: carotid.l + side * carotidR * rng.uniform(1.2, 1.8),
    d: carotid.d - carotidR * rng.uniform(0.6, 1.1),
    a: carotidR * rng.uniform(1.1, 1.6),
    b: carotidR * rng.uniform(0.4, 0.7),
  };
  const longus: Ellipse = { l: lobe.l - side * lobe.a * 0.3, d: lobe.d + lobe.b + H * 0.08, a: W * 0.14, b: H * 0.06 };
  const spineWaves = randomWaves(rng, [{ amplitude: H * 0.03, period: W * rng.uniform(0.8, 1.4) }]);
  const spine = new Table1D(minL, maxL, (l) => Math.max(longus.d + longus.b + 3, H * 0.86 + spineWaves(l)));

  const soft = new ValueNoise(rng, 12, 6, minL, span, H + 2);
  const fine = new ValueNoise(rng, 4, 3, minL, span, H + 2);
  const coarse = new ValueNoise(rng, rng.uniform(14, 22), rng.uniform(8, 12), minL, span, H + 2);
  const lobeLevel = 1;
  const muscleLevel = rng.uniform(0.3, 0.38);
  const fatLevel = rng.uniform(0.35, 0.45);

  return {
    kind: 'thyroid',
    // Mirrors echo()'s branches: skin over all; in the trachea's column, the cartilage wall and the
    // air (down to the posterior arc of the lumen) are trachea and the shadow below is nothing;
    // then carotid, jugular, and the lobe below the strap muscles.
    structure(l, d) {
      if (d < skin) return 0;
      const tl = l - trachea.l;
      if (Math.abs(tl) < tracheaR) {
        const half = Math.sqrt(tracheaR * tracheaR - tl * tl);
        if (d > trachea.d - half - TRACHEA_WALL) return d <= trachea.d + half ? 2 : 0;
      }
      if (Math.hypot(l - carotid.l, d - carotid.d) / carotidR < 1) return 3;
      if (hasJugular && er(jugular, l, d) < 1) return 4;
      if (d >= strapBot.at(l) && lobeR(l, d) < 1) return 1;
      return 0;
    },
    lesionLateral: { min: lobe.l - lobe.a * 0.55, max: lobe.l + lobe.a * 0.55 },
    maxLesionRadius: lobe.b * 0.85,
    minLesionDepth: fatBot + 2,
    lesionDepth: (l) => {
      const u = Math.min(0.95, Math.abs(l - lobe.l) / lobe.a);
      const half = lobe.b * Math.sqrt(1 - u * u);
      return { min: lobe.d - half * 0.4, max: lobe.d + half * 0.4 };
    },
    echo(l, d) {
      if (d < skin) return 0.45 + 1.1 * line(d, 1.2, 1.2) + 0.8 * line(d, skin - 1, 1.2);
      // Air in the trachea: everything below its anterior wall is reverberation and shadow.
      const tl = l - trachea.l;
      if (Math.abs(tl) < tracheaR) {
        const arc = trachea.d - Math.sqrt(tracheaR * tracheaR - tl * tl);
        if (d > arc - TRACHEA_WALL) {
          const below = d - arc;
          if (below > 1.5) {
            const k = Math.round(below / reverbStep);
            return 0.04 + (k >= 1 && k <= 4 ? (0.45 / k) * line(below, k * reverbStep, 1.3) : 0);
          }
          // Cartilage (dark ring) then the bright air interface.
          return 0.2 + 2.2 * line(below, 0.5, 1.2);
        }
      }
      const rCar = Math.hypot(l - carotid.l, d - carotid.d) / carotidR;
      if (rCar < 1) return 0.025;
      const rJug = hasJugular ? er(jugular, l, d) : 2;
      if (rJug < 1) return 0.035;
      const sb = strapBot.at(l);
      const sp = spine.at(l);
      let e: number;
      const rl = lobeR(l, d);
      if (d < fatBot) {
        e = fatLevel * (1 + 0.3 * soft.at(l, d));
      } else if (d < sb) {
        e = muscleLevel * (1 + 0.25 * soft.at(l, d)) + 0.25 * Math.max(0, Math.sin(d * 1.3 + 3 * soft.at(l, d))) ** 6;
      } else if (rl < 1) {
        e = lobeLevel * (0.9 + 0.08 * coarse.at(l, d) + 0.14 * fine.at(l, d));
      } else if (er(longus, l, d) < 1) {
        e = muscleLevel * (1 + 0.2 * soft.at(l, d));
      } else if (d < sp) {
        e = 0.5 * (0.9 + 0.3 * soft.at(l, d) + 0.15 * fine.at(l, d));
      } else {
        e = 0.05 + 0.1 * smoothstep(sp + 30, sp, d); // bone shadow
      }
      // Interfaces: fasciae, the lobe capsule, vessel walls, prevertebral line.
      e += 0.5 * line(d, fatBot, 1.2) + 0.5 * line(d, sb, 1.2) + 0.55 * line(rl, 1, 0.02);
      e += 0.8 * line(rCar, 1.04, 0.05) + (hasJugular ? 0.4 * line(rJug, 1.05, 0.06) : 0);
      e += 1.4 * line(d, sp, 1.6);
      // Posterior enhancement below the vessels (blood attenuates less than tissue).
      if (d > carotid.d && Math.abs(l - carotid.l) < carotidR) e *= 1.3;
      return e;
    },
  };
}
