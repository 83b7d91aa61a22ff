// Benchmark: forward time per 256×256 image, batch 1 and batch 8, PyTorch eager (the trainer's
// own model and weights) against onnxruntime-node CPU (the shipped ONNX), in the same run.
// Run: npx tsx tests/bench/model-forward.ts [--model resources/models/lgmsnet-starter] [--reps 10]
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { readModelPackage } from '../../src/main/models/package';
import { ROOT } from '../helpers/serve';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const args = process.argv.slice(2);
const opt = (name: string, fallback: string) => (args.includes(`--${name}`) ? args[args.indexOf(`--${name}`) + 1]! : fallback);
const MODEL = path.resolve(opt('model', path.join(ROOT, 'resources', 'models', 'lgmsnet-starter')));
const REPS = Number(opt('reps', '10'));
const SIZE = Number(opt('size', '256'));
const threads = os.availableParallelism();

const PYTORCH = `
import json, os, statistics, sys, time
import torch
from lgms_trainer.package import load_model
torch.set_num_threads(${threads})
model, _ = load_model(sys.argv[1])
out = {}
for batch in (1, 8):
    x = torch.rand(batch, 3, ${SIZE}, ${SIZE})
    times = []
    with torch.no_grad():
        for i in range(${REPS} + 1):
            t = time.perf_counter(); model(x); times.append(time.perf_counter() - t)
    out[batch] = statistics.median(times[1:]) * 1000
print(json.dumps(out))
`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const pkg = readModelPackage(MODEL);
const torchMs = JSON.parse(
  execFileSync('/usr/bin/python3', ['-c', PYTORCH, MODEL], {
    cwd: path.join(ROOT, 'resources', 'trainer'),
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: 'PASSIVE' },
  })
    .trim()
    .split('\n')
    .at(-1)!,
) as Record<string, number>;
const session = await ort.InferenceSession.create(pkg.onnxPath, { executionProviders: ['cpu'], intraOpNumThreads: threads, graphOptimizationLevel: 'all' });
const ortMs: Record<number, number> = {};
for (const batch of [1, 8]) {
  const x = new ort.Tensor('float32', Float32Array.from({ length: batch * 3 * SIZE * SIZE }, () => Math.random()), [batch, 3, SIZE, SIZE]);
  const times: number[] = [];
  for (let i = 0; i < REPS + 1; i++) {
    const t = performance.now();
    await session.run({ input: x });
    times.push(performance.now() - t);
  }
  ortMs[batch] = median(times.slice(1));
}
process.stdout.write(`machine: ${os.cpus()[0]?.model ?? '?'}, ${threads} threads; model ${pkg.manifest.id}; ${SIZE}×${SIZE}; median of ${REPS}\n`);
for (const batch of [1, 8]) {
  const t = torchMs[batch]!;
  const o = ortMs[batch]!;
  process.stdout.write(
    `batch ${batch}: PyTorch eager ${t.toFixed(1)} ms (${(t / batch).toFixed(1)} ms/image), onnxruntime-node ${o.toFixed(1)} ms (${(o / batch).toFixed(1)} ms/image); PyTorch/onnxruntime ${(t / o).toFixed(2)}×\n`,
  );
}
await session.release();
