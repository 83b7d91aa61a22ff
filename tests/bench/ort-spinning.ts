// Benchmark: onnxruntime's intra-op pool threads spin (busy-wait) after each run by default
// (session.intra_op.allow_spinning = 1). The inference worker turns that off. Here the starter
// runs alone on one 128² input, then with 2 ms of other work on this thread after each run (the
// worker's post-processing and the next slice's decoding), both ways in the same process,
// alternated: wall time per iteration, the model step, and the process's CPU time per iteration.
// Run: npx tsx tests/bench/ort-spinning.ts [--rounds 3]
import { createRequire } from 'node:module';
import os from 'node:os';
import type * as Ort from 'onnxruntime-node';
const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const busy = (ms: number) => {
  const t = performance.now();
  let a = 0;
  while (performance.now() - t < ms) a++;
  return a;
};
const x = new ort.Tensor('float32', new Float32Array(3 * 128 * 128).fill(0.3), [1, 3, 128, 128]);
const sessions = {
  spin: await ort.InferenceSession.create('resources/models/lgmsnet-starter/model.onnx', {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
  }),
  nospin: await ort.InferenceSession.create('resources/models/lgmsnet-starter/model.onnx', {
    intraOpNumThreads: 2,
    interOpNumThreads: 1,
    graphOptimizationLevel: 'all',
    extra: { 'session.intra_op.allow_spinning': '0' },
  }),
};
for (const s of Object.values(sessions)) for (let i = 0; i < 5; i++) await s.run({ [s.inputNames[0]!]: x });
const ROUNDS = Number(process.argv[process.argv.indexOf('--rounds') + 1] ?? 3) || 3;
process.stdout.write(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores\n`);
for (let round = 1; round <= ROUNDS; round++)
  for (const [name, s] of Object.entries(sessions)) {
    const c = process.cpuUsage();
    const t = performance.now();
    let model = 0;
    for (let i = 0; i < 30; i++) {
      const t0 = performance.now();
      await s.run({ [s.inputNames[0]!]: x });
      model += performance.now() - t0;
      busy(2);
    }
    const u = process.cpuUsage(c);
    console.log(
      round,
      name,
      'wall/iter',
      ((performance.now() - t) / 30).toFixed(1),
      'model',
      (model / 30).toFixed(1),
      'cpu/iter',
      ((u.user + u.system) / 1000 / 30).toFixed(1),
      'load',
      os.loadavg()[0]!.toFixed(1),
    );
  }
