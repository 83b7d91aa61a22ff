// A task's first model (issue 22's acceptance): the four-label thyroid task (1 lobe, 2 trachea,
// 3 carotid artery, 4 jugular vein) trained by the trainer from N labelled phantoms, initialised
// from the starter's weights with the head replaced (--init-from) or from scratch, and scored on
// held-out phantoms of both scanner domains: per-label and mean Dice (metrics per image, then
// averaged; a label absent from an image and not predicted scores 1, resources/trainer/README.md).
//
//   npx tsx tests/bench/new-task.ts [--counts 4,8,16,32] [--inits starter,scratch] [--time-limit 600]
//                                   [--held-out 24] [--out .tmp/bench/new-task.json] [-- <extra trainer flags>]
//
// Data (src/main/demo, thyroid anatomy, 256×256): training = seed 2201, indices 0..N-1 alternating
// base and shifted domain (N/2 of each; nested sets: the 8 contain the 4); held-out = seed 2203,
// --held-out images per domain (never trained on). The trainer splits its own validation images off
// the N (the default 0.2, seeded), as the app does; the time limit covers loading, training and
// validation (the export adds a few seconds, reported in the wall time).
import { spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { THYROID_LABELS, writePngPairs } from '../../src/main/demo';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const argv = process.argv.slice(2);
const dashdash = argv.indexOf('--');
const args = dashdash >= 0 ? argv.slice(0, dashdash) : argv;
const extraFlags = dashdash >= 0 ? argv.slice(dashdash + 1) : [];
const flag = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? (args[i + 1] ?? fallback) : fallback;
};
const counts = flag('counts', '16').split(',').map(Number);
const inits = flag('inits', 'starter,scratch').split(',') as Array<'starter' | 'scratch'>;
const timeLimit = Number(flag('time-limit', '600'));
const heldOut = Number(flag('held-out', '24'));
const outFile = path.resolve(flag('out', path.join(ROOT, '.tmp', 'bench', 'new-task.json')));
const TRAIN_SEED = 2201;
const HELD_OUT_SEED = 2203;
const DOMAINS = ['base', 'shifted'] as const;
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const TRAINER = path.join(ROOT, 'resources', 'trainer');
const PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy, PIL'], { stdio: 'ignore' }).status === 0,
);
if (!PYTHON) throw new Error('no Python with torch, numpy and Pillow (apt-get install python3-torch python3-pil)');
// The recipe under test is the app's first-model default (FIRST_MODEL_HYPERPARAMETERS in
// src/main/training/service.ts): the starter's own optimiser (AdamW 1e-3, poly), batch 8, 128×128
// (the starter's size), left-right mirroring only (ultrasound keeps depth downwards) and a random
// scanner appearance on half the images (--appearance 0.5); bounded by --time-limit.
const RECIPE = [
  '--optimizer',
  'adamw',
  '--lr',
  '0.001',
  '--batch-size',
  '8',
  '--size',
  '128',
  '--mirror-only',
  '--appearance',
  '0.5',
  '--threads',
  '2',
  ...extraFlags,
];

interface LabelScore {
  name: string;
  value: number;
  dice: number;
  pooledDice: number;
}
interface Evaluation {
  mean: { dice: number; n: number; labels: LabelScore[] };
}

/** images/ + masks/ (the label maps) for one domain's indices, symlinked from a generated set. */
async function generate(dir: string, seed: number, domain: (typeof DOMAINS)[number], count: number): Promise<string[]> {
  const r = await writePngPairs(dir, { count, seed, domain, size: 256, anatomy: 'thyroid' });
  return r.items.map((i) => i.name);
}

function link(from: string, to: string): void {
  mkdirSync(path.dirname(to), { recursive: true });
  symlinkSync(from, to);
}

function trainer(cmd: string[]): { events: Array<Record<string, unknown>>; seconds: number } {
  const t0 = performance.now();
  const r = spawnSync(PYTHON!, ['-m', 'lgms_trainer', ...cmd], {
    cwd: TRAINER,
    encoding: 'utf8',
    env: { ...process.env, OMP_NUM_THREADS: '2' },
    maxBuffer: 256 * 1024 * 1024,
  });
  const events = r.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as Record<string, unknown>);
  const last = events.at(-1);
  if (r.status !== 0) throw new Error(`trainer ${cmd[0]} failed: ${String(last?.message ?? r.stderr.slice(-2000))}`);
  return { events, seconds: (performance.now() - t0) / 1000 };
}

const tmp = tempDir();
const rows: Array<Record<string, unknown>> = [];
try {
  const gen = path.join(tmp.dir, 'generated');
  const maxN = Math.max(...counts);
  const names: Record<string, string[]> = {};
  for (const d of DOMAINS) {
    names[`train-${d}`] = await generate(path.join(gen, `train-${d}`), TRAIN_SEED, d, Math.ceil(maxN / 2));
    names[`test-${d}`] = await generate(path.join(gen, `test-${d}`), HELD_OUT_SEED, d, heldOut);
  }
  // Held-out sets in the trainer's layout: images/ and masks/ = the label maps.
  const testDirs: Record<string, string> = {};
  for (const d of DOMAINS) {
    testDirs[d] = path.join(tmp.dir, `test-${d}`);
    for (const n of names[`test-${d}`]!) {
      link(path.join(gen, `test-${d}`, 'images', `${n}.png`), path.join(testDirs[d], 'images', `${n}.png`));
      link(path.join(gen, `test-${d}`, 'labels', `${n}.png`), path.join(testDirs[d], 'masks', `${n}.png`));
    }
  }
  const labelMap = path.join(tmp.dir, 'label-map.json');
  const labels = THYROID_LABELS.map((l) => ({ value: l.value, name: l.name }));
  writeFileSync(labelMap, JSON.stringify({ labels, ignoreValues: [], task: { name: 'Thyroid (phantom)', labels } }));

  const load0 = os.loadavg();
  console.log(
    `new-task bench: counts ${counts.join(',')}, inits ${inits.join(',')}, time limit ${timeLimit} s, ` +
      `held-out ${heldOut} per domain; load ${load0.map((v) => v.toFixed(2)).join(' ')}`,
  );
  for (const n of counts) {
    const data = path.join(tmp.dir, `train-${n}`);
    for (let i = 0; i < n; i++) {
      const d = DOMAINS[i % 2]!;
      const name = names[`train-${d}`]![Math.floor(i / 2)]!;
      link(path.join(gen, `train-${d}`, 'images', `${name}.png`), path.join(data, 'images', `${name}.png`));
      link(path.join(gen, `train-${d}`, 'labels', `${name}.png`), path.join(data, 'masks', `${name}.png`));
    }
    for (const init of inits) {
      const model = path.join(tmp.dir, `model-${n}-${init}`);
      const loadBefore = os.loadavg()[0]!;
      const train = trainer([
        'train',
        '--data',
        data,
        '--out',
        model,
        '--label-map',
        labelMap,
        '--time-limit',
        String(timeLimit),
        '--seed',
        '1',
        ...(init === 'starter' ? ['--init-from', STARTER] : []),
        ...RECIPE,
      ]);
      const loadAfter = os.loadavg()[0]!;
      const start = train.events.find((e) => e.event === 'start');
      const done = train.events.find((e) => e.event === 'done') as { metrics: { validation: { dice: number } } } | undefined;
      const steps = train.events.filter((e) => e.event === 'step').length;
      const row: Record<string, unknown> = {
        n,
        init,
        trainImages: start?.trainImages,
        valImages: start?.valImages,
        steps,
        trainSeconds: Math.round(train.seconds),
        validationDice: done?.metrics.validation.dice,
        loadAverage: [loadBefore, loadAfter].map((v) => Math.round(v * 100) / 100),
      };
      // Raw argmax, and after the app's post-processing (components under 16 pixels dropped per label).
      for (const [d, key, extra] of DOMAINS.flatMap(
        (x) =>
          [
            [x, x, []],
            [x, `${x}Cleaned`, ['--min-component', '16']],
          ] as const,
      )) {
        const ev = trainer(['evaluate', '--model', model, '--data', testDirs[d]!, '--threads', '2', ...extra]).events.at(
          -1,
        ) as unknown as Evaluation;
        const pooled = ev.mean.labels.map((l) => l.pooledDice);
        row[key] = {
          mean: ev.mean.dice,
          labels: Object.fromEntries(ev.mean.labels.map((l) => [l.name, l.dice])),
          images: ev.mean.n,
          pooledMean: pooled.reduce((s, v) => s + v, 0) / pooled.length,
          pooled: Object.fromEntries(ev.mean.labels.map((l) => [l.name, l.pooledDice])),
        };
      }
      rows.push(row);
      const fmt = (d: string): string => {
        const r = row[d] as { mean: number; labels: Record<string, number>; pooledMean: number };
        return `${r.mean.toFixed(3)} (${THYROID_LABELS.map((l) => (r.labels[l.name] ?? NaN).toFixed(2)).join(' ')}; pooled ${r.pooledMean.toFixed(3)})`;
      };
      console.log(
        `N=${String(n).padStart(2)} ${init.padEnd(7)} ${String(steps).padStart(4)} steps ${String(row.trainSeconds).padStart(4)} s  ` +
          `base ${fmt('base')}  shifted ${fmt('shifted')}  load ${loadBefore.toFixed(2)}→${loadAfter.toFixed(2)}`,
      );
      console.log(`     components ≥ 16 px: base ${fmt('baseCleaned')}  shifted ${fmt('shiftedCleaned')}`);
      mkdirSync(path.dirname(outFile), { recursive: true });
      writeFileSync(
        outFile,
        JSON.stringify(
          {
            bench: 'new-task',
            created: new Date().toISOString(),
            timeLimit,
            heldOut,
            recipe: RECIPE,
            labels: THYROID_LABELS.map((l) => l.name),
            seeds: { train: TRAIN_SEED, heldOut: HELD_OUT_SEED },
            machine: `${os.cpus()[0]?.model ?? 'cpu'}, ${os.cpus().length} cores`,
            rows,
          },
          null,
          2,
        ),
      );
    }
  }
  console.log("\nAfter dropping components under 16 pixels per label (the app's post-processing):");
  console.log(
    '| N | init | steps | train s | load | base mean | shifted mean | base lobe/trachea/carotid/jugular | shifted lobe/trachea/carotid/jugular | pooled base / shifted |',
  );
  console.log('|---|---|---|---|---|---|---|---|---|---|');
  type Scores = { mean: number; labels: Record<string, number>; pooledMean: number };
  for (const r of rows) {
    const b = r.baseCleaned as Scores;
    const s = r.shiftedCleaned as Scores;
    const per = (x: Scores) => THYROID_LABELS.map((l) => (x.labels[l.name] ?? NaN).toFixed(2)).join(' / ');
    console.log(
      `| ${r.n} | ${r.init} | ${r.steps} | ${r.trainSeconds} | ${(r.loadAverage as number[]).join('→')} | ${b.mean.toFixed(3)} | ` +
        `${s.mean.toFixed(3)} | ${per(b)} | ${per(s)} | ${b.pooledMean.toFixed(3)} / ${s.pooledMean.toFixed(3)} |`,
    );
  }
  console.log(`results: ${outFile}`);
} finally {
  tmp.cleanup();
}
