import { describe, expect, it } from 'vitest';
import {
  entropyVolume,
  flipVolume,
  gaussian1d,
  gaussianImportance,
  mirrorCombinations,
  slidingWindow,
  VolumeInferenceCancelled,
  VolumeLabeler,
  windowStarts,
  type RunPatch,
} from './sliding-window';
import { voxelCount, type Shape3 } from './volume';

const CLASSES = 3;

/** Logits of each voxel as a fixed function of its input value (a per-voxel network). */
function pointwise(patch: Float32Array): Float32Array {
  const n = patch.length;
  const out = new Float32Array(CLASSES * n);
  for (let i = 0; i < n; i++) {
    const v = patch[i]!;
    out[i] = 2 * v;
    out[n + i] = Math.sin(5 * v);
    out[2 * n + i] = 1 - v * v;
  }
  return out;
}

/** softmax of `pointwise` over a whole volume: what blending must reproduce. */
function expected(volume: Float32Array): Float32Array {
  const n = volume.length;
  const l = pointwise(volume);
  for (let i = 0; i < n; i++) {
    const m = Math.max(l[i]!, l[n + i]!, l[2 * n + i]!);
    const e = [0, 1, 2].map((c) => Math.exp(l[c * n + i]! - m));
    const s = e[0]! + e[1]! + e[2]!;
    for (let c = 0; c < 3; c++) l[c * n + i] = e[c]! / s;
  }
  return l;
}

/** The input encodes the voxel's position: a distinct smooth value per voxel. */
function positional(shape: Shape3): Float32Array {
  const [d, h, w] = shape;
  return Float32Array.from({ length: d * h * w }, (_, i) => {
    const x = i % w;
    const y = Math.floor(i / w) % h;
    const z = Math.floor(i / (w * h));
    return Math.sin(0.3 * x + 0.7 * y) * 0.8 + Math.cos(0.45 * z) * 0.3;
  });
}

/** 3×3×3 box mean with clamped borders on each of the patch's logits: flip-equivariant, not pointwise. */
function boxBlurRun(shape: Shape3): RunPatch {
  const [d, h, w] = shape;
  const at = (a: Float32Array, z: number, y: number, x: number) =>
    a[(Math.min(d - 1, Math.max(0, z)) * h + Math.min(h - 1, Math.max(0, y))) * w + Math.min(w - 1, Math.max(0, x))]!;
  return async (patch) => {
    const blurred = new Float32Array(patch.length);
    for (let z = 0; z < d; z++)
      for (let y = 0; y < h; y++)
        for (let x = 0; x < w; x++) {
          let s = 0;
          for (let dz = -1; dz <= 1; dz++)
            for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) s += at(patch, z + dz, y + dy, x + dx);
          blurred[(z * h + y) * w + x] = s / 27;
        }
    return pointwise(blurred);
  };
}

const maxAbs = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

describe('Gaussian importance map', () => {
  it('peaks at 1 in the centre, is symmetric, with σ = patch/8', () => {
    const g = gaussian1d(33);
    expect(g[16]).toBe(1);
    for (let i = 0; i < 33; i++) expect(g[i]).toBeCloseTo(g[32 - i]!, 7);
    // one σ (33/8 voxels) from the centre
    expect(Math.exp(-0.5)).toBeCloseTo(Math.exp(-((33 / 8) ** 2 / (2 * (33 / 8) ** 2))), 9);
    const even = gaussian1d(32);
    expect(even[15]).toBe(1);
    expect(even[16]).toBe(1);
    expect(Math.min(...even)).toBeCloseTo(Math.exp(-((15.5 / 4) ** 2) / 2) / Math.exp(-((0.5 / 4) ** 2) / 2), 6);
  });

  it('3D: the product of the axes, peak 1 at the centre voxel, symmetric under every flip, never 0', () => {
    const patch: Shape3 = [9, 11, 13];
    const m = gaussianImportance(patch);
    expect(Math.max(...m)).toBe(1);
    expect(m[(4 * 11 + 5) * 13 + 6]).toBe(1);
    expect(Math.min(...m)).toBeGreaterThan(0);
    for (const axes of mirrorCombinations([0, 1, 2])) {
      const f = new Float32Array(m.length);
      flipVolume(m, f, 1, patch, axes);
      expect(maxAbs(f, m)).toBeLessThan(1e-7);
    }
  });
});

describe('windowStarts', () => {
  it('matches nnU-Net for known sizes (overlap ½, last window against the border)', () => {
    expect(windowStarts(64, 32)).toEqual([0, 16, 32]);
    expect(windowStarts(100, 32)).toEqual([0, 14, 27, 41, 54, 68]);
    expect(windowStarts(32, 32)).toEqual([0]);
    expect(windowStarts(20, 32)).toEqual([0]);
    expect(windowStarts(33, 32)).toEqual([0, 1]);
    expect(windowStarts(300, 96)).toEqual([0, 41, 82, 122, 163, 204]);
  });

  it('covers every voxel with steps of at most half a patch for every size', () => {
    for (const patch of [8, 32, 96])
      for (let size = patch; size < patch * 5; size++) {
        const s = windowStarts(size, patch);
        expect(s[0]).toBe(0);
        expect(s.at(-1)).toBe(size - patch);
        for (let i = 1; i < s.length; i++) expect(s[i]! - s[i - 1]!).toBeLessThanOrEqual(patch / 2);
      }
  });
});

describe('slidingWindow', () => {
  const patch: Shape3 = [8, 8, 8];

  it.each([
    [[13, 20, 17] as Shape3, 3 * 4 * 4],
    [[5, 6, 7] as Shape3, 1],
    [[8, 30, 3] as Shape3, 1 * 7 * 1],
  ])(
    'blending is a partition of unity: a per-voxel network gives its own softmax everywhere (%j, %i windows)',
    async (shape, windows) => {
      const volume = positional(shape);
      let runs = 0;
      const progress: [number, number][] = [];
      const got = await slidingWindow(
        volume,
        shape,
        async (p, s) => {
          expect(s).toEqual(patch);
          runs++;
          return pointwise(p);
        },
        { patch, classes: CLASSES, onProgress: (d, t) => progress.push([d, t]) },
      );
      const want = expected(volume);
      // the padding voxels are never part of the result
      expect(got.length).toBe(CLASSES * voxelCount(shape));
      expect(maxAbs(got, want)).toBeLessThan(2e-6);
      expect(runs).toBe(windows);
      expect(progress[0]).toEqual([0, windows]);
      expect(progress.at(-1)).toEqual([windows, windows]);
      expect(progress).toHaveLength(windows + 1);
    },
  );

  it('flip TTA with a flip-equivariant network gives the result without TTA, 8 runs per window', async () => {
    const shape: Shape3 = [11, 14, 12];
    const volume = positional(shape);
    const run = boxBlurRun(patch);
    let runs = 0;
    const counted: RunPatch = (p, s) => {
      runs++;
      return run(p, s);
    };
    const plain = await slidingWindow(volume, shape, run, { patch, classes: CLASSES });
    const tta = await slidingWindow(volume, shape, counted, { patch, classes: CLASSES, mirrorAxes: [0, 1, 2] });
    expect(runs).toBe(8 * 2 * 3 * 2);
    expect(maxAbs(tta, plain)).toBeLessThan(2e-6);
    // and un-flipping matters: a network that is not flip-equivariant changes under TTA
    const skew: RunPatch = async (p) => pointwise(p.map((v, i) => v + (i % 8) * 0.2));
    const a = await slidingWindow(volume, shape, skew, { patch, classes: CLASSES });
    const b = await slidingWindow(volume, shape, skew, { patch, classes: CLASSES, mirrorAxes: [2] });
    expect(maxAbs(a, b)).toBeGreaterThan(1e-2);
  });

  it('stops within one window once cancelled', async () => {
    const shape: Shape3 = [16, 16, 16];
    const signal = { aborted: false };
    let runs = 0;
    const progress: number[] = [];
    const run: RunPatch = async (p) => {
      runs++;
      if (runs === 3) signal.aborted = true; // during window 2 (2 flips per window)
      return pointwise(p);
    };
    await expect(
      slidingWindow(volume(shape), shape, run, {
        patch,
        classes: CLASSES,
        mirrorAxes: [1],
        signal,
        onProgress: (d) => progress.push(d),
      }),
    ).rejects.toBeInstanceOf(VolumeInferenceCancelled);
    expect(runs).toBe(4); // window 2 finished its flips, window 3 never started
    expect(progress).toEqual([0, 1, 2]);
  });

  it('refuses logits of the wrong size', async () => {
    const shape: Shape3 = [8, 8, 8];
    await expect(
      slidingWindow(volume(shape), shape, async () => new Float32Array(512), { patch, classes: CLASSES }),
    ).rejects.toThrow(RangeError);
  });
});

function volume(shape: Shape3): Float32Array {
  return positional(shape);
}

describe('entropyVolume', () => {
  it('is 0 for a certain class and 1 for a uniform distribution (the 2D pipeline’s normalised entropy)', () => {
    const p = Float32Array.from([1, 1 / 3, 0.5, 0, 1 / 3, 0.5, 0, 1 / 3, 0]);
    const e = entropyVolume(p, 3);
    expect(e[0]).toBeCloseTo(0, 4);
    expect(e[1]).toBeCloseTo(1, 4);
    expect(e[2]).toBeCloseTo(Math.log(2) / Math.log(3), 4);
  });
});

describe('VolumeLabeler', () => {
  it('on the same grid gives the argmax as label values, and the heat map on the 0–255 scale', () => {
    const shape: Shape3 = [2, 2, 2];
    // class 2 everywhere except voxel 3 (class 1) and voxel 5 (background)
    const p = new Float32Array(3 * 8);
    for (let i = 0; i < 8; i++) p[2 * 8 + i] = 1;
    p[2 * 8 + 3] = 0;
    p[8 + 3] = 1;
    p[2 * 8 + 5] = 0;
    p[5] = 1;
    const l = new VolumeLabeler(p, entropyVolume(p, 3), 3, shape, shape, [7, 9]);
    expect([...l.slice(0).labels]).toEqual([9, 9, 9, 7]);
    expect([...l.slice(1).labels]).toEqual([9, 0, 9, 9]);
    expect([...l.slice(1).heat!]).toEqual([0, 0, 0, 0]);
    expect(() => l.slice(2)).toThrow(RangeError);
  });

  it('back to a finer grid: the series shape, borders where the interpolated probabilities cross', () => {
    // class 1 probability rises linearly along x on a 1×1×4 model grid: 0, 0.3, 0.7, 1
    const model: Shape3 = [1, 1, 4];
    const p = Float32Array.from([1, 0.7, 0.3, 0, 0, 0.3, 0.7, 1]);
    const l = new VolumeLabeler(p, null, 2, model, [3, 2, 8]);
    const s = l.slice(2);
    expect(s.heat).toBeNull();
    expect(s.labels.length).toBe(16);
    expect([...s.labels.subarray(0, 8)]).toEqual([0, 0, 0, 0, 1, 1, 1, 1]);
  });
});
