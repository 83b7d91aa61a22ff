// The pure 3D volume pipeline (src/shared/imaging/volume.ts, sliding-window.ts) with a real 3D
// LGMSNet exported by the trainer (seeded, random weights, 5 classes as the CT phantom's labels)
// run by onnxruntime-node on a generated CT phantom: resample to the model's spacing, CT window,
// sliding windows, back to the series' grid. Small on purpose (32³ patches, 64×64×32 volume):
// one LGMSNet 3D forward at 32³ takes about a second on one core.
import { execFileSync, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCtPhantom, CT_LABELS } from '../../src/main/demo/ct';
import { entropyVolume, slidingWindow, VolumeLabeler, type RunPatch } from '../../src/shared/imaging/sliding-window';
import { segmentVolume } from '../../src/shared/imaging/volume-pipeline';
import {
  normalizeVolume,
  resampleTrilinear,
  shapeAtSpacing,
  voxelCount,
  type Shape3,
  type Spacing3,
} from '../../src/shared/imaging/volume';
import { ROOT } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const TRAINER = path.join(ROOT, 'resources', 'trainer');
const PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0,
);
const skip = PYTHON ? '' : 'no Python with torch (apt-get install python3-torch)';
const CLASSES = 1 + CT_LABELS.length;
const PATCH: Shape3 = [32, 32, 32];

// As resources/trainer/tests/test_model3d.py: seeded, BatchNorm statistics and head scaled so
// the logits are as large as a trained model's.
const EXPORT = `
import sys, torch
from lgms_trainer.model import build_model_3d
from lgms_trainer.export import export_onnx
torch.manual_seed(0)
m = build_model_3d(1, ${CLASSES})
with torch.no_grad():
    for mod in m.modules():
        if isinstance(mod, torch.nn.BatchNorm3d):
            mod.running_mean.uniform_(-0.2, 0.2)
            mod.running_var.uniform_(0.5, 1.5)
    m.head.weight.mul_(100)
export_onnx(m.eval(), sys.argv[1], (32, 32, 32))
`;

/** The phantom as a D×H×W HU volume with its spacing [slice, row, column] in mm. */
function phantomVolume(): { hu: Float32Array; shape: Shape3; spacing: Spacing3 } {
  const p = createCtPhantom({ seed: 7, size: 64, slices: 32 });
  const { rows, columns, slices } = p.meta;
  const hu = new Float32Array(slices * rows * columns);
  for (let k = 0; k < slices; k++) hu.set(p.slice(k).hu, k * rows * columns);
  return { hu, shape: [slices, rows, columns], spacing: [p.meta.sliceSpacingMm, ...p.meta.pixelSpacingMm] };
}

function softmax(l: Float32Array, classes: number): Float32Array {
  const n = l.length / classes;
  const out = new Float32Array(l.length);
  for (let i = 0; i < n; i++) {
    let m = -Infinity;
    for (let c = 0; c < classes; c++) m = Math.max(m, l[c * n + i]!);
    let s = 0;
    for (let c = 0; c < classes; c++) s += Math.exp(l[c * n + i]! - m);
    for (let c = 0; c < classes; c++) out[c * n + i] = Math.exp(l[c * n + i]! - m) / s;
  }
  return out;
}

describe.skipIf(skip)(skipTitle('3D volume inference with a seeded LGMSNet through onnxruntime-node', skip), () => {
  const tmp = tempDir();
  let session: Ort.InferenceSession;
  const run = async (input: Float32Array, shape: Shape3): Promise<Float32Array> => {
    const out = await session.run({ input: new ort.Tensor('float32', input, [1, 1, ...shape]) });
    expect(out.logits!.dims).toEqual([1, CLASSES, ...shape]);
    return out.logits!.data as Float32Array;
  };
  // runPatch must not keep the patch after it settles: the tensor here is consumed within run().
  const runPatch: RunPatch = (patch, shape) => run(patch, shape);

  beforeAll(async () => {
    const onnx = path.join(tmp.dir, 'model3d.onnx');
    execFileSync(PYTHON!, ['-c', EXPORT, onnx], { cwd: TRAINER, stdio: ['ignore', 'ignore', 'pipe'] });
    // One thread: the machine is shared; the worker's session options otherwise (worker.ts).
    session = await ort.InferenceSession.create(onnx, {
      executionProviders: ['cpu'],
      intraOpNumThreads: 1,
      interOpNumThreads: 1,
    });
  }, 300_000);
  afterAll(async () => {
    await session?.release();
    tmp.cleanup();
  });

  it('a volume that fits one patch: the blended scores equal one whole-volume run, labels on the series grid', async () => {
    const { hu, shape, spacing } = phantomVolume();
    expect(shape).toEqual([32, 64, 64]);
    // The model's spacing: the slices as they are, rows and columns twice as coarse → 32³.
    const modelSpacing: Spacing3 = [spacing[0], spacing[1] * 2, spacing[2] * 2];
    const model = shapeAtSpacing(shape, spacing, modelSpacing);
    expect(model).toEqual(PATCH);
    const input = normalizeVolume(resampleTrilinear(hu, shape, model), 'CT');
    const progress: [number, number][] = [];
    const prob = await slidingWindow(input, model, runPatch, {
      patch: PATCH,
      classes: CLASSES,
      onProgress: (d, t) => progress.push([d, t]),
    });
    expect(progress.at(-1)).toEqual([1, 1]);
    const whole = softmax(await run(input.slice(), model), CLASSES);
    let diff = 0;
    for (let i = 0; i < whole.length; i++) diff = Math.max(diff, Math.abs(prob[i]! - whole[i]!));
    console.log(`3D single window vs whole-volume run: max |Δp| = ${diff.toExponential(2)}`);
    expect(diff).toBeLessThanOrEqual(1e-4);

    const labeler = new VolumeLabeler(
      prob,
      entropyVolume(prob, CLASSES),
      CLASSES,
      model,
      shape,
      CT_LABELS.map((l) => l.value),
    );
    const allowed = new Set([0, ...CT_LABELS.map((l) => l.value)]);
    for (let k = 0; k < shape[0]; k++) {
      const s = labeler.slice(k);
      expect(s.labels.length).toBe(shape[1] * shape[2]);
      expect(s.heat!.length).toBe(shape[1] * shape[2]);
      expect(s.labels.every((v) => allowed.has(v))).toBe(true);
    }
  }, 120_000);

  it('a volume of several windows at its own spacing: progress reaches the total, probabilities sum to 1', async () => {
    const { hu, shape } = phantomVolume();
    const input = normalizeVolume(hu, 'CT');
    const progress: [number, number][] = [];
    const prob = await slidingWindow(input, shape, runPatch, {
      patch: PATCH,
      classes: CLASSES,
      onProgress: (d, t) => progress.push([d, t]),
    });
    // 32 slices: 1 window; 64 rows and columns: starts 0, 16, 32.
    expect(progress).toHaveLength(10);
    expect(progress.at(-1)).toEqual([9, 9]);
    const n = voxelCount(shape);
    expect(prob.length).toBe(CLASSES * n);
    let worst = 0;
    for (let i = 0; i < n; i++) {
      let s = 0;
      for (let c = 0; c < CLASSES; c++) s += prob[c * n + i]!;
      worst = Math.max(worst, Math.abs(s - 1));
    }
    expect(worst).toBeLessThan(1e-5);
    const labeler = new VolumeLabeler(prob, null, CLASSES, shape, shape);
    expect(labeler.slice(31).labels.length).toBe(64 * 64);
  }, 300_000);
  it('segmentVolume with flip TTA: one label map and heat map per series slice', async () => {
    const { hu, shape, spacing } = phantomVolume();
    const progress: [number, number][] = [];
    let runs = 0;
    const r = await segmentVolume(
      { values: hu, shape, spacing, modality: 'CT' },
      { spacing: [spacing[0], spacing[1] * 2, spacing[2] * 2], values: CT_LABELS.map((l) => l.value) },
      (p, s) => {
        runs++;
        return run(p, s);
      },
      { patch: PATCH, mirrorAxes: [2], onProgress: (d, t) => progress.push([d, t]) },
    );
    expect(r.modelShape).toEqual(PATCH);
    expect(runs).toBe(2);
    expect(progress.at(-1)).toEqual([1, 1]);
    expect(r.entropy).toBeGreaterThanOrEqual(0);
    expect(r.entropy).toBeLessThanOrEqual(1);
    for (let k = 0; k < shape[0]; k++) {
      const s = r.labeler.slice(k);
      expect(s.labels.length).toBe(shape[1] * shape[2]);
      expect(s.heat!.length).toBe(shape[1] * shape[2]);
    }
  }, 120_000);
});
