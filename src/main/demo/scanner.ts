// The imaging system: probe geometry, point-spread function (speckle grain), log compression,
// gain curves and post-processing. The two domains stand for two scanners imaging the same
// population, so a model trained on one can be tested for robustness on the other.

import { convexFov, linearFov, type FieldOfView } from './fov';
import type { Rng } from './prng';

export type Domain = 'base' | 'shifted';

export const DOMAINS: readonly Domain[] = ['base', 'shifted'];

export interface Scanner {
  readonly domain: Domain;
  readonly fov: FieldOfView;
  /** Gaussian PSF, standard deviation in beams (lateral) and samples (axial). */
  readonly psfLateral: number;
  readonly psfAxial: number;
  /** Displayed dynamic range after log compression, dB. */
  readonly dynamicRangeDb: number;
  /** Display curve exponent applied after log compression (> 1 darkens mid-greys). */
  readonly gamma: number;
  /** Overall gain offset, dB. */
  readonly gainDb: number;
  /** Gain (dB) added at each sample depth: residual TGC, near field, focal zone. */
  readonly depthGainDb: Float32Array;
  readonly focusDepthFraction: number;
  /** Speckle-reduction smoothing of the displayed image, pixels (0 = none). */
  readonly postBlur: number;
  /** Independent speckle realisations averaged (spatial compounding); 1 = none. */
  readonly looks: number;
  /** Electronic noise floor (echo amplitude). */
  readonly noiseFloor: number;
  /** Physical depth of the field, millimetres (sets pixel spacing). */
  readonly depthMm: number;
}

export function drawScanner(domain: Domain, width: number, height: number, rng: Rng): Scanner {
  const shifted = domain === 'shifted';
  const fov = shifted ? convexFov(width, height, rng) : linearFov(width, height, rng);
  const psfLateral = shifted ? rng.uniform(1.9, 2.3) : rng.uniform(1.4, 1.8);
  const psfAxial = shifted ? rng.uniform(1.0, 1.25) : rng.uniform(0.65, 0.85);
  const dynamicRangeDb = shifted ? rng.uniform(38, 44) : rng.uniform(46, 52);
  const gamma = shifted ? rng.uniform(1.45, 1.7) : rng.uniform(1.15, 1.3);
  const gainDb = shifted ? rng.uniform(1, 4) : rng.uniform(-2, 2);
  // Base: well-compensated attenuation. Shifted: under-compensated (darker with depth) and a
  // bright near field, as on an older curvilinear system.
  const slopeDb = shifted ? -rng.uniform(6, 11) : rng.uniform(-2, 2);
  const nearDb = shifted ? rng.uniform(2, 4) : rng.uniform(0, 1);
  const focusDepthFraction = rng.uniform(0.35, 0.65);
  const focusDb = shifted ? rng.uniform(2, 3.5) : rng.uniform(0.5, 1.5);
  const depthGainDb = new Float32Array(fov.samples);
  for (let s = 0; s < fov.samples; s++) {
    const f = (s + 0.5) / fov.samples;
    const fz = (f - focusDepthFraction) / 0.15;
    depthGainDb[s] = slopeDb * f + nearDb * Math.exp(-f / 0.08) + focusDb * Math.exp(-fz * fz);
  }
  return {
    domain,
    fov,
    psfLateral,
    psfAxial,
    dynamicRangeDb,
    gamma,
    gainDb,
    depthGainDb,
    focusDepthFraction,
    postBlur: shifted ? rng.uniform(0.9, 1.2) : rng.uniform(0.4, 0.6),
    looks: shifted ? 1 : 2,
    noiseFloor: shifted ? 0.02 : 0.01,
    depthMm: shifted ? rng.uniform(45, 60) : rng.uniform(35, 45),
  };
}
