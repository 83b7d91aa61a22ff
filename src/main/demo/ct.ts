// A CT-like phantom of the upper abdomen, generated one axial slice at a time: body outline with
// subcutaneous fat and a muscle wall, intra-abdominal fat, liver, spleen, both kidneys, aorta and
// inferior vena cava, a vertebral body with its canal and the paraspinal muscles. Organs are
// ellipsoids with a seeded, slightly irregular outline; every voxel holds its tissue's HU plus
// white Gaussian noise whose σ is the scanner's. Clearly synthetic: for demos and tests only.
//
// Geometry is DICOM patient coordinates (LPS, millimetres): +x towards the patient's left, +y
// posterior, +z superior. Image rows run along +y and columns along +x (Image Orientation
// (Patient) 1\0\0\0\1\0), so the patient's right lies on the image's left as radiologists view
// axial CT. z = 0 is about the level of the renal hila; slices run from superior to inferior.
//
// The two scanner domains stand for two CT scanners imaging the same patients (the anatomy
// depends on seed and index only), as the ultrasound phantoms' base and shifted domains do.

import { codesForName } from '../../shared/model/codes';
import type { CodedConcept } from '../../shared/model/codes';
import { hashInts, streamFor, type Rng } from './prng';
import type { Domain } from './scanner';

/** Label values of the CT phantom's ground-truth label map (0 = background), with SNOMED CT codes. */
export const CT_LABELS: readonly { value: number; name: string; code: CodedConcept }[] = [
  { value: 1, name: 'Liver' },
  { value: 2, name: 'Spleen' },
  { value: 3, name: 'Right kidney' },
  { value: 4, name: 'Left kidney' },
].map((l) => ({ ...l, code: codesForName(l.name, l.value).type }));

type Tissue = 'air' | 'fat' | 'muscle' | 'liver' | 'spleen' | 'kidney' | 'blood' | 'bone' | 'cortex' | 'csf';

/** A range of Hounsfield units, [low, high]. */
export type HuRange = readonly [number, number];

/**
 * Tissue attenuation in HU per contrast phase, from which each patient's values are drawn.
 *
 * Unenhanced (the base domain):
 * - air −1000 and water 0 by definition of the Hounsfield scale;
 * - fat −120 to −80 and skeletal muscle 40–50: the usual tabulated values (Kalender, Computed
 *   Tomography, 3rd ed., 2011, ch. 1; Goodpaster et al., J Appl Physiol 2000;89:104–110 report
 *   normal thigh muscle near 40–50 HU);
 * - liver 55–65 and spleen 45–50, the liver about 8–10 HU above the spleen in a normal liver
 *   (Kodama et al., AJR 2007;188:1307–1312);
 * - renal parenchyma 30–40 (unenhanced kidney, standard radiology texts);
 * - unenhanced blood 35–50; cerebrospinal fluid 0–15;
 * - cancellous bone of a lumbar vertebral body 150–250 in adults (Pickhardt et al., Ann Intern
 *   Med 2013;158:588–595, L1 trabecular attenuation), cortical bone several hundred (700–1000).
 *
 * Portal venous phase, ~70 s after intravenous iodinated contrast (the shifted domain): the liver
 * enhances by ≥ 50 HU (Bae, Radiology 2010;256:32–61) to about 100–120; the spleen to 110–130;
 * the kidneys in their nephrographic phase to 150–190; the aorta and IVC to 150–200. Fat, muscle,
 * bone, air and CSF change by only a few HU and keep their unenhanced ranges here.
 */
export const HU_RANGES: Readonly<Record<'unenhanced' | 'portal-venous', Readonly<Record<Tissue, HuRange>>>> = {
  unenhanced: {
    air: [-1000, -1000],
    fat: [-120, -80],
    muscle: [40, 50],
    liver: [55, 65],
    spleen: [45, 50],
    kidney: [30, 40],
    blood: [35, 50],
    bone: [150, 250],
    cortex: [700, 1000],
    csf: [0, 15],
  },
  'portal-venous': {
    air: [-1000, -1000],
    fat: [-120, -80],
    muscle: [40, 50],
    liver: [100, 120],
    spleen: [110, 130],
    kidney: [150, 190],
    blood: [150, 200],
    bone: [150, 250],
    cortex: [700, 1000],
    csf: [0, 15],
  },
};

/** The scanner and protocol of one domain. */
export interface CtScanner {
  domain: Domain;
  manufacturerModelName: string;
  convolutionKernel: string;
  kvp: number;
  contrastPhase: 'unenhanced' | 'portal-venous';
  /** Standard deviation of the image noise, HU (white Gaussian). */
  noiseSigmaHu: number;
  /** Reconstruction diameter = square field of view, mm. */
  fieldOfViewMm: number;
  sliceThicknessMm: number;
  /** How pixels are stored: unsigned with intercept −1024 (12 bits stored) or signed with intercept 0. */
  pixelRepresentation: 0 | 1;
  rescaleIntercept: number;
}

/**
 * Base: a soft-tissue kernel, 2.5 mm slices, unenhanced, σ ≈ 10 HU, FOV ≈ 350 mm, unsigned pixels.
 * Shifted: a sharper kernel on another scanner, 5 mm slices, portal venous phase, σ ≈ 19 HU,
 * FOV ≈ 420 mm, signed pixels with intercept 0.
 */
export function drawCtScanner(domain: Domain, rng: Rng): CtScanner {
  const shifted = domain === 'shifted';
  return {
    domain,
    manufacturerModelName: shifted ? 'Phantom CT-B (shifted domain)' : 'Phantom CT-A (base domain)',
    convolutionKernel: shifted ? 'SHARP' : 'STANDARD',
    kvp: shifted ? 100 : 120,
    contrastPhase: shifted ? 'portal-venous' : 'unenhanced',
    noiseSigmaHu: shifted ? rng.uniform(17, 21) : rng.uniform(8, 11),
    fieldOfViewMm: shifted ? rng.uniform(400, 440) : rng.uniform(340, 360),
    sliceThicknessMm: shifted ? 5 : 2.5,
    pixelRepresentation: shifted ? 1 : 0,
    rescaleIntercept: shifted ? 0 : -1024,
  };
}

/** An ellipsoid with an irregular outline: semi-axes in mm, rotated by `angle` about z. */
interface Organ {
  cx: number;
  cy: number;
  cz: number;
  ax: number;
  ay: number;
  az: number;
  angle: number;
  /** Outline harmonics: radius × (1 + a2 cos(2φ + p2) + a3 cos(3φ + p3)). */
  a2: number;
  p2: number;
  a3: number;
  p3: number;
}

function drawOrgan(rng: Rng, o: Omit<Organ, 'a2' | 'p2' | 'a3' | 'p3'>): Organ {
  return {
    ...o,
    a2: rng.uniform(0.02, 0.05),
    p2: rng.uniform(0, 2 * Math.PI),
    a3: rng.uniform(0.01, 0.04),
    p3: rng.uniform(0, 2 * Math.PI),
  };
}

/** The patient: anatomy in mm and per-patient tissue values for both contrast phases. */
export interface CtAnatomy {
  /** Body ellipse semi-axes (x, y), subcutaneous fat and muscle wall thickness, mm. */
  body: { ax: number; ay: number; fat: number; wall: number };
  vertebra: { cy: number; r: number; cortex: number; canalR: number };
  paraspinal: { dx: number; cy: number; ax: number; ay: number };
  liver: Organ[];
  spleen: Organ;
  rightKidney: Organ;
  leftKidney: Organ;
  aorta: { cx: number; cy: number; r: number };
  ivc: { cx: number; cy: number; ax: number; ay: number };
  /** Where in its range each tissue's value lies, 0–1 (the same patient in both phases). */
  tissueLevel: Record<Tissue, number>;
}

/** Draws one patient's anatomy from (seed, index): the same in both domains. */
export function drawCtAnatomy(seed: number, index: number): CtAnatomy {
  const rng = streamFor(seed, index, 'ct-anatomy');
  const ax = rng.uniform(150, 170);
  const ay = rng.uniform(105, 125);
  const vr = rng.uniform(18, 22);
  const vcy = ay * rng.uniform(0.4, 0.48);
  const kidneyY = vcy + rng.uniform(0, 8);
  const kidneyX = vr + rng.uniform(48, 56);
  const tissueLevel = {} as Record<Tissue, number>;
  for (const t of Object.keys(HU_RANGES.unenhanced) as Tissue[]) tissueLevel[t] = rng.uniform(0.15, 0.85);
  return {
    body: { ax, ay, fat: rng.uniform(12, 28), wall: rng.uniform(8, 12) },
    vertebra: { cy: vcy, r: vr, cortex: 2.5, canalR: rng.uniform(7, 9) },
    paraspinal: { dx: vr + 10, cy: vcy + vr + 18, ax: 22, ay: 15 },
    liver: [
      // Right lobe, in the patient's right upper abdomen; left lobe across the midline, anterior.
      drawOrgan(rng, {
        cx: -ax * rng.uniform(0.38, 0.44),
        cy: -ay * rng.uniform(0, 0.1),
        cz: rng.uniform(40, 50),
        ax: ax * rng.uniform(0.34, 0.38),
        ay: ay * rng.uniform(0.55, 0.62),
        az: rng.uniform(70, 80),
        angle: rng.uniform(-0.2, 0.2),
      }),
      drawOrgan(rng, {
        cx: rng.uniform(0, 20),
        cy: -ay * rng.uniform(0.4, 0.5),
        cz: rng.uniform(55, 65),
        ax: rng.uniform(45, 60),
        ay: rng.uniform(25, 32),
        az: rng.uniform(35, 45),
        angle: rng.uniform(-0.2, 0.1),
      }),
    ],
    // Left posterior, long axis along the posterolateral ribs.
    spleen: drawOrgan(rng, {
      cx: ax * rng.uniform(0.5, 0.56),
      cy: ay * rng.uniform(0.3, 0.4),
      cz: rng.uniform(35, 45),
      ax: rng.uniform(20, 25),
      ay: rng.uniform(45, 55),
      az: rng.uniform(45, 55),
      angle: rng.uniform(-0.7, -0.5),
    }),
    // Either side of the spine, hila turned anteromedially; the right kidney sits lower.
    rightKidney: drawOrgan(rng, {
      cx: -kidneyX,
      cy: kidneyY,
      cz: rng.uniform(-30, -20),
      ax: rng.uniform(23, 27),
      ay: rng.uniform(28, 32),
      az: rng.uniform(50, 58),
      angle: rng.uniform(0.4, 0.6),
    }),
    leftKidney: drawOrgan(rng, {
      cx: kidneyX,
      cy: kidneyY,
      cz: rng.uniform(-15, -5),
      ax: rng.uniform(23, 27),
      ay: rng.uniform(28, 32),
      az: rng.uniform(50, 58),
      angle: rng.uniform(-0.6, -0.4),
    }),
    aorta: { cx: rng.uniform(8, 16), cy: vcy - vr - rng.uniform(12, 15), r: rng.uniform(10, 12) },
    ivc: { cx: -rng.uniform(18, 24), cy: vcy - vr - rng.uniform(8, 12), ax: 13, ay: 9 },
    tissueLevel,
  };
}

/** The organ's cross-section at z: a function (x, y) → inside, and its bounding box; null if the slice misses it. */
function section(o: Organ, z: number): { inside(x: number, y: number): boolean; box: [number, number, number, number] } | null {
  const t = (z - o.cz) / o.az;
  if (Math.abs(t) >= 1) return null;
  const s = Math.sqrt(1 - t * t);
  const a = o.ax * s;
  const b = o.ay * s;
  const c = Math.cos(o.angle);
  const sn = Math.sin(o.angle);
  const maxR = 1 + o.a2 + o.a3;
  const reach = Math.max(a, b) * maxR;
  return {
    box: [o.cx - reach, o.cy - reach, o.cx + reach, o.cy + reach],
    inside(x, y) {
      const dx = x - o.cx;
      const dy = y - o.cy;
      const u = (dx * c + dy * sn) / a;
      const v = (-dx * sn + dy * c) / b;
      const r = Math.sqrt(u * u + v * v);
      if (r >= maxR) return false;
      const phi = Math.atan2(v, u);
      return r < 1 + o.a2 * Math.cos(2 * phi + o.p2) + o.a3 * Math.cos(3 * phi + o.p3);
    },
  };
}

export interface CtPhantomOptions {
  seed: number;
  /** Patient index within the seed (default 0). */
  index?: number;
  domain?: Domain;
  /** Rows = columns (default 128). */
  size?: number;
  /** Number of axial slices (default 48). */
  slices?: number;
}

/** One axial slice: HU as integers and the label map (values of CT_LABELS), row-major, rows × columns. */
export interface CtSlice {
  index: number;
  hu: Int16Array;
  labelMap: Uint8Array;
  /** Image Position (Patient) of the first pixel's centre, mm. */
  imagePositionPatient: [number, number, number];
}

/** The volume's description: geometry, scanner and the patient's tissue means. */
export interface CtPhantomMeta {
  seed: number;
  index: number;
  domain: Domain;
  rows: number;
  columns: number;
  slices: number;
  scanner: CtScanner;
  /** Row spacing, column spacing (mm), as Pixel Spacing. */
  pixelSpacingMm: [number, number];
  /** Distance between slice centres along the normal, mm (= slice thickness: contiguous). */
  sliceSpacingMm: number;
  imageOrientationPatient: [number, number, number, number, number, number];
  /** The tissues' noiseless HU in this phantom. */
  tissueHu: Record<Tissue, number>;
}

export interface CtPhantom {
  meta: CtPhantomMeta;
  anatomy: CtAnatomy;
  /** Generates slice k (0 = most superior); each call recomputes it, so a caller holds one at a time. */
  slice(k: number): CtSlice;
}

/**
 * A CT phantom volume, generated lazily one slice at a time so a 512 × 512 × 300 volume never
 * needs more than a slice in memory. Deterministic: the same options give the same slices.
 * Throws RangeError on a size outside 16–1024 or a slice count outside 1–2000.
 */
export function createCtPhantom(opts: CtPhantomOptions): CtPhantom {
  const seed = opts.seed;
  const index = opts.index ?? 0;
  const domain = opts.domain ?? 'base';
  const size = opts.size ?? 128;
  const slices = opts.slices ?? 48;
  if (!Number.isInteger(size) || size < 16 || size > 1024)
    throw new RangeError(`size must be an integer from 16 to 1024, got ${size}`);
  if (!Number.isInteger(slices) || slices < 1 || slices > 2000)
    throw new RangeError(`slices must be an integer from 1 to 2000, got ${slices}`);
  const scanner = drawCtScanner(domain, streamFor(seed, index, `ct-scanner-${domain}`));
  const anatomy = drawCtAnatomy(seed, index);
  const ranges = HU_RANGES[scanner.contrastPhase];
  const tissueHu = {} as Record<Tissue, number>;
  for (const t of Object.keys(ranges) as Tissue[]) {
    const [lo, hi] = ranges[t];
    tissueHu[t] = lo + (hi - lo) * anatomy.tissueLevel[t];
  }
  const spacing = scanner.fieldOfViewMm / size;
  const dz = scanner.sliceThicknessMm;
  const x0 = -scanner.fieldOfViewMm / 2 + spacing / 2;
  // The couch puts the body's centre a little above the centre of the field.
  const y0 = -scanner.fieldOfViewMm / 2 + spacing / 2 + 10;
  // Centred on the organs (z ≈ +15 mm): the default 48 slices cover liver, spleen and kidneys in both domains.
  const zTop = 15 + ((slices - 1) / 2) * dz;
  const meta: CtPhantomMeta = {
    seed,
    index,
    domain,
    rows: size,
    columns: size,
    slices,
    scanner,
    pixelSpacingMm: [spacing, spacing],
    sliceSpacingMm: dz,
    imageOrientationPatient: [1, 0, 0, 0, 1, 0],
    tissueHu,
  };
  return {
    meta,
    anatomy,
    slice(k) {
      if (!Number.isInteger(k) || k < 0 || k >= slices) throw new RangeError(`slice ${k} is outside 0–${slices - 1}`);
      const z = zTop - k * dz;
      return renderSlice(
        anatomy,
        tissueHu,
        { size, spacing, x0, y0, z },
        streamFor(hashInts(seed, index), k, `ct-noise-${domain}`),
        scanner,
        k,
      );
    },
  };
}

interface Grid {
  size: number;
  spacing: number;
  x0: number;
  y0: number;
  z: number;
}

const CAVITY = 3;

function renderSlice(a: CtAnatomy, hu: Record<Tissue, number>, g: Grid, noise: Rng, scanner: CtScanner, k: number): CtSlice {
  const { size, spacing, x0, y0, z } = g;
  const n = size * size;
  const value = new Float32Array(n);
  const labelMap = new Uint8Array(n);
  // 0 air, 1 fat, 2 muscle wall, 3 abdominal cavity.
  const region = new Uint8Array(n);
  const { ax, ay, fat, wall } = a.body;
  for (let r = 0; r < size; r++) {
    const y = y0 + r * spacing;
    for (let c = 0; c < size; c++) {
      const x = x0 + c * spacing;
      const i = r * size + c;
      const outer = (x / ax) ** 2 + (y / ay) ** 2;
      const inFat = (x / (ax - fat)) ** 2 + (y / (ay - fat)) ** 2;
      const inWall = (x / (ax - fat - wall)) ** 2 + (y / (ay - fat - wall)) ** 2;
      region[i] = outer >= 1 ? 0 : inFat >= 1 ? 1 : inWall >= 1 ? 2 : CAVITY;
      value[i] = [hu.air, hu.fat, hu.muscle, hu.fat][region[i]] ?? hu.air;
    }
  }
  // Paints `tissue` (and `label`) where `inside` holds within the box, on the allowed regions.
  const paint = (
    box: [number, number, number, number],
    inside: (x: number, y: number) => boolean,
    tissue: number,
    label: number,
    minRegion: number,
  ): void => {
    const c0 = Math.max(0, Math.floor((box[0] - x0) / spacing));
    const c1 = Math.min(size - 1, Math.ceil((box[2] - x0) / spacing));
    const r0 = Math.max(0, Math.floor((box[1] - y0) / spacing));
    const r1 = Math.min(size - 1, Math.ceil((box[3] - y0) / spacing));
    for (let r = r0; r <= r1; r++) {
      const y = y0 + r * spacing;
      for (let c = c0; c <= c1; c++) {
        const i = r * size + c;
        if ((region[i] ?? 0) < minRegion) continue;
        if (!inside(x0 + c * spacing, y)) continue;
        value[i] = tissue;
        labelMap[i] = label;
      }
    }
  };
  const organ = (o: Organ, tissue: number, label: number): void => {
    const s = section(o, z);
    if (s) paint(s.box, s.inside, tissue, label, CAVITY);
  };
  for (const lobe of a.liver) organ(lobe, hu.liver, 1);
  organ(a.spleen, hu.spleen, 2);
  organ(a.rightKidney, hu.kidney, 3);
  organ(a.leftKidney, hu.kidney, 4);
  const ell = (cx: number, cy: number, rx: number, ry: number) => (x: number, y: number) =>
    ((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 < 1;
  const { aorta, ivc, vertebra: v, paraspinal: p } = a;
  paint(
    [aorta.cx - aorta.r, aorta.cy - aorta.r, aorta.cx + aorta.r, aorta.cy + aorta.r],
    ell(aorta.cx, aorta.cy, aorta.r, aorta.r),
    hu.blood,
    0,
    CAVITY,
  );
  paint(
    [ivc.cx - ivc.ax, ivc.cy - ivc.ay, ivc.cx + ivc.ax, ivc.cy + ivc.ay],
    ell(ivc.cx, ivc.cy, ivc.ax, ivc.ay),
    hu.blood,
    0,
    CAVITY,
  );
  // Paraspinal muscles, then the vertebral body (cortex, cancellous bone) and the canal: inside the body wall.
  for (const sx of [-1, 1]) {
    const cx = sx * p.dx;
    paint([cx - p.ax, p.cy - p.ay, cx + p.ax, p.cy + p.ay], ell(cx, p.cy, p.ax, p.ay), hu.muscle, 0, 2);
  }
  const vb = [-v.r, v.cy - v.r, v.r, v.cy + v.r] as [number, number, number, number];
  paint(vb, ell(0, v.cy, v.r, v.r), hu.cortex, 0, 2);
  paint(vb, ell(0, v.cy, v.r - v.cortex, v.r - v.cortex), hu.bone, 0, 2);
  const canalY = v.cy + v.r + v.canalR + 2;
  paint(
    [-v.canalR - 3, canalY - v.canalR - 3, v.canalR + 3, canalY + v.canalR + 3],
    ell(0, canalY, v.canalR + 3, v.canalR + 3),
    hu.cortex,
    0,
    2,
  );
  paint([-v.canalR, canalY - v.canalR, v.canalR, canalY + v.canalR], ell(0, canalY, v.canalR, v.canalR), hu.csf, 0, 2);
  // Noise, then integer HU in what the stored pixels can hold.
  const gauss = new Float32Array(n);
  noise.fillNormal(gauss);
  const out = new Int16Array(n);
  const lo = scanner.pixelRepresentation === 0 ? scanner.rescaleIntercept : -32768;
  const hi = scanner.pixelRepresentation === 0 ? scanner.rescaleIntercept + 4095 : 32767;
  for (let i = 0; i < n; i++) {
    const h = Math.round((value[i] ?? 0) + scanner.noiseSigmaHu * (gauss[i] ?? 0));
    out[i] = h < lo ? lo : h > hi ? hi : h;
  }
  return { index: k, hu: out, labelMap, imagePositionPatient: [x0, y0, z] };
}
