// The shipped ONNX file against the PyTorch model it was exported from: onnxruntime-node must
// match PyTorch to 1e-4 (max abs) on fixed inputs, with dynamic batch, height and width.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type * as Ort from 'onnxruntime-node';
import { afterAll, describe, expect, it } from 'vitest';
import { readModelPackage } from '../../src/main/models/package';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');
const TRAINER = path.join(ROOT, 'resources', 'trainer');
const PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0,
);
const skip = !existsSync(STARTER) ? 'no starter model' : !PYTHON ? 'no Python with torch (apt-get install python3-torch)' : '';

function readReference(file: string) {
  const buf = readFileSync(file);
  const headerLength = buf.readUInt32LE(0);
  const header = JSON.parse(buf.subarray(4, 4 + headerLength).toString('utf8')) as {
    inputShape: number[];
    outputShape: number[];
  };
  const count = (s: number[]) => s.reduce((a, b) => a * b, 1);
  const body = buf.subarray(4 + headerLength);
  const floats = new Float32Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.length));
  const nIn = count(header.inputShape);
  return { header, input: floats.slice(0, nIn), output: floats.slice(nIn, nIn + count(header.outputShape)) };
}

describe.skipIf(skip)(skipTitle('starter model ONNX parity', skip), () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  const pkg = existsSync(STARTER) ? readModelPackage(STARTER) : null;

  it.each([
    [2, 3, 64, 96],
    [1, 3, 256, 256],
  ])(
    'matches PyTorch to 1e-4 on a fixed %i×%i×%i×%i input',
    async (...shape) => {
      const file = path.join(tmp.dir, `ref-${shape.join('x')}.bin`);
      execFileSync(PYTHON!, ['-m', 'lgms_trainer', 'reference', '--model', STARTER, '--shape', shape.join(','), '--out', file], {
        cwd: TRAINER,
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const ref = readReference(file);
      expect(ref.header.inputShape).toEqual(shape);
      const session = await ort.InferenceSession.create(pkg!.onnxPath, { executionProviders: ['cpu'] });
      const out = await session.run({ input: new ort.Tensor('float32', ref.input, shape) });
      const got = out.logits!.data as Float32Array;
      expect(out.logits!.dims).toEqual([shape[0], 1, shape[2], shape[3]]);
      let maxDiff = 0;
      let maxRef = 0;
      for (let i = 0; i < got.length; i++) {
        maxDiff = Math.max(maxDiff, Math.abs(got[i]! - ref.output[i]!));
        maxRef = Math.max(maxRef, Math.abs(ref.output[i]!));
      }
      console.log(
        `parity ${shape.join('×')}: max |onnxruntime − PyTorch| = ${maxDiff.toExponential(2)} (max |logit| ${maxRef.toFixed(2)})`,
      );
      expect(maxDiff).toBeLessThanOrEqual(1e-4);
      await session.release();
    },
    120_000,
  );

  it('runs at 512×512 and with a dynamic batch', async () => {
    const session = await ort.InferenceSession.create(pkg!.onnxPath, { executionProviders: ['cpu'] });
    for (const [n, h, w] of [
      [1, 512, 512],
      [3, 256, 256],
    ] as const) {
      const out = await session.run({
        input: new ort.Tensor('float32', new Float32Array(n * 3 * h * w).fill(0.3), [n, 3, h, w]),
      });
      expect(out.logits!.dims).toEqual([n, 1, h, w]);
      expect((out.logits!.data as Float32Array).every(Number.isFinite)).toBe(true);
    }
    await session.release();
  }, 120_000);
});
