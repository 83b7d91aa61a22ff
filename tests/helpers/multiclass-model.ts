// A small multi-class (softmax) LGMSNet made by the test itself (tests/helpers/multiclass-model.py):
// the starter's layers with a fixed five-class head, exported to ONNX with its model.json.
import path from 'node:path';
import { ROOT } from './serve';
import { runTorchScript } from './torch-python';

export const STARTER_DIR = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');

/**
 * Writes the model folder (model.onnx, model.json: softmax, labels outer/middle/inner/core painted
 * as `values`) to `out` and returns it. Needs a Python with torch (torch-python.ts); ~15 s.
 */
export function makeMulticlassModel(
  out: string,
  { values = [1, 2, 4, 5], channelMode = 'replicate' }: { values?: number[]; channelMode?: string } = {},
): string {
  runTorchScript([
    path.join(ROOT, 'tests', 'helpers', 'multiclass-model.py'),
    STARTER_DIR,
    out,
    '--values',
    values.join(','),
    '--channel-mode',
    channelMode,
  ]);
  return out;
}
