import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readPng8 } from '../../../tests/helpers/png';
import { runCli } from './cli';
import { createCtPhantom, CT_LABELS, HU_RANGES, readDicom, writeCtPhantomSeries, type CtPhantom } from './index';

const hasDciodvfy = spawnSync('dciodvfy', [], { stdio: 'ignore' }).error === undefined;

let dir = '';
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lgms-ct-phantom-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Per label value: voxel count, mean HU, standard deviation and centroid (x, y, z in mm, LPS). */
function organStats(p: CtPhantom): Map<number, { n: number; mean: number; sd: number; centroid: [number, number, number] }> {
  const acc = new Map<number, { n: number; s: number; s2: number; x: number; y: number; z: number }>();
  const [dy, dx] = p.meta.pixelSpacingMm;
  for (let k = 0; k < p.meta.slices; k++) {
    const s = p.slice(k);
    const [x0, y0, z] = s.imagePositionPatient;
    s.labelMap.forEach((v, i) => {
      const a = acc.get(v) ?? { n: 0, s: 0, s2: 0, x: 0, y: 0, z: 0 };
      const h = s.hu[i] ?? 0;
      a.n++;
      a.s += h;
      a.s2 += h * h;
      a.x += x0 + (i % p.meta.columns) * dx;
      a.y += y0 + Math.floor(i / p.meta.columns) * dy;
      a.z += z;
      acc.set(v, a);
    });
  }
  return new Map(
    [...acc].map(([v, a]) => {
      const mean = a.s / a.n;
      return [v, { n: a.n, mean, sd: Math.sqrt(a.s2 / a.n - mean * mean), centroid: [a.x / a.n, a.y / a.n, a.z / a.n] }];
    }),
  );
}

const TISSUE_OF = { 1: 'liver', 2: 'spleen', 3: 'kidney', 4: 'kidney' } as const;

describe('CT phantom volume', () => {
  const phantoms = (['base', 'shifted'] as const).map((domain) => createCtPhantom({ seed: 11, index: 0, domain }));
  const stats = phantoms.map(organStats);

  it('labels liver 1, spleen 2, right kidney 3, left kidney 4 with their SNOMED CT codes', () => {
    expect(CT_LABELS.map((l) => [l.value, l.name, l.code.scheme, l.code.value])).toEqual([
      [1, 'Liver', 'SCT', '10200004'],
      [2, 'Spleen', 'SCT', '78961009'],
      [3, 'Right kidney', 'SCT', '9846003'],
      [4, 'Left kidney', 'SCT', '18639004'],
    ]);
  });

  it('has each organ’s mean HU within its stated range and noise σ matching the scanner', () => {
    for (const [d, p] of phantoms.entries()) {
      const ranges = HU_RANGES[p.meta.scanner.contrastPhase];
      for (const v of [1, 2, 3, 4] as const) {
        const s = stats[d]!.get(v)!;
        expect(s.n, `${p.meta.domain} label ${v}`).toBeGreaterThan(500);
        const [lo, hi] = ranges[TISSUE_OF[v]];
        expect(s.mean, `${p.meta.domain} label ${v}`).toBeGreaterThanOrEqual(lo - 1);
        expect(s.mean, `${p.meta.domain} label ${v}`).toBeLessThanOrEqual(hi + 1);
        // Constant tissue + white Gaussian noise (+ 1/12 HU² of rounding).
        expect(s.sd / p.meta.scanner.noiseSigmaHu, `${p.meta.domain} label ${v}`).toBeGreaterThan(0.93);
        expect(s.sd / p.meta.scanner.noiseSigmaHu, `${p.meta.domain} label ${v}`).toBeLessThan(1.07);
      }
    }
  });

  it('places the organs where they lie: liver patient-right, spleen left posterior, kidneys either side of the spine', () => {
    for (const s of stats) {
      const c = (v: number) => s.get(v)!.centroid;
      // LPS: −x is the patient's right (the image's left), +y posterior, +z superior.
      expect(c(1)[0]).toBeLessThan(-20);
      expect(c(2)[0]).toBeGreaterThan(50);
      expect(c(2)[1]).toBeGreaterThan(c(1)[1] + 20);
      expect(c(3)[0]).toBeLessThan(-40);
      expect(c(4)[0]).toBeGreaterThan(40);
      expect(c(3)[1]).toBeGreaterThan(20);
      expect(c(4)[1]).toBeGreaterThan(20);
      // The liver above the kidneys; the right kidney lower than the left.
      expect(c(1)[2]).toBeGreaterThan(c(3)[2] + 30);
      expect(c(3)[2]).toBeLessThan(c(4)[2]);
    }
  });

  it('differs between domains as designed: same patient, noisier sharp kernel, thicker slices, wider field, portal venous phase', () => {
    const [a, b] = phantoms.map((p) => p.meta);
    expect(b!.scanner.noiseSigmaHu).toBeGreaterThan(1.5 * a!.scanner.noiseSigmaHu);
    expect([a!.sliceSpacingMm, b!.sliceSpacingMm]).toEqual([2.5, 5]);
    expect(b!.pixelSpacingMm[0]).toBeGreaterThan(a!.pixelSpacingMm[0] * 1.1);
    expect([a!.scanner.contrastPhase, b!.scanner.contrastPhase]).toEqual(['unenhanced', 'portal-venous']);
    const [sa, sb] = stats;
    for (const v of [1, 2, 3, 4]) expect(sb!.get(v)!.mean - sa!.get(v)!.mean, `label ${v}`).toBeGreaterThan(40);
    // The same anatomy: each organ's in-plane centroid within a few mm (the base domain's thinner
    // slices cover less of the organs' superior–inferior extent, so z is not compared).
    for (const v of [1, 2, 3, 4])
      for (let j = 0; j < 2; j++)
        expect(Math.abs(sb!.get(v)!.centroid[j]! - sa!.get(v)!.centroid[j]!), `label ${v} axis ${j}`).toBeLessThan(4);
    // Outside the organs (fat, muscle, bone) nothing enhances: the background means stay close.
    expect(Math.abs(sb!.get(0)!.mean - sa!.get(0)!.mean)).toBeLessThan(200);
  });

  it('refuses sizes it cannot make', () => {
    expect(() => createCtPhantom({ seed: 1, size: 8 })).toThrow(RangeError);
    expect(() => createCtPhantom({ seed: 1, slices: 0 })).toThrow(RangeError);
    expect(() => phantoms[0]!.slice(48)).toThrow(RangeError);
  });
});

describe('CT phantom series on disk', () => {
  const opts = { seed: 5, size: 64, slices: 12 } as const;

  it('is the same bytes for the same seed, and other bytes for another seed', async () => {
    const write = (sub: string, seed: number) =>
      writeCtPhantomSeries({
        ...opts,
        seed,
        dicomDir: path.join(dir, sub, 'dicom'),
        groundTruthDir: path.join(dir, sub, 'truth'),
      });
    const [a, b, c] = [await write('a', 5), await write('b', 5), await write('c', 6)];
    const same = async (x: string, y: string) => Buffer.from(await readFile(x)).equals(await readFile(y));
    for (const [i, f] of a.files.entries()) {
      expect(await same(f, b.files[i]!)).toBe(true);
      expect(await same(a.labelMaps[i]!, b.labelMaps[i]!)).toBe(true);
    }
    expect(await same(a.groundTruthJson, b.groundTruthJson)).toBe(true);
    expect(await same(a.files[6]!, c.files[6]!)).toBe(false);
  });

  for (const domain of ['base', 'shifted'] as const)
    it(`writes correct CT geometry and its label maps (${domain} domain)`, async () => {
      const r = await writeCtPhantomSeries({
        ...opts,
        domain,
        dicomDir: path.join(dir, 'g', 'dicom'),
        groundTruthDir: path.join(dir, 'g', 'truth'),
      });
      const phantom = createCtPhantom({ ...opts, domain });
      const truth = JSON.parse(await readFile(r.groundTruthJson, 'utf8'));
      expect(truth.labelMapValues).toEqual({ '1': 'Liver', '2': 'Spleen', '3': 'Right kidney', '4': 'Left kidney' });
      expect(truth.labels[0].code).toEqual({ value: '10200004', scheme: 'SCT', meaning: 'Liver' });
      expect(truth.slices).toHaveLength(12);
      const frames = new Set<string>();
      let previous: number[] | null = null;
      for (const [k, file] of r.files.entries()) {
        const ds = readDicom(await readFile(file));
        expect(ds.Modality).toBe('CT');
        expect(ds.SOPClassUID).toBe('1.2.840.10008.5.1.4.1.1.2');
        expect(String(ds.SeriesDescription)).toMatch(/synthetic phantom/i);
        expect(JSON.stringify(ds.PatientName)).toMatch(/DEMO\^CT PHANTOM/);
        expect(ds.ImageOrientationPatient).toEqual([1, 0, 0, 0, 1, 0]);
        expect(ds.PixelSpacing).toEqual(r.meta.pixelSpacingMm.map((v) => Math.round(v * 1e6) / 1e6));
        expect(ds.SliceThickness).toBe(r.meta.sliceSpacingMm);
        frames.add(String(ds.FrameOfReferenceUID));
        const ipp = ds.ImagePositionPatient as number[];
        if (previous) {
          // Normal = row direction × column direction = +z; slices step by the spacing along it (superior → inferior).
          const step = ipp.map((v, j) => v - previous![j]!);
          expect(step[0]).toBeCloseTo(0, 6);
          expect(step[1]).toBeCloseTo(0, 6);
          expect(step[2]).toBeCloseTo(-r.meta.sliceSpacingMm, 6);
        }
        previous = ipp;
        // Stored value × slope + intercept is the generator's HU; the PNG is its label map.
        const slice = phantom.slice(k);
        const bytes = ds.PixelData as ArrayBuffer[];
        const stored = r.meta.scanner.pixelRepresentation === 0 ? new Uint16Array(bytes[0]!) : new Int16Array(bytes[0]!);
        const hu = Array.from(stored, (v) => v * Number(ds.RescaleSlope) + Number(ds.RescaleIntercept));
        expect(hu).toEqual(Array.from(slice.hu));
        const png = readPng8(await readFile(r.labelMaps[k]!));
        expect([png.width, png.height]).toEqual([64, 64]);
        expect(Buffer.from(png.data).equals(Buffer.from(slice.labelMap))).toBe(true);
        expect(truth.slices[k].sopInstanceUid).toBe(ds.SOPInstanceUID);
      }
      expect(frames.size).toBe(1);
    });

  it.skipIf(!hasDciodvfy)(
    'passes dciodvfy without errors or warnings (first, middle and last slice of each domain)',
    async () => {
      for (const domain of ['base', 'shifted'] as const) {
        const r = await writeCtPhantomSeries({
          ...opts,
          domain,
          dicomDir: path.join(dir, 'v', 'dicom'),
          groundTruthDir: path.join(dir, 'v', 'truth'),
        });
        for (const file of [r.files[0]!, r.files[6]!, r.files[11]!]) {
          const out = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
          const problems = `${out.stdout}${out.stderr}`.split('\n').filter((l) => /^(Error|Warning)/.test(l));
          expect(problems, `${domain} ${path.basename(file)}`).toEqual([]);
        }
      }
    },
  );

  it('is offered by the CLI', async () => {
    const out = path.join(dir, 'cli');
    const line = await runCli(['ct', '--out', out, '--seed', '3', '--domain', 'shifted', '--size', '32', '--slices', '4']);
    expect(line).toMatch(/wrote a 32×32×4 shifted CT phantom/);
    const truth = JSON.parse(
      await readFile(path.join(out, 'ground-truth', 'DEMO-CT-3-0001', 'CT-shifted', 'ground-truth.json'), 'utf8'),
    );
    expect(truth.slices).toHaveLength(4);
    expect(truth.slices[0].file).toBe(path.join('..', '..', '..', 'dicom', 'DEMO-CT-3-0001', 'CT-shifted', 'IM0001.dcm'));
  });
});
