// The applicability signal's parts (issue 21, item 5): the histogram of the letterboxed input, the
// per-bin distance, the starter's shipped statistics against held-out phantoms of both scanners
// and a CT slice, the statistics script's determinism, and a fine-tuned version using its
// ancestor's statistics. The whole pipeline on real files: tests/integration/review.test.ts.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { generatePhantom } from '../demo/phantom';
import { openDatabase, type Database } from '../db/database';
import { inputStatisticsOf } from '../inference/engine';
import { Emitter } from '../../shared/events';
import type { Events } from '../../shared/contract';
import { letterbox, toModelInput, type ModelInputSpec } from '../../shared/imaging/preprocess';
import { inputDistance, inputHistogram, INPUT_HISTOGRAM_BINS, isUnlikeTraining } from '../../shared/model/input-statistics';
import { parseModelManifest, type ModelManifest } from '../../shared/model/manifest';
import { computeInputStatistics } from './input-statistics';
import { readModelPackage } from './package';
import { ModelRegistry } from './registry';

const STARTER_DIR = path.resolve('resources/models/lgmsnet-starter');
const starter = (
  parseModelManifest(readFileSync(path.join(STARTER_DIR, 'model.json'), 'utf8')) as { ok: true; manifest: ModelManifest }
).manifest;
const spec: ModelInputSpec = { ...starter.input, size: starter.input.size };

function histogramOf(pixels: ArrayLike<number>, rows: number, columns: number, slope = 1, intercept = 0): Float64Array {
  const input = new Float32Array(3 * 128 * 128);
  const box = toModelInput({ pixels, rows, columns, samplesPerPixel: 1, slope, intercept }, spec, input);
  return inputHistogram(input, 0, box);
}

describe('input statistics', () => {
  it('counts only the letterboxed pixels, as fractions', () => {
    const box = letterbox(64, 32, 8, 8); // 8 × 4 inside, 2 padding rows above and below
    const input = new Float32Array(64).fill(0);
    for (let y = box.offsetY; y < box.offsetY + box.scaledHeight; y++)
      for (let x = 0; x < 8; x++) input[y * 8 + x] = x < 4 ? 0.99 : 1;
    const h = inputHistogram(input, 0, box);
    expect(h.length).toBe(INPUT_HISTOGRAM_BINS);
    expect(h[15]).toBe(1); // the padding's zeros are not counted in bin 0
    expect(inputDistance(h, { low: new Array(16).fill(0), high: new Array(16).fill(1) })).toBe(0);
    expect(inputDistance(h, { low: new Array(16).fill(0), high: new Array(16).fill(0.25) })).toBeCloseTo(0.75, 12);
    expect([isUnlikeTraining(null), isUnlikeTraining(0.49), isUnlikeTraining(0.5)]).toEqual([false, false, true]);
  });

  it('ships with the starter, and lets held-out phantoms of both scanners through but not a CT slice', () => {
    const stats = starter.inputStatistics!;
    expect(stats).toMatchObject({ feature: 'input-histogram-16', n: 400 });
    for (const domain of ['base', 'shifted'] as const) {
      for (let index = 0; index < 5; index++) {
        const p = generatePhantom({ seed: 303, index, domain, width: 256, height: 256 });
        expect(inputDistance(histogramOf(p.image, 256, 256), stats), `${domain} ${index}`).toBe(0);
      }
    }
    // A CT slice in HU (air around a soft-tissue body with bone): half the pixels at 0, some saturated.
    const ct = new Int16Array(128 * 128).fill(-1000);
    for (let y = 24; y < 104; y++)
      for (let x = 24; x < 104; x++) ct[y * 128 + x] = (x - 64) ** 2 + (y - 64) ** 2 < 100 ? 700 : 40 + ((x * 7 + y * 13) % 30);
    expect(inputDistance(histogramOf(ct, 128, 128), stats)).toBeGreaterThan(0);
  });

  it('computes the same statistics every run, from the sets it names', () => {
    const sets = [
      { domain: 'base' as const, seed: 101, count: 3 },
      { domain: 'shifted' as const, seed: 404, count: 3 },
    ];
    const a = computeInputStatistics(spec, sets);
    expect(computeInputStatistics(spec, sets)).toEqual(a);
    expect(a.n).toBe(6);
    for (let b = 0; b < INPUT_HISTOGRAM_BINS; b++) expect(a.low[b]!).toBeLessThanOrEqual(a.mean[b]!);
    expect(a.mean.reduce((s, v) => s + v, 0)).toBeCloseTo(1, 4);
  });

  describe('a fine-tuned version', () => {
    let tmp: ReturnType<typeof tempDir>;
    let db: Database;
    beforeEach(() => {
      tmp = tempDir();
      db = openDatabase(path.join(tmp.dir, 'm.sqlite'));
    });
    afterEach(() => {
      db.close();
      tmp.cleanup();
    });

    it("uses its nearest ancestor's statistics when its model.json has none", () => {
      const registry = new ModelRegistry(db, tmp.dir, new Emitter<Events>());
      const starterId = registry.upsert(readModelPackage(STARTER_DIR), true);
      // A child as the trainer writes it: no inputStatistics of its own.
      const dir = path.join(tmp.dir, 'models', 'child');
      mkdirSync(dir, { recursive: true });
      const { inputStatistics: _dropped, ...rest } = starter;
      writeFileSync(path.join(dir, 'model.json'), JSON.stringify({ ...rest, id: 'child', parent: starter.id, version: '1.0.1' }));
      copyFileSync(path.join(STARTER_DIR, 'model.onnx'), path.join(dir, 'model.onnx'));
      const childId = registry.upsert(readModelPackage(dir));
      expect(inputStatisticsOf(registry, childId)).toEqual(starter.inputStatistics);
      expect(inputStatisticsOf(registry, starterId)).toEqual(starter.inputStatistics);
    });
  });
});
