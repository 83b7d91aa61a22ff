import { describe, expect, it } from 'vitest';
import { letterbox, normalize, resizeBilinear, toModelInput } from './preprocess';
import {
  binaryEntropy,
  cleanMask,
  dice,
  flipPlanes,
  letterboxEntropy,
  meanEntropy,
  threshold,
  unletterbox,
  unletterboxMask,
} from './postprocess';

describe('pre-processing', () => {
  it('letterboxes keeping the aspect ratio, centred', () => {
    expect(letterbox(300, 200, 256, 256)).toEqual({
      width: 256,
      height: 256,
      scale: 256 / 300,
      scaledWidth: 256,
      scaledHeight: 171,
      offsetX: 0,
      offsetY: 42,
    });
    expect(letterbox(64, 64, 256, 256)).toMatchObject({ scale: 4, offsetX: 0, offsetY: 0 });
  });

  it('normalises by scale, window and percentile rules, clipping to [0, 1]', () => {
    expect([...normalize([0, 127.5, 255, 300], { type: 'scale', min: 0, max: 255 })]).toEqual([0, 0.5, 1, 1]);
    // stored 1024 with intercept -1024 is 0 HU: the middle of a 40±200 window is 40 HU
    const w = normalize([1024, 1064, 824, 2000], { type: 'window', center: 40, width: 400 }, 1, -1024);
    expect([...w].map((v) => Number(v.toFixed(3)))).toEqual([0.4, 0.5, 0, 1]);
    const values = Array.from({ length: 101 }, (_, i) => i);
    const p = normalize(values, { type: 'percentile', low: 10, high: 90 });
    expect(p[10]).toBe(0);
    expect(p[50]).toBeCloseTo(0.5);
    expect(p[95]).toBe(1);
  });

  it('resizes bilinearly with half-pixel centres (identity at the same size, mean kept)', () => {
    const src = Float32Array.from([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect([...resizeBilinear(src, 3, 3, 3, 3)]).toEqual([...src]);
    const up = resizeBilinear(Float32Array.from([0, 1]), 2, 1, 4, 1);
    expect([...up]).toEqual([0, 0.25, 0.75, 1]);
  });

  it('replicates a grey slice into every channel, zero outside the letterbox', () => {
    const slice = {
      pixels: Uint8Array.from([0, 255, 255, 0, 0, 255]),
      rows: 2,
      columns: 3,
      samplesPerPixel: 1,
      slope: 1,
      intercept: 0,
    };
    const out = new Float32Array(3 * 32 * 32);
    const box = toModelInput(
      slice,
      { size: [32, 32], channels: 3, channelMode: 'replicate', normalization: { type: 'scale', min: 0, max: 255 } },
      out,
    );
    expect(box).toMatchObject({ scaledWidth: 32, scaledHeight: 21, offsetY: 5 });
    const plane = 32 * 32;
    expect(out.subarray(0, plane)).toEqual(out.subarray(plane, 2 * plane));
    expect(out.subarray(0, plane)).toEqual(out.subarray(2 * plane));
    expect(out[0]).toBe(0); // padding row
    expect(out[5 * 32]).toBeCloseTo(0, 5); // the slice's top-left pixel is black…
    expect(out[5 * 32 + 31]).toBeCloseTo(1, 5); // …its top-right white
    expect(out[(5 + 20) * 32]).toBeCloseTo(0, 5); // and its bottom-left black
  });

  it('inverts MONOCHROME1 so the model always sees bright = high', () => {
    const slice = {
      pixels: Uint16Array.from([0, 1000]),
      rows: 1,
      columns: 2,
      samplesPerPixel: 1,
      slope: 1,
      intercept: 0,
      invert: true,
    };
    const out = new Float32Array(32 * 32);
    toModelInput(
      slice,
      { size: [32, 32], channels: 1, channelMode: 'replicate', normalization: { type: 'scale', min: 0, max: 1000 } },
      out,
    );
    expect(out[16 * 32]).toBeCloseTo(1);
    expect(out[16 * 32 + 31]).toBeCloseTo(0);
  });
});

describe('post-processing', () => {
  it('maps the letterboxed probabilities back onto the slice', () => {
    const box = letterbox(3, 2, 32, 32);
    const prob = new Float32Array(32 * 32);
    // the whole left half of the model input is certain: the slice's left column(s) follow
    for (let y = 0; y < 32; y++) for (let x = 0; x < 16; x++) prob[y * 32 + x] = 1;
    const back = unletterbox(prob, box, 3, 2);
    expect(back.length).toBe(6);
    expect([...threshold(back, 0.5)]).toEqual([1, 0, 0, 1, 0, 0]);
  });

  it('makes the same mask in one pass as thresholding the resized probabilities', () => {
    const box = letterbox(300, 200, 64, 64);
    const prob = Float32Array.from({ length: 64 * 64 }, (_, i) => 0.5 + 0.5 * Math.sin(i * 0.37) * Math.cos(i * 0.011));
    expect(unletterboxMask(prob, box, 300, 200, 0.5)).toEqual(threshold(unletterbox(prob, box, 300, 200), 0.5));
  });

  it('scores the letterboxed region without copying it', () => {
    const box = letterbox(300, 200, 64, 64);
    const prob = Float32Array.from({ length: 64 * 64 }, (_, i) => (i % 7) / 7);
    expect(letterboxEntropy(prob, box)).toBeCloseTo(meanEntropy(unletterbox(prob, box, box.scaledWidth, box.scaledHeight)), 10);
  });

  it('undoes a flip by flipping again', () => {
    const data = Float32Array.from({ length: 2 * 3 * 4 }, (_, i) => i);
    const copy = data.slice();
    for (const f of ['h', 'v', 'hv'] as const) {
      flipPlanes(data, 4, 3, 2, f);
      expect(data).not.toEqual(copy);
      flipPlanes(data, 4, 3, 2, f);
      expect(data).toEqual(copy);
    }
  });

  it('scores uncertainty and agreement', () => {
    expect(meanEntropy(Float32Array.from([0.5, 0.5]))).toBeCloseTo(1);
    expect(meanEntropy(Float32Array.from([0, 1]))).toBe(0);
    // the table matches the formula
    for (const p of [1e-6, 0.01, 0.2, 0.37, 0.5, 0.9, 0.999]) {
      expect(Math.abs(binaryEntropy(p) + (p * Math.log2(p) + (1 - p) * Math.log2(1 - p)))).toBeLessThan(1e-5);
    }
    expect(dice([1, 1, 0, 0], [1, 0, 0, 0])).toBeCloseTo(2 / 3);
    expect(dice([0, 0], [0, 0])).toBe(1);
  });

  it('drops specks below the minimum size and fills enclosed holes', () => {
    // 6×5: a ring with a hole at (2,2) and a lone speck at (5,4)
    const m = Uint8Array.from([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 0, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 1]);
    cleanMask(m, 6, 5, 2, true);
    expect([...m]).toEqual([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('fused model input', () => {
  // The separate passes the fused one replaced: normalise the whole slice, invert, resample.
  function reference(slice: Parameters<typeof toModelInput>[0], spec: Parameters<typeof toModelInput>[1]): Float32Array {
    const [height, width] = spec.size;
    const out = new Float32Array(spec.channels * width * height);
    const box = letterbox(slice.columns, slice.rows, width, height);
    const plane = width * height;
    const channels = spec.channelMode === 'rgb' && slice.samplesPerPixel === 3 ? 3 : 1;
    for (let c = 0; c < channels; c++) {
      let norm: Float32Array;
      if (slice.samplesPerPixel === 3 && channels === 1) {
        const grey = new Float32Array(slice.rows * slice.columns);
        for (let i = 0; i < grey.length; i++)
          grey[i] = 0.299 * slice.pixels[i * 3]! + 0.587 * slice.pixels[i * 3 + 1]! + 0.114 * slice.pixels[i * 3 + 2]!;
        norm = normalize(grey, spec.normalization);
      } else norm = normalize(slice.pixels, spec.normalization, slice.slope, slice.intercept, slice.samplesPerPixel, c);
      if (slice.invert) for (let i = 0; i < norm.length; i++) norm[i] = 1 - norm[i]!;
      resizeBilinear(
        norm,
        slice.columns,
        slice.rows,
        box.scaledWidth,
        box.scaledHeight,
        out,
        width,
        c * plane + box.offsetY * width + box.offsetX,
      );
    }
    for (let c = channels; c < spec.channels; c++) out.copyWithin(c * plane, 0, plane);
    return out;
  }

  const ct = {
    pixels: Int16Array.from({ length: 512 * 400 }, (_, i) => ((i * 7919) % 4096) - 1024),
    rows: 400,
    columns: 512,
    samplesPerPixel: 1,
    slope: 1,
    intercept: -1024,
  };
  const rgb = {
    pixels: Uint8Array.from({ length: 3 * 96 * 160 }, (_, i) => (i * 31) % 256),
    rows: 96,
    columns: 160,
    samplesPerPixel: 3,
    slope: 1,
    intercept: 0,
  };
  const cases = [
    [
      'CT, window, letterboxed',
      ct,
      { size: [128, 128], channels: 3, channelMode: 'replicate', normalization: { type: 'window', center: 40, width: 400 } },
    ],
    [
      'MONOCHROME1, percentile',
      { ...ct, invert: true },
      { size: [64, 96], channels: 1, channelMode: 'replicate', normalization: { type: 'percentile', low: 1, high: 99 } },
    ],
    [
      'RGB to grey, scale, upsampled',
      rgb,
      { size: [256, 256], channels: 3, channelMode: 'replicate', normalization: { type: 'scale', min: 0, max: 255 } },
    ],
    [
      'RGB to grey, percentile',
      rgb,
      { size: [128, 128], channels: 1, channelMode: 'replicate', normalization: { type: 'percentile', low: 2, high: 98 } },
    ],
    [
      'RGB channels',
      rgb,
      { size: [128, 128], channels: 3, channelMode: 'rgb', normalization: { type: 'scale', min: 0, max: 255 } },
    ],
  ] as const;
  for (const [name, slice, spec] of cases) {
    it(`equals normalise → invert → resample bit for bit: ${name}`, () => {
      const s = { ...spec, size: [...spec.size] as [number, number] };
      // garbage in the batch buffer must not survive in the padding
      const out = new Float32Array(2 * s.channels * s.size[0] * s.size[1]).fill(Number.NaN);
      toModelInput(slice, s, out, s.channels * s.size[0] * s.size[1]);
      expect(out.subarray(s.channels * s.size[0] * s.size[1])).toEqual(reference(slice, s));
    });
  }
});
