// A small multi-class (softmax) LGMSNet made by the test itself (tests/helpers/multiclass-model.py):
// the starter's layers with a fixed five-class head, exported to ONNX with its model.json.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './serve';

export const STARTER_DIR = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');

/**
 * Writes the model folder (model.onnx, model.json: softmax, labels outer/middle/inner/core painted
 * as `values`) to `out` and returns it. Needs Debian's Python with torch (/usr/bin/python3); ~15 s.
 */
export function makeMulticlassModel(
  out: string,
  { values = [1, 2, 4, 5], channelMode = 'replicate' }: { values?: number[]; channelMode?: string } = {},
): string {
  execFileSync(
    '/usr/bin/python3',
    [
      path.join(ROOT, 'tests', 'helpers', 'multiclass-model.py'),
      STARTER_DIR,
      out,
      '--values',
      values.join(','),
      '--channel-mode',
      channelMode,
    ],
    {
      stdio: 'pipe',
      timeout: 300_000,
      env: {
        ...process.env,
        PYTHONPATH: path.join(ROOT, 'resources', 'trainer'),
        PYTHONDONTWRITEBYTECODE: '1',
        OMP_NUM_THREADS: '1',
      },
    },
  );
  return out;
}
