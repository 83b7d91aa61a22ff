// Shared by tests/bench/sparse-volume.ts (issue 22: 2D, 2.5D, interpolation, nearest slice) and
// tests/bench/volume.ts (issue 25: the same plus the 3D model): a public T1 MR (Debian's
// insighttoolkit5-examples, KmeansTest_T1UCharRaw.nii.gz, 128×128×62, 2×2×3 mm, with its
// six-class KmeansTest_T1KmeansPrelimSegmentation.nii.gz as ground truth), every k-th slice of the
// file's third axis labelled (coronal: its affine runs L, S, A, so slice 0 is the back of the head
// and slice 61 the front). On the slices between the first and the last labelled one, per-slice Dice of
// (a) copying the nearest labelled slice, (b) the product's shape-based interpolation
// (src/shared/imaging/interpolate.ts) and (c) models trained on the labelled slices alone: 2D
// (the slice replicated to 3 channels), 2.5D (slices z−1, z, z+1 as the 3 channels), and any
// further model a caller adds (`ModelRunner`, e.g. the 3D model of volume.ts).
// Dice per slice and label (a label absent from a slice and not predicted scores 1, as the
// trainer's metrics), then averaged over the six labels and the slices. Beside it, `seen`: the
// same Dice without the voxels whose truth the image cannot show (`unseenMask`).
//
// The 2D models validate on their own labelled slices (none is left over to hold out: a reader
// who labels every 16th slice has four); the time limit covers loading, training and validation.
//
// `tune`: a split for choosing a recipe without ever scoring on the benchmark's scored slices.
// For step k the models train on every 2k-th slice and are scored only on the slices k, 3k, 5k, …
// in between — slices that are *labelled* in the benchmark proper, so no choice made on them
// looks at the ground truth the benchmark later scores. `tuneOffset` k shifts that split by k
// slices (trains on k, 3k, 5k, …, scores 2k, 4k, …): the first split's last labelled slice is 48,
// so it scores nothing in the anterior slices 49–61; the shifted one scores slice 48.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeGrayPng, encodePng } from '../../src/main/demo';
import { interpolateLabels } from '../../src/shared/imaging/interpolate';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const FIXTURES = path.join(ROOT, 'tests', 'fixtures', 'data', 'itk');
const DEBIAN = '/usr/share/doc/insighttoolkit5-examples/examples/Data';
const DATA = existsSync(path.join(FIXTURES, 'KmeansTest_T1UCharRaw.nii.gz')) ? FIXTURES : DEBIAN;
export const VOLUME = path.join(DATA, 'KmeansTest_T1UCharRaw.nii.gz');
export const SEGMENTATION = path.join(DATA, 'KmeansTest_T1KmeansPrelimSegmentation.nii.gz');
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
export const TRAINER = path.join(ROOT, 'resources', 'trainer');
export const LABELS = [1, 2, 3, 4, 5, 6];
export const PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy, PIL, nibabel'], { stdio: 'ignore' }).status === 0,
);

/** Runs the trainer's Python (stdout: JSON lines) and returns its events; throws with stderr's tail. */
export function runPython(cmd: string[], cwd = TRAINER): Array<Record<string, unknown>> {
  if (!PYTHON)
    throw new Error(
      'no Python with torch, numpy, Pillow and nibabel (apt-get install python3-torch python3-pil python3-nibabel)',
    );
  const r = spawnSync(PYTHON, cmd, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2' },
    maxBuffer: 256 << 20,
  });
  if (r.status !== 0) throw new Error(`${cmd.slice(0, 3).join(' ')} failed: ${r.stderr.slice(-2000)}`);
  return r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

/** Per-label Dice of one slice (labels absent from both: 1); voxels where `skip` is non-zero are left out. */
export function sliceDice(pred: Uint8Array, truth: Uint8Array, skip?: Uint8Array): number[] {
  return LABELS.map((label) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < truth.length; i++) {
      if (skip?.[i]) continue;
      const p = pred[i] === label;
      const t = truth[i] === label;
      if (p && t) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
  });
}

export interface Score {
  mean: number;
  labels: number[];
  slices?: number;
}

/**
 * The voxels of slice z whose truth the image cannot show: labelled as anything but class 1 (the
 * empty space around the head) where the image is exactly 0. The file's image is 0 below a cut
 * through the lower head (its lowest row with signal: 28 at slice 0, 15 at slice 24, 53 at slice
 * 61, the front), and the label map goes on drawing classes 2 and 3 below it: 98 % of these
 * voxels lie under the cut; they are 46 % of class 2, 51 % of class 3 and a quarter of the voxels
 * labelled 2–6 on the scored slices (docs/benchmarks.md, seventh session). A second score leaves them
 * out (`seen`); the benchmark's score is unchanged.
 */
export function unseenMask(mr: MrVolume, z: number): Uint8Array {
  const v = mr.slice(mr.vol, z);
  const t = mr.slice(mr.seg, z);
  return Uint8Array.from(v, (x, i) => (x === 0 && t[i] !== 1 ? 1 : 0));
}

/**
 * Per-slice, per-label Dice of `predicted` (one label map for each slice of `zs`) against the
 * truth, and their summary with the `seen` score beside it (the same Dice without `unseenMask`).
 */
export function scoreSlices(
  mr: MrVolume,
  zs: readonly number[],
  predicted: readonly Uint8Array[],
): { perSlice: number[][]; score: Score & { seen: Score } } {
  const perSlice = zs.map((z, i) => sliceDice(predicted[i]!, mr.slice(mr.seg, z)));
  const seen = zs.map((z, i) => sliceDice(predicted[i]!, mr.slice(mr.seg, z), unseenMask(mr, z)));
  return { perSlice, score: { ...summarize(perSlice), seen: summarize(seen) } };
}

/** Each scored slice's Dice averaged over the labels, 3 decimals: where along the volume a model errs. */
export function perSliceMeans(zs: number[], perSlice: number[][]): Array<{ z: number; dice: number }> {
  return zs.map((z, i) => ({
    z,
    dice: Math.round((perSlice[i]!.reduce((s, v) => s + v, 0) / perSlice[i]!.length) * 1000) / 1000,
  }));
}

export function summarize(perSlice: number[][]): Score {
  const labels = LABELS.map((_, k) => perSlice.reduce((s, d) => s + d[k]!, 0) / perSlice.length);
  return { mean: labels.reduce((s, v) => s + v, 0) / labels.length, labels, slices: perSlice.length };
}

/** The MR and its label map as slice-major bytes (z, y, x), with the voxel spacing [slice, row, column] mm. */
export interface MrVolume {
  W: number;
  H: number;
  Z: number;
  spacing: [number, number, number];
  vol: Uint8Array;
  seg: Uint8Array;
  slice(a: Uint8Array, z: number): Uint8Array;
}

export function loadMr(dir: string): MrVolume {
  const raw = path.join(dir, 'raw');
  mkdirSync(raw);
  const ev = runPython(
    [
      '-c',
      `import nibabel as nib, numpy as np, json, sys
n = nib.load(sys.argv[1]); v = np.asarray(n.dataobj); s = np.asarray(nib.load(sys.argv[2]).dataobj)
assert v.shape == s.shape
np.ascontiguousarray(np.clip(v, 0, 255).astype(np.uint8).transpose(2, 1, 0)).tofile(sys.argv[3] + '/volume.u8')
np.ascontiguousarray(s.astype(np.uint8).transpose(2, 1, 0)).tofile(sys.argv[3] + '/labels.u8')
print(json.dumps({"shape": list(v.shape), "zooms": [float(z) for z in n.header.get_zooms()[:3]]}))`,
      VOLUME,
      SEGMENTATION,
      raw,
    ],
    dir,
  );
  const { shape, zooms } = ev[0] as { shape: number[]; zooms: number[] };
  const [W, H, Z] = shape as [number, number, number];
  const vol = new Uint8Array(readFileSync(path.join(raw, 'volume.u8')));
  const seg = new Uint8Array(readFileSync(path.join(raw, 'labels.u8')));
  if (vol.length !== W * H * Z) throw new Error(`unexpected volume size ${vol.length}`);
  const slice = (a: Uint8Array, z: number): Uint8Array => a.subarray(z * W * H, (z + 1) * W * H);
  return { W, H, Z, spacing: [zooms[2]!, zooms[1]!, zooms[0]!], vol, seg, slice };
}

/** What a model runner gets: the volume, which slices are labelled and which are scored. */
export interface SparseCase {
  mr: MrVolume;
  step: number;
  labelled: number[];
  between: number[];
  dir: string;
  labelMap: string;
  timeLimit: number;
}

/** A model trained on the labelled slices and scored on `between`: its score and training wall time. */
export type ModelRunner = (c: SparseCase) => Promise<Score & { trainSeconds: number; [k: string]: unknown }>;

function writeSlices(mr: MrVolume, dir: string, zs: number[], mode: string, ignoreUnseen = false): void {
  const { W, H, Z } = mr;
  const gray = (z: number): Uint8Array => mr.slice(mr.vol, Math.min(Z - 1, Math.max(0, z)));
  const rgb = (z: number): Uint8Array => {
    const out = new Uint8Array(W * H * 3);
    const planes = [gray(z - 1), gray(z), gray(z + 1)];
    for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = planes[c]![i]!;
    return out;
  };
  mkdirSync(path.join(dir, 'images'), { recursive: true });
  mkdirSync(path.join(dir, 'masks'), { recursive: true });
  for (const z of zs) {
    const name = `z${String(z).padStart(3, '0')}.png`;
    const image = mode === '2.5d' ? encodePng({ width: W, height: H, channels: 3, data: rgb(z) }) : encodeGrayPng(W, H, gray(z));
    writeFileSync(path.join(dir, 'images', name), image);
    const truth = mr.slice(mr.seg, z);
    const unseen = ignoreUnseen ? unseenMask(mr, z) : null;
    const mask = unseen ? truth.map((t, i) => (unseen[i] ? 255 : t)) : truth;
    writeFileSync(path.join(dir, 'masks', name), encodeGrayPng(W, H, mask));
  }
}

/** The 2D / 2.5D model of issue 22: trainer `train` on the labelled slices (PNG), `evaluate` on the others. */
export function slicesModel(mode: '2d' | '2.5d', init: string): ModelRunner {
  return async (c) => {
    const train = path.join(c.dir, `train-${c.step}-${mode}`);
    const test = path.join(c.dir, `test-${c.step}-${mode}`);
    writeSlices(c.mr, train, c.labelled, mode);
    writeSlices(c.mr, test, c.between, mode);
    const testSeen = path.join(c.dir, `test-${c.step}-${mode}-seen`);
    writeSlices(c.mr, testSeen, c.between, mode, true);
    const model = path.join(c.dir, `model-${c.step}-${mode}`);
    const load = os.loadavg()[0]!;
    const t0 = performance.now();
    runPython([
      ...['-m', 'lgms_trainer', 'train', '--data', train, '--val-data', train, '--out', model, '--label-map', c.labelMap],
      ...['--time-limit', String(c.timeLimit), '--size', '128', '--optimizer', 'adamw', '--lr', '0.001'],
      ...['--batch-size', '8', '--channel-mode', mode === '2.5d' ? 'rgb' : 'replicate', '--threads', '2', '--seed', '1'],
      ...(init === 'starter' ? ['--init-from', STARTER] : []),
    ]);
    const trainSeconds = Math.round((performance.now() - t0) / 1000);
    type Evaluation = {
      mean: { dice: number; labels: Array<{ dice: number }> };
      images: Array<{ name: string; labels: Array<{ dice: number }> }>;
    };
    const evaluate = (data: string) =>
      runPython(['-m', 'lgms_trainer', 'evaluate', '--model', model, '--data', data, '--threads', '2']).at(-1) as Evaluation;
    const ev = evaluate(test);
    const seen = evaluate(testSeen);
    // Images are named z<slice>.png (writeSlices).
    const perSlice = perSliceMeans(
      ev.images.map((im) => Number(/z(\d+)/.exec(im.name)![1])),
      ev.images.map((im) => im.labels.map((l) => l.dice)),
    );
    return {
      mean: ev.mean.dice,
      labels: ev.mean.labels.map((l) => l.dice),
      seen: { mean: seen.mean.dice, labels: seen.mean.labels.map((l) => l.dice), slices: seen.images.length },
      perSlice,
      trainSeconds,
      load: [load, os.loadavg()[0]!],
    };
  };
}

const fmt = (s: Score & { seen?: Score }): string =>
  `${s.mean.toFixed(3)} (${s.labels.map((v) => v.toFixed(2)).join(' ')})` +
  (s.seen ? ` [where the image shows the truth: ${s.seen.mean.toFixed(3)}]` : '');

/**
 * Runs the benchmark for each labelling step: the nearest slice and interpolation baselines, then
 * every model of `models` (in order), writing the results to `outFile` after each step.
 */
export async function runSparseVolumeBench(opts: {
  bench: string;
  steps: number[];
  timeLimit: number;
  models: Record<string, ModelRunner>;
  outFile: string;
  extra?: Record<string, unknown>;
  /** The recipe-choosing split (see the top of this file). */
  tune?: boolean;
  /** Shifts the tuning split's labelled slices by this many (see the top of this file). */
  tuneOffset?: number;
}): Promise<void> {
  const tmp = tempDir();
  try {
    const mr = loadMr(tmp.dir);
    const { W, H, Z, slice, seg } = mr;
    const labelMap = path.join(tmp.dir, 'label-map.json');
    writeFileSync(labelMap, JSON.stringify({ labels: LABELS.map((v) => ({ value: v, name: `k-means class ${v}` })) }));
    const results: Array<Record<string, unknown>> = [];
    const load = os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ');
    console.log(`${opts.bench} bench: ${path.basename(VOLUME)} ${W}×${H}×${Z}; load ${load}`);
    for (const scoredStep of opts.steps) {
      const step = opts.tune ? 2 * scoredStep : scoredStep; // the labelled slices' spacing
      const offset = opts.tune ? (opts.tuneOffset ?? 0) : 0; // the first labelled slice
      const labelled = Array.from({ length: Z }, (_, z) => z).filter((z) => z % step === offset);
      const first = labelled[0]!;
      const last = labelled.at(-1)!;
      const between = Array.from({ length: last }, (_, z) => z).filter(
        (z) => z > first && z % step !== offset && (!opts.tune || z % scoredStep === 0),
      );
      const nearest: Uint8Array[] = [];
      const interpolated: Uint8Array[] = [];
      for (const z of between) {
        const lo = Math.floor((z - offset) / step) * step + offset;
        const hi = lo + step;
        nearest.push(slice(seg, z - lo <= hi - z ? lo : hi));
        interpolated.push(interpolateLabels(slice(seg, lo), slice(seg, hi), W, H, step - 1)[z - lo - 1]!);
      }
      const row: Record<string, unknown> = {
        step,
        ...(opts.tune ? { tune: true, tuneOffset: offset, labelled, scored: between } : {}),
        labelledSlices: labelled.length,
        betweenSlices: between.length,
        nearest: scoreSlices(mr, between, nearest).score,
        interpolation: scoreSlices(mr, between, interpolated).score,
      };
      console.log(
        `every ${step}th: ${labelled.length} labelled, ${between.length} ${opts.tune ? 'scored (tuning split)' : 'between'}; nearest ${fmt(row.nearest as Score)}; ` +
          `interpolation ${fmt(row.interpolation as Score)}`,
      );
      for (const [name, runner] of Object.entries(opts.models)) {
        const load = os.loadavg()[0]!;
        const m = await runner({ mr, step, labelled, between, dir: tmp.dir, labelMap, timeLimit: opts.timeLimit });
        row[`model ${name}`] = m;
        console.log(`  model ${name} (${m.trainSeconds} s, load ${load.toFixed(1)}): ${fmt(m)}`);
      }
      results.push(row);
      mkdirSync(path.dirname(opts.outFile), { recursive: true });
      const out = { bench: opts.bench, created: new Date().toISOString(), timeLimit: opts.timeLimit, ...opts.extra, results };
      writeFileSync(opts.outFile, JSON.stringify(out, null, 2));
    }
    console.log(`results: ${opts.outFile}`);
  } finally {
    tmp.cleanup();
  }
}
