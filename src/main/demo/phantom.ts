// Renders one phantom: tissue echoes with the lesion on the scan grid, acoustic shadowing or
// enhancement along each beam, Rayleigh speckle from a PSF-blurred complex Gaussian field, log
// compression with depth gain, scan conversion and on-screen depth marks; plus the exact mask.

import { breastAnatomy, type Anatomy, type AnatomyKind } from './anatomy';
import { fovBounds, imageToTissue, sampleToTissue, scanConvert, type FieldOfView } from './fov';
import { drawLesion, type Lesion, type LesionParams } from './lesion';
import { ValueNoise, convolveSeparable, gaussianKernel, kernelEnergy } from './noise';
import { streamFor, type Rng } from './prng';
import { drawScanner, type Domain, type Scanner } from './scanner';
import { thyroidAnatomy } from './thyroid';

export interface PhantomOptions {
  seed: number;
  index: number;
  domain?: Domain;
  width?: number;
  height?: number;
  anatomy?: AnatomyKind | 'mixed';
}

export interface PhantomMeta {
  seed: number;
  index: number;
  domain: Domain;
  anatomy: AnatomyKind;
  probe: FieldOfView['kind'];
  /** Millimetres per pixel (row spacing, column spacing). */
  pixelSpacingMm: [number, number];
  /** Inclusive pixel bounding box [x0, y0, x1, y1] of the imaged field (black outside). */
  fieldBox: [number, number, number, number];
  lesion: Omit<LesionParams, 'harmonics' | 'calcifications'> & {
    calcifications: number;
    areaPx: number;
    bbox: [number, number, number, number];
  };
  scanner: { psfLateral: number; psfAxial: number; dynamicRangeDb: number; gamma: number; postBlur: number; depthMm: number };
}

export interface Phantom {
  image: Uint8Array;
  mask: Uint8Array;
  /**
   * Ground truth of every named structure the anatomy draws, one label value per pixel (row-major,
   * width × height; 0 = background): for the thyroid 1 lobe (a nodule inside it included), 2 trachea,
   * 3 carotid artery, 4 jugular vein (THYROID_LABELS). Absent for the breast, which has only `mask`.
   */
  labelMap?: Uint8Array;
  width: number;
  height: number;
  meta: PhantomMeta;
}

function checkSize(name: string, v: number): void {
  if (!Number.isInteger(v) || v < 64 || v > 2048 || v % 32 !== 0) {
    throw new RangeError(`${name} must be a multiple of 32 between 64 and 2048, got ${v}`);
  }
}

export function generatePhantom(opts: PhantomOptions): Phantom {
  const { seed, index } = opts;
  const domain = opts.domain ?? 'base';
  const width = opts.width ?? 256;
  const height = opts.height ?? width;
  checkSize('width', width);
  checkSize('height', height);
  if (!Number.isSafeInteger(seed) || !Number.isSafeInteger(index)) throw new RangeError('seed and index must be integers');

  // Separate streams: the patient (anatomy, lesion) does not depend on the scanner's draws.
  const scanner = drawScanner(domain, width, height, streamFor(seed, index, `scanner:${domain}`));
  const fov = scanner.fov;
  const patient = streamFor(seed, index, 'patient');
  const choice = opts.anatomy ?? 'breast';
  const kind: AnatomyKind = choice === 'mixed' ? (patient.chance(0.35) ? 'thyroid' : 'breast') : choice;
  const anatomy = kind === 'thyroid' ? thyroidAnatomy(patient, fov) : breastAnatomy(patient, fov);
  const lesion = drawLesion(streamFor(seed, index, 'lesion'), fov, anatomy);
  const lesionTexture = new ValueNoise(
    streamFor(seed, index, 'lesion-texture'),
    Math.max(3, lesion.p.rx * 0.3),
    Math.max(3, lesion.p.ry * 0.3),
    -width,
    3 * width,
    2 * height,
  );

  const echo = echoGrid(fov, anatomy, lesion, lesionTexture);
  const display = speckleAndDisplay(scanner, echo, streamFor(seed, index, `speckle:${domain}`));
  const img = new Float32Array(width * height);
  scanConvert(fov, display, img, 0);
  const image = new Uint8Array(width * height);
  for (let i = 0; i < img.length; i++) {
    const v = Math.round(img[i] ?? 0);
    image[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  drawMarks(image, scanner);
  const { mask, areaPx, bbox } = rasterizeMask(fov, lesion);
  const labelMap = anatomy.structure ? rasterizeStructures(fov, anatomy, mask) : undefined;

  const mm = scanner.depthMm / fov.depthPx;
  const { harmonics: _h, calcifications, ...lesionRest } = lesion.p;
  return {
    image,
    mask,
    width,
    height,
    ...(labelMap ? { labelMap } : {}),
    meta: {
      seed,
      index,
      domain,
      anatomy: kind,
      probe: fov.kind,
      pixelSpacingMm: [mm, mm],
      fieldBox: fovBounds(fov),
      lesion: { ...lesionRest, calcifications: calcifications.length, areaPx, bbox },
      scanner: {
        psfLateral: scanner.psfLateral,
        psfAxial: scanner.psfAxial,
        dynamicRangeDb: scanner.dynamicRangeDb,
        gamma: scanner.gamma,
        postBlur: scanner.postBlur,
        depthMm: scanner.depthMm,
      },
    },
  };
}

/** Mean echo amplitude on the scan grid: anatomy, lesion, halo, calcifications, then beam attenuation. */
function echoGrid(fov: FieldOfView, anatomy: Anatomy, lesion: Lesion, texture: ValueNoise): Float32Array {
  const { beams, samples } = fov;
  const n = beams * samples;
  const echo = new Float32Array(n);
  const member = new Float32Array(n);
  const p = lesion.p;
  const reach = lesion.boundRadius * (1 + p.haloThickness) + 2;
  for (let s = 0; s < samples; s++) {
    for (let b = 0; b < beams; b++) {
      const { l, d } = sampleToTissue(fov, b, s);
      let e = anatomy.echo(l, d);
      let x: number;
      let y: number;
      if (fov.kind === 'linear') {
        x = fov.x0 + b + 0.5;
        y = fov.y0 + s + 0.5;
      } else {
        const r = fov.radius0 + d;
        const theta = l / r;
        x = fov.apexX + r * Math.sin(theta);
        y = fov.apexY + r * Math.cos(theta);
      }
      const dx = x - p.cx;
      const dy = y - p.cy;
      if (dx * dx + dy * dy < reach * reach) {
        const rho = lesion.rho(x, y);
        const m = lesion.membership(rho);
        if (p.haloGain > 0 && rho > 0.9 && rho < 1 + 2 * p.haloThickness) {
          const t = (rho - 1 - p.haloThickness * 0.5) / p.haloThickness;
          e *= 1 + p.haloGain * Math.exp(-t * t);
        }
        let inner = p.echo * (1 + p.heterogeneity * texture.at(x, y));
        for (const c of p.calcifications) {
          const cx = x - c.x;
          const cy = y - c.y;
          inner += 3 * Math.exp(-(cx * cx + cy * cy) / 0.8);
        }
        e = e * (1 - m) + inner * m;
        member[s * beams + b] = m;
      }
      echo[s * beams + b] = e;
    }
  }
  applyBeamAttenuation(fov, lesion, echo, member);
  return echo;
}

/**
 * Posterior enhancement / shadowing: the lesion attenuates less or more than tissue, so every
 * sample below it along the beam is brighter or darker; refraction at the lateral margins adds
 * thin edge shadows. Computed as a gain field, smoothed across beams (finite beam width).
 */
function applyBeamAttenuation(fov: FieldOfView, lesion: Lesion, echo: Float32Array, member: Float32Array): void {
  const { beams, samples } = fov;
  const p = lesion.p;
  const halfHeight = Math.sqrt((p.rx * Math.sin(p.angle)) ** 2 + (p.ry * Math.cos(p.angle)) ** 2);
  const kappa = -Math.log(p.posterior) / (2 * halfHeight);
  const chord = new Float32Array(beams);
  const exit = new Int32Array(beams).fill(-1);
  for (let s = 0; s < samples; s++) {
    for (let b = 0; b < beams; b++) {
      const m = member[s * beams + b] ?? 0;
      if (m > 0) {
        chord[b] = (chord[b] ?? 0) + m;
        exit[b] = s;
      }
    }
  }
  let maxChord = 0;
  for (const c of chord) maxChord = Math.max(maxChord, c);
  if (maxChord === 0) return;
  const gain = new Float32Array(beams * samples).fill(1);
  for (let b = 0; b < beams; b++) {
    const c = chord[b] ?? 0;
    if (c === 0) continue;
    const t = c / (0.45 * maxChord);
    const edge = p.edgeShadow * Math.exp(-t * t);
    const last = exit[b] ?? 0;
    let acc = 0;
    for (let s = 0; s < samples; s++) {
      const i = s * beams + b;
      let g = Math.exp(-kappa * acc);
      if (s > last) g *= 1 - edge * Math.min(1, (s - last) / 4);
      gain[i] = g;
      acc += member[i] ?? 0;
    }
  }
  const k = gaussianKernel(1.5);
  convolveSeparable(gain, beams, samples, k, new Float32Array([1]), new Float32Array(beams * samples));
  for (let i = 0; i < echo.length; i++) echo[i] = (echo[i] ?? 0) * (gain[i] ?? 1);
}

/**
 * Speckle: complex Gaussian scatterers weighted by the echo amplitude, blurred by the PSF; the
 * envelope power is averaged over `looks` independent realisations (spatial compounding), then
 * log-compressed with the depth gains and mapped through the display curve.
 */
function speckleAndDisplay(scanner: Scanner, echo: Float32Array, rng: Rng): Float32Array {
  const { beams, samples } = scanner.fov;
  const n = beams * samples;
  const re = new Float32Array(n);
  const im = new Float32Array(n);
  const power = new Float32Array(n);
  const tmp = new Float32Array(n);
  const kl = gaussianKernel(scanner.psfLateral);
  const ka = gaussianKernel(scanner.psfAxial);
  const norm = 1 / (2 * kernelEnergy(kl) * kernelEnergy(ka) * scanner.looks);
  for (let look = 0; look < scanner.looks; look++) {
    rng.fillTriangular(re);
    rng.fillTriangular(im);
    for (let i = 0; i < n; i++) {
      const e = echo[i] as number;
      re[i] = (re[i] as number) * e;
      im[i] = (im[i] as number) * e;
    }
    convolveSeparable(re, beams, samples, kl, ka, tmp);
    convolveSeparable(im, beams, samples, kl, ka, tmp);
    for (let i = 0; i < n; i++) {
      const r = re[i] as number;
      const q = im[i] as number;
      power[i] = (power[i] as number) + (r * r + q * q) * norm;
    }
  }
  const floor2 = scanner.noiseFloor * scanner.noiseFloor;
  const dr = scanner.dynamicRangeDb;
  // Fibroglandular tissue (echo 1, mean log-Rayleigh ≈ -2.5 dB) lands near 64 % of the range.
  const black = -2.5 - 0.64 * dr - scanner.gainDb;
  const curve = displayCurve(scanner.gamma);
  const last = curve.length - 1;
  const out = re;
  for (let s = 0; s < samples; s++) {
    const offset = (scanner.depthGainDb[s] ?? 0) - black;
    for (let b = 0; b < beams; b++) {
      const i = s * beams + b;
      const db = 4.342944819032518 * Math.log((power[i] as number) + floor2) + offset;
      let t = (db / dr) * last;
      t = t < 0 ? 0 : t > last ? last : t;
      const k = Math.min(last - 1, Math.floor(t));
      const a = curve[k] as number;
      out[i] = a + ((curve[k + 1] as number) - a) * (t - k);
    }
  }
  if (scanner.postBlur > 0) {
    const k = gaussianKernel(scanner.postBlur);
    convolveSeparable(out, beams, samples, k, k, tmp);
  }
  return out;
}

/** 255·t^gamma tabulated on [0, 1] (Math.pow per pixel is the slowest step otherwise). */
function displayCurve(gamma: number): Float32Array {
  const n = 1024;
  const curve = new Float32Array(n + 1);
  for (let i = 0; i <= n; i++) curve[i] = 255 * Math.pow(i / n, gamma);
  return curve;
}

/** Ground truth: pixel centres inside the lesion margin and the field of view. */
function rasterizeMask(
  fov: FieldOfView,
  lesion: Lesion,
): { mask: Uint8Array; areaPx: number; bbox: [number, number, number, number] } {
  const { width, height } = fov;
  const mask = new Uint8Array(width * height);
  const p = lesion.p;
  const r = lesion.boundRadius;
  const x0 = Math.max(0, Math.floor(p.cx - r));
  const x1 = Math.min(width - 1, Math.ceil(p.cx + r));
  const y0 = Math.max(0, Math.floor(p.cy - r));
  const y1 = Math.min(height - 1, Math.ceil(p.cy + r));
  let area = 0;
  const bbox: [number, number, number, number] = [width, height, -1, -1];
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      if (!lesion.contains(x + 0.5, y + 0.5) || !imageToTissue(fov, x + 0.5, y + 0.5).inside) continue;
      mask[y * width + x] = 1;
      area++;
      bbox[0] = Math.min(bbox[0], x);
      bbox[1] = Math.min(bbox[1], y);
      bbox[2] = Math.max(bbox[2], x);
      bbox[3] = Math.max(bbox[3], y);
    }
  }
  return { mask, areaPx: area, bbox };
}

/**
 * Label map of the anatomy's named structures at pixel centres inside the field of view; the
 * lesion is drawn over the anatomy in the image, so its pixels take the lobe's value (the nodule
 * lies in the gland and is part of it).
 */
function rasterizeStructures(fov: FieldOfView, anatomy: Anatomy, lesionMask: Uint8Array): Uint8Array {
  const { width, height } = fov;
  const out = new Uint8Array(width * height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const t = imageToTissue(fov, x + 0.5, y + 0.5);
      if (!t.inside) continue;
      out[i] = lesionMask[i] ? LOBE_VALUE : (anatomy.structure?.(t.l, t.d) ?? 0);
    }
  }
  return out;
}

const LOBE_VALUE = 1;

/** Depth scale dots every centimetre, focal-zone marker and probe orientation mark, outside the field. */
function drawMarks(image: Uint8Array, scanner: Scanner): void {
  const fov = scanner.fov;
  const { width, height } = fov;
  const put = (x: number, y: number, v: number): void => {
    const xi = Math.round(x);
    const yi = Math.round(y);
    if (xi < 0 || yi < 0 || xi >= width || yi >= height) return;
    if (imageToTissue(fov, xi + 0.5, yi + 0.5).inside) return;
    image[yi * width + xi] = v;
  };
  const pxPerCm = (10 * fov.depthPx) / scanner.depthMm;
  const topY = fov.kind === 'linear' ? fov.y0 : fov.apexY + fov.radius0;
  const markX = fov.kind === 'linear' ? fov.x0 + fov.lateralPx + 4 : width - 5;
  for (let cm = 0; cm * pxPerCm <= fov.depthPx + 0.5; cm++) {
    const y = topY + cm * pxPerCm;
    put(markX, y, 190);
    put(markX + 1, y, 190);
    if (cm % 5 === 0) put(markX + 2, y, 190);
  }
  const fy = topY + scanner.focusDepthFraction * fov.depthPx;
  for (let k = 0; k < 3; k++) for (let j = -k; j <= k; j++) put(markX + 4 + k, fy + j, 170);
  const ox = fov.kind === 'linear' ? fov.x0 + 2 : width / 2 - fov.radius0 * Math.sin(fov.halfAngle) - 6;
  const oy = topY - 5;
  for (let j = 0; j < 3; j++) for (let i = 0; i < 4; i++) put(ox + i, oy + j, 210);
}
