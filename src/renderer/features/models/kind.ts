// How the Models view describes what a version reads: its kind (2D, 2.5D, 3D) and its input.
import { MODEL_KIND_TEXT, type ModelVersionInfo } from '../../../shared/contract';

const mm = (v: number) => `${Number(v.toFixed(3))}`;

/**
 * The version's kind and input in words: 2D and 2.5D give the in-plane input size (columns × rows,
 * pixels); 3D gives its patch (slices × rows × columns, voxels) and the spacing it resamples every
 * series to (slice × row × column, mm), as model.json's input.patch and input.spacing (SPEC3D).
 */
export function describeInput(v: Pick<ModelVersionInfo, 'kind' | 'inputSize' | 'patch' | 'spacing'>): {
  kind: string;
  input: string;
} {
  const kind = MODEL_KIND_TEXT[v.kind].name;
  const plane = `${v.inputSize[1]}×${v.inputSize[0]} pixels`;
  if (v.kind === '2d') return { kind, input: plane };
  if (v.kind === '2.5d') return { kind, input: `${plane}, a slice and its two neighbours` };
  if (!v.patch || !v.spacing) return { kind, input: 'patch or spacing not stated in its model.json' };
  return { kind, input: `patch ${v.patch.join('×')} voxels (slices × rows × columns) at ${v.spacing.map(mm).join(' × ')} mm` };
}
