import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readPng8 } from '../../../tests/helpers/png';
import { generatePhantom, writePngPairs, type Phantom } from './index';
import { THYROID_LABELS } from './thyroid';

/** Mean grey value of the image where the label map holds `value`, and the pixel count. */
function meanWhere(p: Phantom, value: number): { mean: number; n: number } {
  let s = 0;
  let n = 0;
  p.labelMap?.forEach((v, i) => {
    if (v === value) {
      s += p.image[i] ?? 0;
      n++;
    }
  });
  return { mean: n ? s / n : NaN, n };
}

describe('thyroid phantom ground truth', () => {
  const phantoms = (['base', 'shifted'] as const).flatMap((domain) =>
    [0, 1, 2, 3, 4, 5].map((index) => generatePhantom({ seed: 17, index, domain, width: 128, height: 128, anatomy: 'thyroid' })),
  );

  it('labels the lobe, trachea, carotid artery and jugular vein with values 1–4 in both scanner domains', () => {
    expect(THYROID_LABELS.map((l) => l.value)).toEqual([1, 2, 3, 4]);
    const seen = { base: [0, 0, 0, 0, 0], shifted: [0, 0, 0, 0, 0] };
    for (const p of phantoms) {
      const map = p.labelMap;
      expect(map).toBeInstanceOf(Uint8Array);
      expect(map?.length).toBe(p.width * p.height);
      const values = new Set(map);
      for (const v of values) expect([0, 1, 2, 3, 4]).toContain(v);
      // Every image shows the lobe; the trachea and the vessels lie beside it and may be out of
      // the field (often on the convex probe), and the jugular is drawn in ~60 % of patients.
      for (const v of [1]) expect(meanWhere(p, v).n, `${p.meta.domain} #${p.meta.index} label ${v}`).toBeGreaterThan(100);
      for (const v of values) seen[p.meta.domain][v]! += 1;
      // The lesion (a nodule in the lobe) is part of the lobe.
      p.mask.forEach((m, i) => m && expect(map?.[i]).toBe(1));
    }
    expect(seen.base).toEqual([6, 6, 6, 6, expect.any(Number)]);
    expect(seen.base[4]).toBeGreaterThan(0);
    expect(seen.base[4]).toBeLessThan(6);
    expect(seen.shifted[1]).toBe(6);
    expect(seen.shifted[2]).toBeGreaterThan(0);
    expect(seen.shifted[3]).toBeGreaterThan(0);
  });

  it('matches what the image shows: anechoic vessels, bright lobe, nothing outside the field', () => {
    for (const p of phantoms) {
      const lobe = meanWhere(p, 1).mean;
      const carotid = meanWhere(p, 3);
      if (carotid.n > 100) expect(carotid.mean).toBeLessThan(0.5 * lobe);
      const jug = meanWhere(p, 4);
      if (jug.n > 40) expect(jug.mean).toBeLessThan(0.6 * lobe);
      const [x0, y0, x1, y1] = p.meta.fieldBox;
      p.labelMap?.forEach((v, i) => {
        const x = i % p.width;
        const y = Math.floor(i / p.width);
        if (x < x0 || x > x1 || y < y0 || y > y1) expect(v).toBe(0);
      });
    }
  });

  it('is deterministic by seed and leaves the image and the breast phantoms as they were', () => {
    const a = generatePhantom({ seed: 17, index: 3, domain: 'shifted', width: 128, height: 128, anatomy: 'thyroid' });
    const b = generatePhantom({ seed: 17, index: 3, domain: 'shifted', width: 128, height: 128, anatomy: 'thyroid' });
    expect(Buffer.from(a.labelMap ?? []).equals(Buffer.from(b.labelMap ?? []))).toBe(true);
    expect(Buffer.from(a.image).equals(Buffer.from(b.image))).toBe(true);
    const other = generatePhantom({ seed: 18, index: 3, domain: 'shifted', width: 128, height: 128, anatomy: 'thyroid' });
    expect(Buffer.from(other.labelMap ?? []).equals(Buffer.from(a.labelMap ?? []))).toBe(false);
    // A breast phantom has only its lesion mask.
    expect(generatePhantom({ seed: 17, index: 3, domain: 'base', width: 128, height: 128 }).labelMap).toBeUndefined();
  });

  it('writePngPairs writes each thyroid label map as labels/<name>.png', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'lgms-thyroid-'));
    try {
      const r = await writePngPairs(dir, { count: 2, seed: 17, domain: 'base', size: 128, anatomy: 'thyroid' });
      const json = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
      expect(json.labelMapValues).toEqual({ '1': 'Thyroid lobe', '2': 'Trachea', '3': 'Carotid artery', '4': 'Jugular vein' });
      for (const item of r.items) {
        expect(item.labelMap).toBe(`labels/${item.name}.png`);
        const png = readPng8(await readFile(path.join(dir, item.labelMap ?? '')));
        const p = generatePhantom({ seed: 17, index: item.index, domain: 'base', width: 128, height: 128, anatomy: 'thyroid' });
        expect(Buffer.from(png.data).equals(Buffer.from(p.labelMap ?? []))).toBe(true);
      }
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
