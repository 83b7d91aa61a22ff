// The 3D volume pipeline as one call (issue 25), pure: series intensities in, a per-slice label
// map and heat map out, the network behind `runPatch`. What the inference worker will call once
// it loads a 3D model (model.json's spacing and patch); the steps are in volume.ts and
// sliding-window.ts.
import { entropyVolume, slidingWindow, VolumeLabeler, type RunPatch, type SlidingWindowOptions } from './sliding-window';
import { normalizeVolume, resampleTrilinear, shapeAtSpacing, type Shape3, type Spacing3 } from './volume';

export interface VolumeSegmentationInput {
  /** The series' intensities after the modality LUT (CT: HU), D×H×W, slice k = the k-th slice along the normal. */
  values: Float32Array;
  shape: Shape3;
  /** [between slice centres, row, column] in mm. */
  spacing: Spacing3;
  /** DICOM Modality (0008,0060): 'CT' or 'MR' (`normalizeVolume`). */
  modality: string;
}

export interface VolumeModelSpec {
  /** The spacing the model was trained at, mm [slice, row, column]. */
  spacing: Spacing3;
  /** Label values painted by classes 1…C−1 (class 0 is background). */
  values: readonly number[];
}

export interface VolumeSegmentation {
  /** Slices of the series' grid one at a time (label values, heat map): never the whole volume's probabilities. */
  labeler: VolumeLabeler;
  /** The grid the network saw. */
  modelShape: Shape3;
  /** Mean normalised entropy over the model grid (0…1): the series' uncertainty score, as the 2D pipeline's per slice. */
  entropy: number;
}

/**
 * Resample to the model's spacing (trilinear), normalise by modality, segment in sliding windows
 * (`slidingWindow`: Gaussian blending, flip TTA, progress, cancel), take the normalised entropy,
 * and hand back a `VolumeLabeler` that resamples the class probabilities to the series' grid one
 * slice at a time (argmax after trilinear interpolation). The series' intensities are not kept:
 * a caller that drops its reference after the call frees them before the window loop's
 * accumulator is filled. Errors: as `normalizeVolume`, `resampleTrilinear` and `slidingWindow`.
 */
export async function segmentVolume(
  input: VolumeSegmentationInput,
  model: VolumeModelSpec,
  runPatch: RunPatch,
  opts: Omit<SlidingWindowOptions, 'classes'>,
): Promise<VolumeSegmentation> {
  const classes = model.values.length + 1;
  const modelShape = shapeAtSpacing(input.shape, input.spacing, model.spacing);
  const resampled = resampleTrilinear(input.values, input.shape, modelShape);
  const normalised = normalizeVolume(resampled, input.modality, resampled);
  const probabilities = await slidingWindow(normalised, modelShape, runPatch, { ...opts, classes });
  const entropy = entropyVolume(probabilities, classes);
  let sum = 0;
  for (const e of entropy) sum += e;
  return {
    labeler: new VolumeLabeler(probabilities, entropy, classes, modelShape, input.shape, model.values),
    modelShape,
    entropy: sum / entropy.length,
  };
}
