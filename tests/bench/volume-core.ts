// Benchmark: the pure 3D volume pipeline around the network (src/shared/imaging/volume.ts,
// sliding-window.ts) on a 512×512×300 CT-sized volume at 0.7 × 0.7 × 2.5 mm, with the model's
// spacing 1.5 × 1.5 × 2.5 mm (300×239×239), 96³ patches and 5 classes. The network is replaced
// by a stand-in that returns a fixed logit block, so the figures are the pipeline's own cost
// (resample, normalise, window loop with softmax and Gaussian blending, entropy, back to the
// series' grid slice by slice), and the peak of process memory.
// Run: npx tsx tests/bench/volume-core.ts [--slices 300] [--tta 0]
import { entropyVolume, slidingWindow, VolumeLabeler } from '../../src/shared/imaging/sliding-window';
import {
  normalizeVolume,
  resampleTrilinear,
  shapeAtSpacing,
  volumeInferenceBytes,
  type Shape3,
} from '../../src/shared/imaging/volume';

const arg = (name: string, d: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : d;
};
const slices = arg('slices', 300);
const tta = arg('tta', 0);
const CLASSES = 5;
const PATCH: Shape3 = [96, 96, 96];
const series: Shape3 = [slices, 512, 512];
const model = shapeAtSpacing(series, [2.5, 0.7, 0.7], [2.5, 1.5, 1.5]);

let peak = 0;
const sample = () => {
  const m = process.memoryUsage();
  peak = Math.max(peak, m.rss);
};
const timer = setInterval(sample, 50);
const time = async <T>(label: string, f: () => T | Promise<T>): Promise<T> => {
  const t0 = performance.now();
  const r = await f();
  sample();
  console.log(`${label}: ${((performance.now() - t0) / 1000).toFixed(2)} s`);
  return r;
};

const hu = new Float32Array(series[0] * series[1] * series[2]);
for (let i = 0; i < hu.length; i++) hu[i] = ((i * 2654435761) % 1400) - 1000;
const resampled = await time(`resample ${series.join('×')} → ${model.join('×')}`, () => resampleTrilinear(hu, series, model));
const input = await time('CT window', () => normalizeVolume(resampled, 'CT', resampled));
const logits = new Float32Array(CLASSES * PATCH[0] * PATCH[1] * PATCH[2]).map((_, i) => (i % 7) - 3);
let windows = 0;
let runs = 0;
const prob = await time(`sliding window, patch 96³, ${CLASSES} classes, TTA axes ${tta}`, () =>
  slidingWindow(
    input,
    model,
    async () => {
      runs++;
      return logits.slice();
    },
    {
      patch: PATCH,
      classes: CLASSES,
      mirrorAxes: tta ? ([0, 1, 2] as const).slice(0, tta) : [],
      onProgress: (d) => (windows = d),
    },
  ),
);
const entropy = await time('entropy', () => entropyVolume(prob, CLASSES));
await time(`labels back to ${series.join('×')}, slice by slice`, () => {
  const l = new VolumeLabeler(prob, entropy, CLASSES, model, series);
  for (let k = 0; k < series[0]; k++) l.slice(k);
});
clearInterval(timer);
console.log(`windows ${windows}, network runs ${runs}`);
console.log(
  `peak RSS ${(peak / 2 ** 20).toFixed(0)} MiB; volumeInferenceBytes ${(volumeInferenceBytes(series, model, CLASSES, PATCH) / 2 ** 20).toFixed(0)} MiB`,
);
