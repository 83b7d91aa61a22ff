// The inference worker's per-slice post-processing (slice-mask.ts: resample only where the mask
// can be foreground, clean-up and RLE on that box) against the reference path it replaced
// (postprocess.ts: resample the whole slice, threshold, clean-up, RLE), on the starter model's
// real predictions for generated phantoms of several sizes and aspect ratios, TTA off and 2 flips.
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePhantom } from '../../src/main/demo';
import { readModelPackage } from '../../src/main/models/package';
import {
  cleanMask,
  entropyMap,
  flipPlanes,
  sigmoidInPlace,
  threshold,
  unletterbox,
  unletterboxMask,
} from '../../src/shared/imaging/postprocess';
import { toModelInput, type Letterbox, type ModelInputSpec } from '../../src/shared/imaging/preprocess';
import { decodeHeatMap } from '../../src/shared/imaging/heat-map';
import { entropyPlane, entropyRle, gridHeatMap } from '../../src/shared/imaging/multiclass';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { encodeSliceMaskRle, SliceMasker, uncertaintyRle } from '../../src/shared/imaging/slice-mask';
import { ROOT } from '../helpers/serve';
import { missingPath, skipTitle } from '../helpers/skip';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return (
    a.length === b.length &&
    Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.length), Buffer.from(b.buffer, b.byteOffset, b.length)) === 0
  );
}

describe.skipIf(missingPath(path.join(STARTER, 'model.onnx')))(
  skipTitle('post-processing on real predictions', missingPath(path.join(STARTER, 'model.onnx'))),
  () => {
    let session: Ort.InferenceSession;
    let spec: ModelInputSpec;
    beforeAll(async () => {
      const pkg = readModelPackage(STARTER);
      spec = pkg.manifest.input as ModelInputSpec;
      session = await ort.InferenceSession.create(pkg.onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: 2 });
    });
    afterAll(async () => {
      await session?.release();
    });

    /** Model-grid probabilities (flips undone, averaged) for each phantom, as the worker computes them. */
    async function predict(images: { pixels: Uint8Array; columns: number; rows: number }[], flips: ('none' | 'h')[]) {
      const [h, w] = spec.size;
      const input = new Float32Array(images.length * flips.length * spec.channels * h * w);
      const boxes: Letterbox[] = [];
      images.forEach((img, i) => {
        for (const [f, flip] of flips.entries()) {
          const offset = (i * flips.length + f) * spec.channels * h * w;
          const box = toModelInput({ ...img, samplesPerPixel: 1, slope: 1, intercept: 0 }, spec, input, offset);
          flipPlanes(input, w, h, spec.channels, flip, offset);
          if (f === 0) boxes.push(box);
        }
      });
      const out = await session.run({
        [session.inputNames[0]!]: new ort.Tensor('float32', input, [images.length * flips.length, spec.channels, h, w]),
      });
      const logits = out[session.outputNames[0]!]!.data as Float32Array;
      return images.map((_, i) => {
        const mean = new Float32Array(h * w);
        for (const [f, flip] of flips.entries()) {
          const offset = (i * flips.length + f) * h * w;
          sigmoidInPlace(logits, offset, h * w);
          flipPlanes(logits, w, h, 1, flip, offset);
          for (let k = 0; k < h * w; k++) mean[k]! += logits[offset + k]! / flips.length;
        }
        return { mean, box: boxes[i]! };
      });
    }

    const sizes: [number, number][] = [
      [256, 256],
      [512, 512],
      [800, 576],
      [320, 224],
      [224, 320],
    ];
    for (const flips of [['none'], ['none', 'h']] as ('none' | 'h')[][]) {
      it(`gives the same stored mask, foreground count and heat map as the reference path, TTA ${flips.length === 1 ? 'off' : '2 flips'}`, async () => {
        const masker = new SliceMasker();
        let withForeground = 0;
        for (const [columns, rows] of sizes) {
          const phantoms = Array.from({ length: 4 }, (_, index) =>
            generatePhantom({ seed: 303, index, width: columns, height: rows, domain: index % 2 ? 'shifted' : 'base' }),
          );
          const predictions = await predict(
            phantoms.map((p) => ({ pixels: p.image, columns, rows })),
            flips,
          );
          for (const { mean, box } of predictions) {
            for (const [minPixels, fillHoles] of [
              [16, true],
              [1, false],
            ] as const) {
              const full = flips.length > 1 ? unletterbox(mean, box, columns, rows) : null;
              const raw = full ? threshold(full, 0.5) : unletterboxMask(mean, box, columns, rows, 0.5);
              const reference = cleanMask(raw, columns, rows, minPixels, fillHoles);
              const fast = masker.mask(mean, 0, box, columns, rows, 0.5, minPixels, fillHoles);
              expect(sameBytes(encodeSliceMaskRle(fast), encodeRle(reference))).toBe(true);
              expect(fast.foreground).toBe(reference.reduce((s, v) => s + v, 0));
              if (fast.foreground > 0) withForeground++;
              if (full) expect(sameBytes(uncertaintyRle(mean, box, columns, rows), encodeRle(entropyMap(full)))).toBe(true);
            }
          }
        }
        // the comparison is about real lesions, not empty masks
        expect(withForeground).toBeGreaterThan(sizes.length * 4);
      }, 300_000);
    }

    it('shows a softmax heat map stored on the model grid within one level of the slice-size map it replaced', async () => {
      // The starter's TTA-averaged probabilities as a two-class softmax (background 1 − p, lesion p).
      let compared = 0;
      let off = 0;
      let worst = 0;
      for (const [columns, rows] of sizes) {
        const phantoms = Array.from({ length: 2 }, (_, index) =>
          generatePhantom({ seed: 404, index, width: columns, height: rows, domain: index % 2 ? 'shifted' : 'base' }),
        );
        for (const { mean, box } of await predict(
          phantoms.map((p) => ({ pixels: p.image, columns, rows })),
          ['none', 'h'],
        )) {
          const plane = mean.length;
          const prob = new Float32Array(2 * plane);
          for (let k = 0; k < plane; k++) {
            prob[k] = 1 - mean[k]!;
            prob[plane + k] = mean[k]!;
          }
          const e = new Float32Array(plane);
          entropyPlane(prob, 0, 2, box, e);
          const before = decodeRle(entropyRle(e, box, columns, rows, { heat: new Uint8Array(0) }), columns * rows);
          const shown = decodeHeatMap(gridHeatMap(e, box, {}), columns, rows);
          for (let k = 0; k < shown.length; k++) {
            const d = Math.abs(shown[k]! - before[k]!);
            if (d > worst) worst = d;
            if (d > 0) off++;
          }
          compared += shown.length;
          expect(before.some((v) => v > 0)).toBe(true);
        }
      }
      expect(worst).toBeLessThanOrEqual(1);
      expect(off / compared).toBeLessThan(0.5);
    }, 300_000);
  },
);
