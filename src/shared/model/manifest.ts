// model.json: the description that travels with every model version (one folder per version:
// model.onnx for inference, weights.pt for fine-tuning, model.json). Written by the trainer,
// validated here before the app trusts a folder.
import { z } from 'zod';
import { codedConceptSchema } from './codes';
import { inputStatisticsSchema } from './input-statistics';

const metrics = z.object({
  dice: z.number().min(0).max(1),
  iou: z.number().min(0).max(1),
  sensitivity: z.number().min(0).max(1),
  precision: z.number().min(0).max(1),
  n: z.number().int().nonnegative(),
});
export type SegmentationMetrics = z.infer<typeof metrics>;

export const normalizationSchema = z.discriminatedUnion('type', [
  /** (x − min) / (max − min), clipped to [0, 1]: 8-bit images. */
  z.object({ type: z.literal('scale'), min: z.number(), max: z.number() }).refine((n) => n.max > n.min, 'max must exceed min'),
  /** (x − (center − width/2)) / width, clipped: CT-style windows in modality units. */
  z.object({ type: z.literal('window'), center: z.number(), width: z.number().positive() }),
  /** Per image: the low..high percentiles map to 0..1, clipped. MR and ultrasound of unknown range. */
  z
    .object({ type: z.literal('percentile'), low: z.number().min(0).max(100), high: z.number().min(0).max(100) })
    .refine((n) => n.high > n.low, 'high must exceed low'),
]);
export type Normalization = z.infer<typeof normalizationSchema>;

/** The series a model is meant for (DICOM Modality (0008,0060), Photometric Interpretation (0028,0004)). */
export const modelDomainSchema = z.object({
  modalities: z.array(z.string().regex(/^[A-Z]{2,16}$/, 'a DICOM modality code such as US or CT')).min(1),
  photometric: z.array(z.enum(['MONOCHROME1', 'MONOCHROME2', 'RGB', 'PALETTE COLOR', 'YBR_FULL', 'YBR_FULL_422'])).min(1),
  /** Free text for the reader, e.g. "breast". */
  bodyPart: z.string().max(200),
});
export type ModelDomain = z.infer<typeof modelDomainSchema>;

/** How a task's model reads a series: one slice, three adjacent slices as channels, or the volume. */
export const MODEL_KINDS = ['2d', '2.5d', '3d'] as const;
export type ModelKind = (typeof MODEL_KINDS)[number];

/** One label of the task a model.json names (`task.labels`): its value, name and, optionally, colour and SEG codes. */
const manifestTaskLabelSchema = z
  .object({
    value: z.number().int().min(1).max(254),
    name: z.string().trim().min(1).max(64),
    colour: z
      .string()
      .regex(/^#[0-9a-f]{6}$/i)
      .optional(),
    category: codedConceptSchema.optional(),
    type: codedConceptSchema.optional(),
  })
  .passthrough();

const multipleOf32 = z.number().int().positive().multipleOf(32);

export const modelManifestSchema = z
  .object({
    format: z.literal('lgms-model/1'),
    id: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/, 'id: letters, digits, . _ - (a folder name)'),
    name: z.string().min(1).max(200),
    version: z.string().min(1).max(64),
    parent: z.string().nullable(),
    created: z.string().refine((s) => !Number.isNaN(Date.parse(s)), 'created: an ISO-8601 date'),
    architecture: z.object({
      name: z.literal('LGMSNet'),
      inChannels: z.number().int().positive(),
      classes: z.number().int().positive(),
      parameters: z.number().int().positive(),
      /** 2 (absent) or 3: a 3D network takes N×1×D×H×W patches and segments a series as one volume (issue 25). */
      dims: z.union([z.literal(2), z.literal(3)]).optional(),
      /** Blocks per stage, as the trainer built the network (informative: the ONNX graph is what runs). */
      depths: z.array(z.number().int().nonnegative()).optional(),
    }),
    input: z.object({
      channels: z.number().int().positive(),
      size: z.tuple([multipleOf32, multipleOf32]),
      /**
       * How a slice fills the input channels: `replicate` the grey slice in each, `rgb` colour
       * samples as channels, `adjacent` (2.5D, issue 22) slices z−1, z, z+1 of a volume series in
       * position order (the edge slice repeated at either end; a lone image repeats itself).
       */
      channelMode: z.enum(['replicate', 'rgb', 'adjacent']),
      resize: z.literal('letterbox'),
      normalization: normalizationSchema,
      /** A 3D model's training patch [D, H, W] in voxels (multiples of 32): the sliding window's size. */
      patch: z.tuple([multipleOf32, multipleOf32, multipleOf32]).optional(),
      /** A 3D model's voxel spacing [slice, row, column] in mm: a series is resampled to it before the windows. */
      spacing: z.tuple([z.number().positive(), z.number().positive(), z.number().positive()]).optional(),
    }),
    /**
     * What the network's output channels mean. `sigmoid`: one channel per label, foreground where
     * the probability exceeds `threshold` (the starter's binary lesion). `softmax`: channel 0 is
     * background and channel k (1…n) is `labels[k−1]`, painted as label value `values[k−1]`
     * (default k) in the task's label maps; the mask is the argmax (issue 22).
     */
    output: z.object({
      classes: z.number().int().positive(),
      labels: z.array(z.string().min(1)).min(1),
      activation: z.enum(['sigmoid', 'softmax']),
      threshold: z.number().gt(0).lt(1).optional(),
      values: z.array(z.number().int().min(1).max(254)).optional(),
    }),
    /**
     * The task the version was trained for, as the trainer received it (name, domain, labels with
     * colours and codes). A model shipped in resources/models that is not the breast-lesion
     * starter's also gives the task's `uid` (32 lower-case hex digits, the same on every
     * workstation) and `modelKind`: at the first start the registry creates that task from this
     * and registers the model under it (registry.ts `builtinTask`).
     */
    task: z
      .object({
        name: z.string().trim().min(1).max(200),
        uid: z
          .string()
          .regex(/^[0-9a-f]{32}$/, 'uid: 32 lower-case hexadecimal digits')
          .optional(),
        modelKind: z.enum(MODEL_KINDS).optional(),
        labels: z.array(manifestTaskLabelSchema).optional(),
      })
      .passthrough()
      .optional(),
    files: z.object({ onnx: z.string().min(1), weights: z.string().min(1).optional() }),
    training: z
      .object({
        data: z.string(),
        command: z.string(),
        seed: z.number().int(),
      })
      .passthrough(),
    metrics: z.record(z.string(), metrics),
    trainerVersion: z.string(),
    /**
     * What the model is for: only series that match are segmented automatically (others on
     * request, after the user confirms). Absent in older folders: every series matches.
     */
    domain: modelDomainSchema.optional(),
    /**
     * Labelled images of the model's own domain shipped in its folder (`dir`/images + `dir`/masks,
     * same file names), on which the registry gate compares a fine-tuned candidate with this
     * model, so forgetting shows (issue 12). Absent: the nearest ancestor's set is used.
     */
    referenceSet: z
      .object({
        dir: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a plain folder name inside the model folder'),
        description: z.string(),
      })
      .passthrough()
      .optional(),
    /**
     * The input histogram of the images the model is meant for (src/shared/model/input-statistics.ts):
     * a series whose slices fall outside it is shown as unlike the training images, whatever the
     * model's uncertainty (issue 21). Absent: the nearest ancestor's is used; none at all, no signal.
     */
    inputStatistics: inputStatisticsSchema.optional(),
  })
  .superRefine((m, ctx) => {
    const o = m.output;
    if (o.activation === 'sigmoid') {
      if (o.labels.length !== o.classes)
        ctx.addIssue({ code: 'custom', path: ['output', 'labels'], message: 'one label per class' });
      if (o.threshold === undefined)
        ctx.addIssue({ code: 'custom', path: ['output', 'threshold'], message: 'a sigmoid output needs a threshold' });
    } else if (o.labels.length + 1 !== o.classes) {
      ctx.addIssue({
        code: 'custom',
        path: ['output', 'labels'],
        message: 'a softmax output has one label per class after the background',
      });
    }
    if (o.values && (o.values.length !== o.labels.length || new Set(o.values).size !== o.values.length))
      ctx.addIssue({ code: 'custom', path: ['output', 'values'], message: 'one distinct label value per label' });
    if (m.input.channels !== m.architecture.inChannels)
      ctx.addIssue({ code: 'custom', path: ['input', 'channels'], message: 'must equal architecture.inChannels' });
    if (m.output.classes !== m.architecture.classes)
      ctx.addIssue({ code: 'custom', path: ['output', 'classes'], message: 'must equal architecture.classes' });
    if (m.architecture.dims === 3) {
      // A 3D model (issue 25, docs SPEC3D): one grey channel, softmax classes, and the window and grid it was trained on.
      if (!m.input.patch)
        ctx.addIssue({ code: 'custom', path: ['input', 'patch'], message: 'a 3D model needs its patch [D, H, W]' });
      if (!m.input.spacing)
        ctx.addIssue({
          code: 'custom',
          path: ['input', 'spacing'],
          message: 'a 3D model needs its spacing [slice, row, column] in mm',
        });
      if (m.input.channels !== 1)
        ctx.addIssue({ code: 'custom', path: ['input', 'channels'], message: 'a 3D model takes one channel' });
      if (m.output.activation !== 'softmax')
        ctx.addIssue({ code: 'custom', path: ['output', 'activation'], message: 'a 3D model has a softmax output' });
    }
    for (const [key, file] of Object.entries(m.files)) {
      if (file && (file.includes('/') || file.includes('\\') || file.startsWith('.'))) {
        ctx.addIssue({ code: 'custom', path: ['files', key], message: 'a plain file name inside the model folder' });
      }
    }
  });

export type ModelManifest = z.infer<typeof modelManifestSchema>;

/** The probability threshold of a sigmoid output (0.5 when a softmax model is asked). */
export function outputThreshold(m: Pick<ModelManifest, 'output'>): number {
  return m.output.threshold ?? 0.5;
}

/** The label value each foreground output class paints: `values`, else 1…n. */
export function outputValues(m: Pick<ModelManifest, 'output'>): number[] {
  return m.output.values ?? m.output.labels.map((_, i) => i + 1);
}

/** The network's spatial dimensions: 3 for a volume model, else 2. */
export function modelDims(m: Pick<ModelManifest, 'architecture'>): 2 | 3 {
  return m.architecture.dims === 3 ? 3 : 2;
}

/** What a 3D model needs to segment a volume. */
export interface VolumeModelInput {
  /** Sliding-window patch [D, H, W], voxels. */
  patch: [number, number, number];
  /** The model's voxel spacing [slice, row, column], mm. */
  spacing: [number, number, number];
}

/**
 * A 3D model's patch and spacing (model.json `input.patch`, `input.spacing`); null for a 2D
 * model. A parsed 3D manifest always has both (the schema's refine).
 */
export function volumeModelInput(m: Pick<ModelManifest, 'architecture' | 'input'>): VolumeModelInput | null {
  if (modelDims(m) !== 3 || !m.input.patch || !m.input.spacing) return null;
  return { patch: [...m.input.patch], spacing: [...m.input.spacing] };
}

/** Parses untrusted JSON text into a manifest, or a list of readable problems. */
export function parseModelManifest(text: string): { ok: true; manifest: ModelManifest } | { ok: false; problems: string[] } {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    return { ok: false, problems: [`model.json is not JSON: ${(e as Error).message}`] };
  }
  const parsed = modelManifestSchema.safeParse(raw);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  return { ok: false, problems: parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`) };
}
