// Sparse labelling of a real volume (issue 22's acceptance): a public T1 MR (Debian's
// insighttoolkit5-examples, KmeansTest_T1UCharRaw.nii.gz, 128×128×62, with its six-class
// KmeansTest_T1KmeansPrelimSegmentation.nii.gz as ground truth), every 8th and every 16th (coronal)
// slice labelled. On the slices between the first and the last labelled one, per-slice Dice of
// (a) copying the nearest labelled slice, (b) the product's shape-based interpolation
// (src/shared/imaging/interpolate.ts) and (c) a model trained on the labelled slices alone, as 2D
// (the slice replicated to 3 channels) and as 2.5D (slices z−1, z, z+1 as the 3 channels).
// The rules and the code: sparse-volume-lib.ts (shared with volume.ts, which adds the 3D model).
//
//   npx tsx tests/bench/sparse-volume.ts [--steps 8,16] [--modes 2d,2.5d] [--time-limit 300] [--init starter|scratch]
//                                        [--out .tmp/bench/sparse-volume.json]
import path from 'node:path';
import { ROOT } from '../helpers/serve';
import { runSparseVolumeBench, slicesModel, type ModelRunner } from './sparse-volume-lib';

const args = process.argv.slice(2);
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const init = flag('init', 'starter');
const models: Record<string, ModelRunner> = {};
for (const m of flag('modes', '2d,2.5d').split(',')) if (m === '2d' || m === '2.5d') models[m] = slicesModel(m, init);

await runSparseVolumeBench({
  bench: 'sparse-volume',
  steps: flag('steps', '8,16').split(',').map(Number),
  timeLimit: Number(flag('time-limit', '300')),
  models,
  outFile: path.resolve(flag('out', path.join(ROOT, '.tmp', 'bench', 'sparse-volume.json'))),
  extra: { init },
});
