// The `tasks` service: what a label map means. A task is a name, what it applies to (the rule
// model.json's `domain` uses), an ordered list of labels (value, name, colour, SEG codes) and
// its own line of model versions with at most one active. Labels are never renumbered: a
// retired label keeps its value reserved, so every stored label map keeps its meaning.
import { z } from 'zod';
import { codedConceptSchema, type CatalogueEntry } from '../model/codes';
import { MODEL_KINDS, modelDomainSchema } from '../model/manifest';

export { MODEL_KINDS, type ModelKind } from '../model/manifest';
import type { ModelKind } from '../model/manifest';

/** Largest label value a task may use (255 marks "not labelled" in staged training masks). */
export const MAX_LABEL_VALUE = 254;

const colour = z.string().regex(/^#[0-9a-f]{6}$/, 'a colour as #rrggbb (lower case)');
const taskName = z.string().trim().min(1, 'a task needs a name').max(64);
const labelName = z.string().trim().min(1, 'a label needs a name').max(64);

export interface TaskLabel {
  /** The pixel value in every label map of this task (1…254); never reused or renumbered. */
  value: number;
  name: string;
  colour: string;
  /** Segmented Property Category Code Sequence (0062,0003). */
  category: z.infer<typeof codedConceptSchema>;
  /** Segmented Property Type Code Sequence (0062,000F). */
  type: z.infer<typeof codedConceptSchema>;
  /** When the label was retired (its value stays reserved); null while in use. */
  retiredAt: string | null;
}

export interface Task {
  id: number;
  name: string;
  domain: z.infer<typeof modelDomainSchema>;
  modelKind: ModelKind;
  /** Every label ever added, in value order, retired ones included (marked). */
  labels: TaskLabel[];
  /** The task's active model version (models registry id), or null before its first model. */
  activeVersionId: number | null;
  versionCount: number;
  createdAt: string;
  /** The PACS endpoint (dicomweb.listEndpoints) every submitted label of the task is sent to as a SEG; null: none. */
  pacsPushEndpointId: number | null;
}

/** A label as the reader defines it: codes picked from the catalogue, or left out for local ones. */
const newLabel = z
  .object({
    name: labelName,
    colour: colour.optional(),
    category: codedConceptSchema.optional(),
    type: codedConceptSchema.optional(),
  })
  .strict();

const id = z.number().int().positive();

export const tasksMethods = {
  list: z.undefined(),
  get: z.object({ id }).strict(),
  create: z
    .object({
      name: taskName,
      domain: modelDomainSchema,
      modelKind: z.enum(MODEL_KINDS).optional(),
      labels: z.array(newLabel).min(1, 'a task needs at least one label').max(MAX_LABEL_VALUE),
    })
    .strict(),
  rename: z.object({ id, name: taskName }).strict(),
  setDomain: z.object({ id, domain: modelDomainSchema }).strict(),
  /**
   * Changes the kind of model the task trains. Only before the task's first model version and
   * while none of its training runs is queued or running: a fine-tune continues from the active
   * version's weights, so every version trained here continues the task's kind (ServiceError
   * 'conflict' otherwise; a model of another kind needs a new task with the same labels).
   */
  setModelKind: z.object({ id, modelKind: z.enum(MODEL_KINDS) }).strict(),
  /** Adds a label with the next unused value (after every label ever added, retired ones too). */
  addLabel: z.object({ id, label: newLabel }).strict(),
  /** Changes a label's name, colour or codes; its value never changes. */
  updateLabel: z
    .object({
      id,
      value: z.number().int().min(1).max(MAX_LABEL_VALUE),
      name: labelName.optional(),
      colour: colour.optional(),
      category: codedConceptSchema.optional(),
      type: codedConceptSchema.optional(),
    })
    .strict(),
  /** Retires a label: no longer painted or trained; its value stays reserved and old maps keep it. */
  retireLabel: z.object({ id, value: z.number().int().min(1).max(MAX_LABEL_VALUE) }).strict(),
  /** The shipped list of SNOMED CT structures to pick codes from. */
  catalogue: z.undefined(),
} as const;

export interface TasksService {
  list(): Promise<Task[]>;
  get(input: z.input<typeof tasksMethods.get>): Promise<Task>;
  create(input: z.input<typeof tasksMethods.create>): Promise<Task>;
  rename(input: z.input<typeof tasksMethods.rename>): Promise<Task>;
  setDomain(input: z.input<typeof tasksMethods.setDomain>): Promise<Task>;
  setModelKind(input: z.input<typeof tasksMethods.setModelKind>): Promise<Task>;
  addLabel(input: z.input<typeof tasksMethods.addLabel>): Promise<Task>;
  updateLabel(input: z.input<typeof tasksMethods.updateLabel>): Promise<Task>;
  retireLabel(input: z.input<typeof tasksMethods.retireLabel>): Promise<Task>;
  catalogue(): Promise<readonly CatalogueEntry[]>;
}

/** Default colours of values 1…8 (the viewer's segment colours); later values cycle. */
export const LABEL_COLOURS = ['#ff5a5a', '#4fc3ff', '#7ee07e', '#ffb84d', '#c58cff', '#ff7fd0', '#5ee6d0', '#f0e05a'] as const;

export function defaultColour(value: number): string {
  return LABEL_COLOURS[(value - 1) % LABEL_COLOURS.length]!;
}

/** How the reader sees each kind: its short name and what it means for labelling and training. */
export const MODEL_KIND_TEXT: Record<ModelKind, { name: string; means: string }> = {
  '2d': {
    name: '2D',
    means: 'Segments each image or slice on its own. Works for every modality; learns from every labelled image.',
  },
  '2.5d': {
    name: '2.5D',
    means:
      'Segments each slice of a volume with its two neighbours as context. Needs CT or MR series; learns from every labelled slice.',
  },
  '3d': {
    name: '3D',
    means:
      'Segments a whole volume at once and learns from sparsely labelled slices: label every k-th slice (say every 8th), ' +
      'the slices in between are not taken as background. Needs volumes — CT or MR series with at least 32 slices — ' +
      'and trains more slowly on a computer without a GPU.',
  },
};

/** Fewest slices a series needs for a 3D model to learn from it or segment it (the smallest patch depth). */
export const MIN_VOLUME_SLICES = 32;

/** The labels a reader may paint and a model is trained on (not retired). */
export function activeLabels(task: Pick<Task, 'labels'>): TaskLabel[] {
  return task.labels.filter((l) => l.retiredAt === null);
}
