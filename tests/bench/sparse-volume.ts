// Sparse labelling of a real volume (issue 22's acceptance): a public T1 MR (Debian's
// insighttoolkit5-examples, KmeansTest_T1UCharRaw.nii.gz, 128×128×62, with its six-class
// KmeansTest_T1KmeansPrelimSegmentation.nii.gz as ground truth), every 8th and every 16th axial
// slice labelled. On the slices between the first and the last labelled one, per-slice Dice of
// (a) copying the nearest labelled slice, (b) the product's shape-based interpolation
// (src/shared/imaging/interpolate.ts) and (c) a model trained on the labelled slices alone, as 2D
// (the slice replicated to 3 channels) and as 2.5D (slices z−1, z, z+1 as the 3 channels).
// Dice per slice and label (a label absent from a slice and not predicted scores 1, as the
// trainer's metrics), then averaged over the six labels and the slices.
//
//   npx tsx tests/bench/sparse-volume.ts [--steps 8,16] [--modes 2d,2.5d] [--time-limit 300] [--init starter|scratch]
//                                        [--out .tmp/bench/sparse-volume.json]
//
// The model validates on its own labelled slices (none is left over to hold out: a reader who
// labels every 16th slice has four); the time limit covers loading, training and validation.
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { encodeGrayPng, encodePng } from '../../src/main/demo';
import { interpolateLabels } from '../../src/shared/imaging/interpolate';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const steps = flag('steps', '8,16').split(',').map(Number);
const modes = flag('modes', '2d,2.5d')
  .split(',')
  .filter((m) => m === '2d' || m === '2.5d');
const timeLimit = Number(flag('time-limit', '300'));
const init = flag('init', 'starter');
const outFile = path.resolve(flag('out', path.join(ROOT, '.tmp', 'bench', 'sparse-volume.json')));
const DATA = '/usr/share/doc/insighttoolkit5-examples/examples/Data';
const VOLUME = path.join(DATA, 'KmeansTest_T1UCharRaw.nii.gz');
const SEGMENTATION = path.join(DATA, 'KmeansTest_T1KmeansPrelimSegmentation.nii.gz');
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const TRAINER = path.join(ROOT, 'resources', 'trainer');
const LABELS = [1, 2, 3, 4, 5, 6];
const PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy, PIL, nibabel'], { stdio: 'ignore' }).status === 0,
);
if (!PYTHON)
  throw new Error('no Python with torch, numpy, Pillow and nibabel (apt-get install python3-torch python3-pil python3-nibabel)');

function run(cmd: string[], cwd = TRAINER): Array<Record<string, unknown>> {
  const r = spawnSync(PYTHON!, cmd, {
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

/** Per-label Dice of one slice (labels absent from both: 1). */
function sliceDice(pred: Uint8Array, truth: Uint8Array): number[] {
  return LABELS.map((label) => {
    let tp = 0;
    let fp = 0;
    let fn = 0;
    for (let i = 0; i < truth.length; i++) {
      const p = pred[i] === label;
      const t = truth[i] === label;
      if (p && t) tp++;
      else if (p) fp++;
      else if (t) fn++;
    }
    return tp + fp + fn === 0 ? 1 : (2 * tp) / (2 * tp + fp + fn);
  });
}

function summarize(perSlice: number[][]): { mean: number; labels: number[]; slices: number } {
  const labels = LABELS.map((_, k) => perSlice.reduce((s, d) => s + d[k]!, 0) / perSlice.length);
  return { mean: labels.reduce((s, v) => s + v, 0) / labels.length, labels, slices: perSlice.length };
}

const tmp = tempDir();
try {
  // The volume as raw bytes, slice-major (z, y, x).
  const raw = path.join(tmp.dir, 'raw');
  mkdirSync(raw);
  run(
    [
      '-c',
      `import nibabel as nib, numpy as np, json, sys
v = np.asarray(nib.load(sys.argv[1]).dataobj); s = np.asarray(nib.load(sys.argv[2]).dataobj)
assert v.shape == s.shape
np.ascontiguousarray(np.clip(v, 0, 255).astype(np.uint8).transpose(2, 1, 0)).tofile(sys.argv[3] + '/volume.u8')
np.ascontiguousarray(s.astype(np.uint8).transpose(2, 1, 0)).tofile(sys.argv[3] + '/labels.u8')
print(json.dumps({"shape": list(v.shape)}))`,
      VOLUME,
      SEGMENTATION,
      raw,
    ],
    tmp.dir,
  );
  const [W, H, Z] = [128, 128, 62];
  const vol = new Uint8Array(readFileSync(path.join(raw, 'volume.u8')));
  const seg = new Uint8Array(readFileSync(path.join(raw, 'labels.u8')));
  if (vol.length !== W * H * Z) throw new Error(`unexpected volume size ${vol.length}`);
  const slice = (a: Uint8Array, z: number): Uint8Array => a.subarray(z * W * H, (z + 1) * W * H);
  const gray = (z: number): Uint8Array => slice(vol, Math.min(Z - 1, Math.max(0, z)));
  const rgb = (z: number): Uint8Array => {
    const out = new Uint8Array(W * H * 3);
    const planes = [gray(z - 1), gray(z), gray(z + 1)];
    for (let i = 0; i < W * H; i++) for (let c = 0; c < 3; c++) out[i * 3 + c] = planes[c]![i]!;
    return out;
  };
  const writeSlices = (dir: string, zs: number[], mode: string): void => {
    mkdirSync(path.join(dir, 'images'), { recursive: true });
    mkdirSync(path.join(dir, 'masks'), { recursive: true });
    for (const z of zs) {
      const name = `z${String(z).padStart(3, '0')}.png`;
      const image =
        mode === '2.5d' ? encodePng({ width: W, height: H, channels: 3, data: rgb(z) }) : encodeGrayPng(W, H, gray(z));
      writeFileSync(path.join(dir, 'images', name), image);
      writeFileSync(path.join(dir, 'masks', name), encodeGrayPng(W, H, slice(seg, z)));
    }
  };
  const labelMap = path.join(tmp.dir, 'label-map.json');
  writeFileSync(labelMap, JSON.stringify({ labels: LABELS.map((v) => ({ value: v, name: `k-means class ${v}` })) }));

  const results: Array<Record<string, unknown>> = [];
  console.log(
    `sparse-volume bench: ${path.basename(VOLUME)} ${W}×${H}×${Z}; load ${os
      .loadavg()
      .map((v) => v.toFixed(2))
      .join(' ')}`,
  );
  for (const step of steps) {
    const labelled = Array.from({ length: Z }, (_, z) => z).filter((z) => z % step === 0);
    const last = labelled.at(-1)!;
    const between = Array.from({ length: last }, (_, z) => z).filter((z) => z % step !== 0);
    const nearest: number[][] = [];
    const interpolated: number[][] = [];
    for (const z of between) {
      const lo = Math.floor(z / step) * step;
      const hi = lo + step;
      nearest.push(sliceDice(slice(seg, z - lo <= hi - z ? lo : hi), slice(seg, z)));
      const maps = interpolateLabels(slice(seg, lo), slice(seg, hi), W, H, step - 1);
      interpolated.push(sliceDice(maps[z - lo - 1]!, slice(seg, z)));
    }
    const row: Record<string, unknown> = {
      step,
      labelledSlices: labelled.length,
      betweenSlices: between.length,
      nearest: summarize(nearest),
      interpolation: summarize(interpolated),
    };
    const fmt = (s: { mean: number; labels: number[] }): string =>
      `${s.mean.toFixed(3)} (${s.labels.map((v) => v.toFixed(2)).join(' ')})`;
    console.log(
      `every ${step}th: ${labelled.length} labelled, ${between.length} between; nearest ${fmt(row.nearest as never)}; ` +
        `interpolation ${fmt(row.interpolation as never)}`,
    );
    for (const mode of modes) {
      const train = path.join(tmp.dir, `train-${step}-${mode}`);
      const test = path.join(tmp.dir, `test-${step}-${mode}`);
      writeSlices(train, labelled, mode);
      writeSlices(test, between, mode);
      const model = path.join(tmp.dir, `model-${step}-${mode}`);
      const load = os.loadavg()[0]!;
      const t0 = performance.now();
      run([
        '-m',
        'lgms_trainer',
        'train',
        '--data',
        train,
        '--val-data',
        train,
        '--out',
        model,
        '--label-map',
        labelMap,
        '--time-limit',
        String(timeLimit),
        '--size',
        '128',
        '--optimizer',
        'adamw',
        '--lr',
        '0.001',
        '--batch-size',
        '8',
        '--channel-mode',
        mode === '2.5d' ? 'rgb' : 'replicate',
        '--threads',
        '2',
        '--seed',
        '1',
        ...(init === 'starter' ? ['--init-from', STARTER] : []),
      ]);
      const seconds = Math.round((performance.now() - t0) / 1000);
      const ev = run(['-m', 'lgms_trainer', 'evaluate', '--model', model, '--data', test, '--threads', '2']).at(-1) as {
        mean: { dice: number; labels: Array<{ dice: number }> };
      };
      const m = {
        mean: ev.mean.dice,
        labels: ev.mean.labels.map((l) => l.dice),
        trainSeconds: seconds,
        load: [load, os.loadavg()[0]!],
      };
      row[`model ${mode}`] = m;
      console.log(`  model ${mode} (${init}, ${seconds} s, load ${load.toFixed(1)}): ${fmt(m)}`);
    }
    results.push(row);
    mkdirSync(path.dirname(outFile), { recursive: true });
    writeFileSync(
      outFile,
      JSON.stringify({ bench: 'sparse-volume', created: new Date().toISOString(), timeLimit, init, results }, null, 2),
    );
  }
  console.log(`results: ${outFile}`);
} finally {
  tmp.cleanup();
}
