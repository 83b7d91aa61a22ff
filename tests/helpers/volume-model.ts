// A seeded, untrained LGMSNet exported by the trainer's own code (tests/helpers/volume-model.py):
// a 3D CT model with SPEC3D's model.json (patch, spacing, softmax label values), or its 2D twin
// with the same labels, for the 3D inference, staging and gate tests and the CT benchmark.
import path from 'node:path';
import { ROOT } from './serve';
import { runTorchScript, TORCH_PYTHON } from './torch-python';

export { TORCH_PYTHON };

export interface VolumeModelOptions {
  dims?: 2 | 3;
  classes?: number;
  values?: number[];
  /** [D, H, W] voxels, multiples of 32. */
  patch?: [number, number, number];
  /** [slice, row, column] mm. */
  spacing?: [number, number, number];
  /** A 2D model's input size. */
  size?: number;
  seed?: number;
  id?: string;
  parent?: string;
}

/** Writes the model folder (model.onnx, model.json) to `out` and returns it; a few seconds. */
export function makeVolumeModel(out: string, o: VolumeModelOptions = {}): string {
  const args = [path.join(ROOT, 'tests', 'helpers', 'volume-model.py'), out, '--dims', String(o.dims ?? 3)];
  if (o.classes !== undefined) args.push('--classes', String(o.classes));
  if (o.values) args.push('--values', o.values.join(','));
  if (o.patch) args.push('--patch', o.patch.join(','));
  if (o.spacing) args.push('--spacing', o.spacing.join(','));
  if (o.size !== undefined) args.push('--size', String(o.size));
  if (o.seed !== undefined) args.push('--seed', String(o.seed));
  if (o.id) args.push('--id', o.id);
  if (o.parent) args.push('--parent', o.parent);
  runTorchScript(args);
  return out;
}
