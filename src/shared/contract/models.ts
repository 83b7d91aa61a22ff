// The `models` service: the registry of model versions (shipped and fine-tuned), one active.
import { z } from 'zod';
import { modelDims, volumeModelInput, type ModelDomain, type ModelManifest, type SegmentationMetrics } from '../model/manifest';
import type { ModelKind } from './tasks';

export type ModelStatus = 'active' | 'candidate' | 'archived';

export interface ModelVersionInfo {
  id: number;
  /** The task whose line of versions this is (tasks service); at most one active per task. */
  taskId: number;
  /** What the version applies to: its task's domain (every version inherits its task's). */
  domain?: ModelDomain;
  modelId: string;
  name: string;
  version: string;
  parent: string | null;
  status: ModelStatus;
  builtin: boolean;
  createdAt: string;
  inputSize: [number, number];
  /** How the version reads a series (model.json: architecture.dims 3 → '3d', input.channelMode 'adjacent' → '2.5d'). */
  kind: ModelKind;
  /** A 3D version's patch in voxels [slice, row, column] (model.json input.patch); absent for 2D. */
  patch?: [number, number, number];
  /** A 3D version's voxel spacing in mm [slice, row, column] it resamples every series to (input.spacing). */
  spacing?: [number, number, number];
  labels: string[];
  trainingData: string;
  metrics: Record<string, SegmentationMetrics>;
}

const id = z.object({ id: z.number().int().positive() }).strict();

export const modelsMethods = {
  /** Every version, newest first; `taskId` keeps one task's line. */
  list: z.object({ taskId: z.number().int().positive().optional() }).strict().optional(),
  /** Makes a version its task's active one (promote, or roll back); other tasks' active versions stay. */
  activate: id,
  /** Copies a version to a new folder (model.json, model.onnx, weights.pt, its sets). */
  exportVersion: z.object({ id: z.number().int().positive(), folder: z.string().min(1).max(4096) }).strict(),
  /** Registers a copy of a version folder from elsewhere as a candidate. */
  importVersion: z.object({ folder: z.string().min(1).max(4096), taskId: z.number().int().positive().optional() }).strict(),
  /** The learning curve shipped with a version, or with its nearest ancestor that has one. */
  learningCurve: id,
} as const;

/**
 * A recipe's learning curve (`learning-curve.json` beside model.json, written by
 * resources/trainer/scripts/learning_curve.py): mean held-out Dice on the shifted and the base
 * domain after fine-tuning on n labelled images (n = 0: the version itself).
 */
export const learningCurveSchema = z.object({
  format: z.literal('lgms-learning-curve/1'),
  model: z.string(),
  metric: z.string(),
  recipe: z.string(),
  data: z.string(),
  points: z
    .array(z.object({ n: z.number().int().nonnegative(), shifted: z.number().min(0).max(1), base: z.number().min(0).max(1) }))
    .min(1),
});
export type LearningCurve = z.infer<typeof learningCurveSchema>;

/**
 * The kind, patch and spacing a model.json declares (SPEC3D, issue 25): `architecture.dims` 3 is
 * a 3D version with `input.patch` [D, H, W] voxels at `input.spacing` [slice, row, column] mm;
 * `input.channelMode` 'adjacent' is 2.5D; anything else 2D. Fields a manifest lacks are left out.
 */
export function manifestGeometry(
  m: Pick<ModelManifest, 'architecture' | 'input'>,
): Pick<ModelVersionInfo, 'kind' | 'patch' | 'spacing'> {
  const volume = volumeModelInput(m);
  if (volume) return { kind: '3d', patch: volume.patch, spacing: volume.spacing };
  return { kind: modelDims(m) === 3 ? '3d' : m.input.channelMode === 'adjacent' ? '2.5d' : '2d' };
}

export interface ModelsService {
  list(input?: z.input<typeof modelsMethods.list>): Promise<ModelVersionInfo[]>;
  activate(input: z.input<typeof modelsMethods.activate>): Promise<ModelVersionInfo>;
  exportVersion(input: z.input<typeof modelsMethods.exportVersion>): Promise<{ folder: string }>;
  importVersion(input: z.input<typeof modelsMethods.importVersion>): Promise<ModelVersionInfo>;
  /** Null when no version in the chain ships one; `corrupt` when the file does not match its schema. */
  learningCurve(input: z.input<typeof modelsMethods.learningCurve>): Promise<LearningCurve | null>;
}
