import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generatePhantom, type Phantom } from './phantom';
import { hashInts, Rng, streamFor } from './prng';

const sha = (a: Uint8Array): string => createHash('sha256').update(a).digest('hex');

/** Mean of the image inside the mask and in a ring 3–10 pixels outside it (inside the field). */
function lesionAndRing(p: Phantom): { lesion: number; ring: number } {
  const { width: w, height: h, mask, image } = p;
  // Chamfer-free distance: grow the mask one pixel at a time (4-neighbour), 10 steps.
  const dist = new Int16Array(w * h).fill(-1);
  let frontier: number[] = [];
  for (let i = 0; i < mask.length; i++)
    if (mask[i]) {
      dist[i] = 0;
      frontier.push(i);
    }
  for (let step = 1; step <= 10; step++) {
    const next: number[] = [];
    for (const i of frontier) {
      const x = i % w;
      for (const j of [i - 1, i + 1, i - w, i + w]) {
        if (j < 0 || j >= w * h || (j === i - 1 && x === 0) || (j === i + 1 && x === w - 1) || dist[j] !== -1) continue;
        dist[j] = step;
        next.push(j);
      }
    }
    frontier = next;
  }
  let ls = 0,
    ln = 0,
    rs = 0,
    rn = 0;
  for (let i = 0; i < mask.length; i++) {
    const d = dist[i] ?? -1;
    const v = image[i] ?? 0;
    if (d === 0) {
      ls += v;
      ln++;
    } else if (d >= 3 && v > 0) {
      rs += v;
      rn++;
    }
  }
  return { lesion: ls / ln, ring: rs / rn };
}

/** Lag-2 horizontal autocorrelation of a 60×60 patch in the middle of the field (speckle grain). */
function lagCorrelation(p: Phantom): number {
  const [x0, y0, x1, y1] = p.meta.fieldBox;
  const cx = Math.round((x0 + x1) / 2);
  const cy = Math.round((y0 + y1) / 2);
  const a: number[] = [];
  const b: number[] = [];
  for (let y = cy - 30; y < cy + 30; y++) {
    for (let x = cx - 30; x < cx + 30; x++) {
      a.push(p.image[y * p.width + x] ?? 0);
      b.push(p.image[y * p.width + x + 2] ?? 0);
    }
  }
  const ma = a.reduce((s, v) => s + v, 0) / a.length;
  const mb = b.reduce((s, v) => s + v, 0) / b.length;
  let c = 0,
    va = 0,
    vb = 0;
  a.forEach((v, i) => {
    const u = (b[i] ?? 0) - mb;
    c += (v - ma) * u;
    va += (v - ma) ** 2;
    vb += u * u;
  });
  return c / Math.sqrt(va * vb);
}

/** Mean and standard deviation of the pixels inside the imaged field. */
function fieldStats(p: Phantom): { mean: number; std: number } {
  let s = 0,
    s2 = 0,
    n = 0;
  for (const v of p.image)
    if (v > 0) {
      s += v;
      s2 += v * v;
      n++;
    }
  const mean = s / n;
  return { mean, std: Math.sqrt(s2 / n - mean * mean) };
}

describe('prng', () => {
  it('is a fixed sequence for a seed', () => {
    const r = new Rng(12345);
    expect([r.nextU32(), r.nextU32(), r.nextU32()]).toEqual([4207900869, 1317490944, 2079646450]);
    expect(hashInts(1, 2, 3)).toBe(hashInts(1, 2, 3));
    expect(hashInts(1, 2, 3)).not.toBe(hashInts(1, 3, 2));
    expect(hashInts(2 ** 40)).not.toBe(hashInts(0));
  });

  it('draws uniform numbers and unit-variance noise', () => {
    const r = streamFor(7, 0, 'test');
    const u = Array.from({ length: 20000 }, () => r.next());
    expect(Math.min(...u)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...u)).toBeLessThan(1);
    expect(u.reduce((s, v) => s + v, 0) / u.length).toBeCloseTo(0.5, 1);
    const t = new Float32Array(20000);
    r.fillTriangular(t);
    const mean = t.reduce((s, v) => s + v, 0) / t.length;
    const variance = t.reduce((s, v) => s + (v - mean) ** 2, 0) / t.length;
    expect(Math.abs(mean)).toBeLessThan(0.03);
    expect(variance).toBeGreaterThan(0.95);
    expect(variance).toBeLessThan(1.05);
  });
});

describe('generatePhantom', () => {
  it('is deterministic: same (seed, index, domain) gives the same bytes', () => {
    for (const domain of ['base', 'shifted'] as const) {
      const a = generatePhantom({ seed: 42, index: 3, domain });
      const b = generatePhantom({ seed: 42, index: 3, domain });
      expect(sha(a.image)).toBe(sha(b.image));
      expect(sha(a.mask)).toBe(sha(b.mask));
      expect(a.meta).toEqual(b.meta);
    }
  });

  it('pins the output bytes (a change here changes every generated dataset)', () => {
    const p = generatePhantom({ seed: 1, index: 0, domain: 'base' });
    const q = generatePhantom({ seed: 1, index: 0, domain: 'shifted' });
    expect({ base: sha(p.image).slice(0, 16), mask: sha(p.mask).slice(0, 16), shifted: sha(q.image).slice(0, 16) })
      .toMatchInlineSnapshot(`
      {
        "base": "f82cf4d4146690df",
        "mask": "726244c792b9c4d2",
        "shifted": "8ae079ffe23554bf",
      }
    `);
  });

  it('changes with the seed, the index and the domain', () => {
    const ref = sha(generatePhantom({ seed: 42, index: 3 }).image);
    expect(sha(generatePhantom({ seed: 43, index: 3 }).image)).not.toBe(ref);
    expect(sha(generatePhantom({ seed: 42, index: 4 }).image)).not.toBe(ref);
    expect(sha(generatePhantom({ seed: 42, index: 3, domain: 'shifted' }).image)).not.toBe(ref);
  });

  it('honours the size, and refuses sizes that are not multiples of 32', () => {
    const p = generatePhantom({ seed: 1, index: 0, width: 320, height: 192 });
    expect([p.width, p.height, p.image.length, p.mask.length]).toEqual([320, 192, 320 * 192, 320 * 192]);
    expect(p.mask.some((v) => v === 1)).toBe(true);
    expect(() => generatePhantom({ seed: 1, index: 0, width: 250 })).toThrow(RangeError);
    expect(() => generatePhantom({ seed: 1.5, index: 0 })).toThrow(RangeError);
  });

  it('gives one non-empty 0/1 lesion mask inside the field, clear of the image border', () => {
    for (const domain of ['base', 'shifted'] as const) {
      for (let index = 0; index < 30; index++) {
        const p = generatePhantom({ seed: 5, index, domain });
        const { width: w, height: h, mask } = p;
        const [fx0, fy0, fx1, fy1] = p.meta.fieldBox;
        let area = 0;
        let badValue = 0;
        let nearBorder = 0;
        let outsideField = 0;
        for (let i = 0; i < mask.length; i++) {
          const v = mask[i] ?? 0;
          if (v > 1) badValue++;
          if (!v) continue;
          area++;
          const x = i % w;
          const y = Math.floor(i / w);
          if (Math.min(x, y, w - 1 - x, h - 1 - y) < 4) nearBorder++;
          if (x < fx0 || x > fx1 || y < fy0 || y > fy1) outsideField++;
        }
        expect({ badValue, nearBorder, outsideField }).toEqual({ badValue: 0, nearBorder: 0, outsideField: 0 });
        expect(area).toBe(p.meta.lesion.areaPx);
        expect(area).toBeGreaterThan(150);
        expect(area).toBeLessThan(0.25 * w * h);
      }
    }
  });

  it('draws hypoechoic lesions: darker than a ring around them', () => {
    const ratios: number[] = [];
    for (const domain of ['base', 'shifted'] as const) {
      for (let index = 0; index < 30; index++) {
        const { lesion, ring } = lesionAndRing(generatePhantom({ seed: 9, index, domain }));
        ratios.push(lesion / ring);
      }
    }
    ratios.sort((a, b) => a - b);
    expect(ratios.filter((r) => r < 1).length).toBeGreaterThanOrEqual(ratios.length - 1);
    expect(ratios[ratios.length >> 1]).toBeLessThan(0.8);
    // Contrast varies: some lesions nearly black, some only a little darker than their surroundings.
    expect(ratios[0]).toBeLessThan(0.35);
    expect(ratios[ratios.length - 3]).toBeGreaterThan(0.8);
  });

  it('places thyroid nodules inside the lobe and keeps them hypoechoic', () => {
    let darker = 0;
    for (let index = 0; index < 16; index++) {
      const p = generatePhantom({ seed: 31, index, domain: index % 2 ? 'shifted' : 'base', anatomy: 'thyroid' });
      expect(p.meta.anatomy).toBe('thyroid');
      expect(p.meta.lesion.areaPx).toBeGreaterThan(150);
      const { lesion, ring } = lesionAndRing(p);
      if (lesion < ring) darker++;
    }
    expect(darker).toBeGreaterThanOrEqual(15);
    const kinds = new Set(
      Array.from({ length: 20 }, (_, index) => generatePhantom({ seed: 2, index, anatomy: 'mixed' }).meta.anatomy),
    );
    expect(kinds).toEqual(new Set(['breast', 'thyroid']));
  });

  it('varies lesion size from small to large', () => {
    const areas = Array.from({ length: 40 }, (_, index) => generatePhantom({ seed: 21, index }).meta.lesion.areaPx);
    expect(Math.min(...areas)).toBeLessThan(800);
    expect(Math.max(...areas)).toBeGreaterThan(5000);
  });

  it('makes the shifted domain statistically different from the base domain', () => {
    const n = 12;
    const stats = (domain: 'base' | 'shifted') => {
      let corr = 0,
        mean = 0,
        std = 0,
        black = 0;
      for (let index = 0; index < n; index++) {
        const p = generatePhantom({ seed: 77, index, domain });
        corr += lagCorrelation(p) / n;
        const f = fieldStats(p);
        mean += f.mean / n;
        std += f.std / n;
        black += p.image.filter((v) => v === 0).length / p.image.length / n;
      }
      return { corr, mean, std, black };
    };
    const base = stats('base');
    const shifted = stats('shifted');
    expect(shifted.corr).toBeGreaterThan(base.corr + 0.05); // coarser speckle, more blur
    expect(Math.abs(shifted.mean - base.mean)).toBeGreaterThan(15); // another gain / TGC curve
    expect(shifted.black).toBeGreaterThan(base.black + 0.1); // fan-shaped field of view
  });

  it('shares the patient between domains: same lesion kind and size class', () => {
    for (let index = 0; index < 10; index++) {
      const a = generatePhantom({ seed: 3, index, domain: 'base' }).meta.lesion;
      const b = generatePhantom({ seed: 3, index, domain: 'shifted' }).meta.lesion;
      expect(b.kind).toBe(a.kind);
      expect(b.echo).toBe(a.echo);
    }
  });
});
