// Benchmark: forward time per 256×256 image, batch 1 and batch 8, PyTorch eager (the trainer's
// own model and weights) against onnxruntime-node CPU (the shipped ONNX), in the same run.
// Each side runs alone (PyTorch in a child process that has exited before onnxruntime loads a
// session) with the same intra-op thread count, and each prints its thread settings. Batch 1
// is also timed in the variants that explain a slow eager figure (issue 16): the export-friendly
// staged GroupNorm against PyTorch's fused F.group_norm (same weights, same result), and
// OpenMP threads that spin while waiting (OMP_WAIT_POLICY=ACTIVE) against ones that sleep
// (PASSIVE, the default here); onnxruntime with and without its spinning pool.
// Run: npx tsx tests/bench/model-forward.ts [--model resources/models/lgmsnet-starter] [--reps 10] [--size 256]
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
import torch.nn.functional as F
from lgms_trainer import blocks
from lgms_trainer.package import load_model
torch.set_num_threads(${threads})
model, _ = load_model(sys.argv[1])
def median_ms(batch):
    x = torch.rand(batch, 3, ${SIZE}, ${SIZE})
    times = []
    with torch.no_grad():
        for i in range(${REPS} + 1):
            t = time.perf_counter(); model(x); times.append(time.perf_counter() - t)
    return statistics.median(times[1:]) * 1000
out = {"threads": torch.get_num_threads(), "interop": torch.get_num_interop_threads(), "wait": os.environ.get("OMP_WAIT_POLICY", "")}
out["1"] = median_ms(1)
if sys.argv[2] == "all":
    out["8"] = median_ms(8)
    staged = blocks.StableGroupNorm.forward
    blocks.StableGroupNorm.forward = lambda self, x: F.group_norm(x, self.num_groups, self.weight, self.bias, self.eps)
    out["1-fused-groupnorm"] = median_ms(1)
    blocks.StableGroupNorm.forward = staged
print(json.dumps(out))
`;

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

const pkg = readModelPackage(MODEL);
function pytorch(wait: 'PASSIVE' | 'ACTIVE', variants: 'all' | 'batch1'): Record<string, number | string> {
  const stdout = execFileSync('/usr/bin/python3', ['-c', PYTORCH, MODEL, variants], {
    cwd: path.join(ROOT, 'resources', 'trainer'),
    encoding: 'utf8',
    env: { ...process.env, OMP_WAIT_POLICY: wait },
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Record<string, number | string>;
}
const torchMs = pytorch('PASSIVE', 'all');
const torchSpin = pytorch('ACTIVE', 'batch1');

async function onnxruntime(spinning: boolean, batches: number[]): Promise<Record<number, number>> {
  const session = await ort.InferenceSession.create(pkg.onnxPath, {
    executionProviders: ['cpu'],
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { session: { intra_op: { allow_spinning: spinning ? '1' : '0' } } },
  });
  const ms: Record<number, number> = {};
  for (const batch of batches) {
    const x = new ort.Tensor(
      'float32',
      Float32Array.from({ length: batch * 3 * SIZE * SIZE }, () => Math.random()),
      [batch, 3, SIZE, SIZE],
    );
    const times: number[] = [];
    for (let i = 0; i < REPS + 1; i++) {
      const t = performance.now();
      await session.run({ input: x });
      times.push(performance.now() - t);
    }
    ms[batch] = median(times.slice(1));
  }
  return ms;
}
const ortMs = await onnxruntime(true, [1, 8]);
const ortQuiet = await onnxruntime(false, [1]);
process.stdout.write(
  `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores, load ${os.loadavg()[0]!.toFixed(1)}; model ${pkg.manifest.id}; ${SIZE}×${SIZE}; median of ${REPS}\n` +
    `threads: PyTorch ${torchMs.threads} intra-op, ${torchMs.interop} inter-op (OpenMP); onnxruntime ${threads} intra-op, 1 inter-op\n`,
);
for (const batch of [1, 8]) {
  const t = torchMs[String(batch)] as number;
  const o = ortMs[batch]!;
  process.stdout.write(
    `batch ${batch}: PyTorch eager ${t.toFixed(1)} ms (${(t / batch).toFixed(1)} ms/image), onnxruntime-node ${o.toFixed(1)} ms (${(o / batch).toFixed(1)} ms/image); PyTorch/onnxruntime ${(t / o).toFixed(2)}×\n`,
  );
}
const b1 = torchMs['1'] as number;
process.stdout.write(
  `batch 1 variants: PyTorch eager with fused F.group_norm ${(torchMs['1-fused-groupnorm'] as number).toFixed(1)} ms (staged, as exported: ${b1.toFixed(1)} ms); ` +
    `OpenMP spinning (ACTIVE) ${(torchSpin['1'] as number).toFixed(1)} ms vs sleeping (PASSIVE) ${b1.toFixed(1)} ms; ` +
    `onnxruntime without spinning ${ortQuiet[1]!.toFixed(1)} ms vs spinning ${ortMs[1]!.toFixed(1)} ms\n`,
);
const fair = Math.min(b1, torchMs['1-fused-groupnorm'] as number);
process.stdout.write(
  `fair baseline, batch 1: PyTorch eager (best variant) ${fair.toFixed(1)} ms / onnxruntime ${ortMs[1]!.toFixed(1)} ms = ${(fair / ortMs[1]!).toFixed(2)}×\n`,
);
