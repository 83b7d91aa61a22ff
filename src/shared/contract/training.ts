// The `training` service: fine-tuning runs of the active model on the submitted labels, and the
// JSON-lines events of the Python trainer (resources/trainer, README "Events"), which the
// backend checks line by line against `trainerEventSchema` before anything else reads them.
import { z } from 'zod';

const finite = z.number().finite();
const ratio = z.number().min(0).max(1);

/** `start`: once, after the images are loaded. */
const startEvent = z.object({
  event: z.literal('start'),
  trainImages: z.number().int().positive(),
  valImages: z.number().int().nonnegative(),
  batchSize: z.number().int().positive(),
  stepsPerEpoch: z.number().int().positive(),
  /** null when only a time limit bounds the run. */
  maxSteps: z.number().int().positive().nullable(),
  device: z.string(),
  size: z.tuple([z.number().int().positive(), z.number().int().positive()]),
  optimizer: z.string(),
  lr: finite,
  seed: z.number().int(),
  threads: z.number().int().positive(),
  /** What protects the parent's domain: replay, L2-SP anchor, frozen batch-norm statistics. */
  recipe: z.string(),
  replayImages: z.number().int().nonnegative(),
  replayPerBatch: z.number().int().nonnegative(),
});

/** `step`: after every optimiser step. */
const stepEvent = z.object({
  event: z.literal('step'),
  step: z.number().int().positive(),
  epoch: z.number().int().positive(),
  loss: finite,
  lr: finite,
  /** Seconds left; −1 when no bound is known. */
  etaSeconds: finite,
  stepSeconds: finite,
});

/** `epoch`: after each validation (every `--val-every` epochs and at the end). */
const epochEvent = z.object({
  event: z.literal('epoch'),
  epoch: z.number().int().nonnegative(),
  step: z.number().int().nonnegative(),
  valDice: ratio,
  valIou: ratio,
  valSensitivity: ratio,
  valPrecision: ratio,
  valN: z.number().int().nonnegative(),
  bestDice: ratio,
  bestEpoch: z.number().int().nonnegative(),
  /** ‖w − w_parent‖₂ over all trainable parameters. */
  parentDistance: finite.nonnegative(),
  elapsedSeconds: finite.nonnegative(),
});

const metricsSchema = z.object({
  dice: ratio,
  iou: ratio,
  sensitivity: ratio,
  precision: ratio,
  n: z.number().int().nonnegative(),
});

const doneEvent = z.object({
  event: z.literal('done'),
  metrics: z.object({ validation: metricsSchema }),
  /** Absolute path of the committed model folder. */
  out: z.string(),
});
const errorEvent = z.object({ event: z.literal('error'), message: z.string() });
const cancelledEvent = z.object({ event: z.literal('cancelled') });

export const trainerEventSchema = z.discriminatedUnion('event', [
  startEvent,
  stepEvent,
  epochEvent,
  doneEvent,
  errorEvent,
  cancelledEvent,
]);
export type TrainerEvent = z.infer<typeof trainerEventSchema>;
export type TrainerStepEvent = z.infer<typeof stepEvent>;
export type TrainerEpochEvent = z.infer<typeof epochEvent>;

export const TRAINING_RUN_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;
export type TrainingRunStatus = (typeof TRAINING_RUN_STATUSES)[number];

/** One point of a run's curve: a step (loss) or a validation (Dice). */
export type TrainingCurvePoint =
  { kind: 'step'; step: number; loss: number } | { kind: 'validation'; step: number; dice: number };

export interface GateCase {
  /** The label and image compared; 0 for a reference-set case, which is a file, not a database row. */
  labelId: number;
  imageId: number;
  /** A reference-set case's image file name (set = 'reference'). */
  name?: string;
  candidateDice: number;
  parentDice: number;
  /**
   * Whether the label can grade the parent (src/shared/model/gate.ts, independentOfParent): false
   * for the parent's own prediction accepted unchanged. Absent in gates stored before issue 21.
   */
  independent?: boolean;
  /** A task's multi-label line: Dice per label value of candidate and parent (cases where the label is in the truth or a prediction). */
  candidateByLabel?: Record<number, number>;
  parentByLabel?: Record<number, number>;
}

/** One label's comparison in a multi-label gate: candidate vs parent on the cases that show the label. */
export interface GateLabelComparison {
  value: number;
  name: string;
  n: number;
  meanCandidate: number;
  meanParent: number;
  meanDifference: number;
  ci95: [number, number];
  verdict: 'better' | 'no-evidence' | 'worse';
}

/**
 * The gate of a task's first model (no parent to compare with): each label's validation Dice
 * with its bootstrap 95 % interval, and the mean over labels. Promotion still asks the reader.
 */
export interface FirstModelGate {
  kind: 'first-model';
  set: 'validation';
  n: number;
  /** Mean over cases of the per-case mean Dice over labels, with its bootstrap interval. */
  meanCandidate: number;
  ci95: [number, number];
  perLabel: { value: number; name: string; n: number; mean: number; ci95: [number, number] }[];
  cases: { labelId: number; imageId: number; candidateDice: number; candidateByLabel: Record<number, number> }[];
  provider: string;
  ttaFlips: 0 | 2 | 4;
  finishedAt: string;
}

/** The registry gate (src/main/training/gate.ts): candidate vs parent on the same frozen cases. */
export interface GateResult {
  /** validation: the run's frozen validation labels; reference: the parent's own-domain set shipped with the model (forgetting). */
  set: 'validation' | 'reference';
  /** Every case compared. */
  n: number;
  /**
   * Cases independent of the parent; the means, interval and verdict are theirs (all cases' when
   * none is). Absent in gates stored before issue 21 (every case counted).
   */
  independent?: number;
  /** What the cases are, in words: the validation images' modality and series description with counts, or the reference set's description. */
  domain?: string;
  meanCandidate: number;
  meanParent: number;
  /** Mean of candidate − parent Dice per case. */
  meanDifference: number;
  /** Paired percentile bootstrap 95 % interval of the mean difference. */
  ci95: [number, number];
  /** too-few: fewer than MIN_INDEPENDENT_CASES independent cases (src/shared/model/gate.ts), no verdict. */
  verdict: 'better' | 'no-evidence' | 'worse' | 'too-few';
  /**
   * A task's multi-label line: each label's comparison; the fields above then compare the
   * per-case mean over labels (the verdict is the mean over labels').
   */
  perLabel?: GateLabelComparison[];
  cases: GateCase[];
  provider: string;
  ttaFlips: 0 | 2 | 4;
  finishedAt: string;
}

/** Where an adopted version came from (modelShare.adopt): the row records its local gate, nothing was trained here. */
export interface AdoptedFrom {
  /** The version's content hash on the shared folder (src/main/models/content-hash.ts). */
  contentHash: string;
  publishedBy: string;
  workstation: string;
  publishedAt: string;
}

export interface TrainingRun {
  id: number;
  status: TrainingRunStatus;
  /** The task the run trains (its labels, its line of versions). */
  taskId: number;
  /** The version fine-tuned; null for a task's first model (cold start). */
  parentVersionId: number | null;
  /** A first model: initialised from the starter's weights (head replaced) or from scratch; null for a fine-tune. */
  init: 'starter' | 'scratch' | null;
  candidateVersionId: number | null;
  hyperparameters: Record<string, unknown>;
  trainingLabels: number;
  validationLabels: number;
  curve: TrainingCurvePoint[];
  /** The gate's comparison of the candidate with its parent, once it has run. */
  gate: GateResult | null;
  /** A first model's gate (per-label validation Dice, no parent), once it has run. */
  firstModelGate: FirstModelGate | null;
  /** The same comparison on the reference set of the parent's own domain, once it has run. */
  referenceGate: GateResult | null;
  /** Why the gate could not run (the candidate stays registered, unproven). */
  gateError: string | null;
  /** Set when the row records the gate of a version adopted from the shared folder (no training ran). */
  adoptedFrom: AdoptedFrom | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const trainingMethods = {
  /**
   * Queues a run of a task (default: the starter task) on its current, non-excluded labels:
   * a fine-tune of its active version, or its first model when it has none (`init`: the
   * starter's weights with the head replaced, default, or scratch). Labels from series outside
   * the task's applicability are refused (the error names the series) unless `confirmSeriesIds`
   * names every one of them.
   */
  start: z
    .object({
      taskId: z.number().int().positive().optional(),
      init: z.enum(['starter', 'scratch']).optional(),
      confirmSeriesIds: z.array(z.number().int().positive()).max(10_000).optional(),
      /** Square input size of a first model (multiple of 32); default the starter's. */
      size: z.number().int().min(32).max(1024).multipleOf(32).optional(),
      batchSize: z.number().int().min(1).max(256).optional(),
      maxSteps: z.number().int().min(1).max(100_000).optional(),
      timeLimitSeconds: z
        .number()
        .positive()
        .max(7 * 24 * 3600)
        .optional(),
    })
    .strict()
    .optional(),
  cancel: z.object({ id: z.number().int().positive() }).strict(),
  list: z.undefined(),
  /** A task's retraining queue (default: the starter task): current labels no running or finished run of it has trained on yet. */
  queue: z
    .object({ limit: z.number().int().min(1).max(5000).default(500), taskId: z.number().int().positive().default(1) })
    .strict()
    .prefault({}),
  /** Whether a task without a model can train its first one (the Training view's "Train the first model"). */
  firstModel: z.object({ taskId: z.number().int().positive() }).strict(),
} as const;

/** Labelled images a task needs, from at least FIRST_MODEL_MIN_SERIES series, before its first model (issue 22). */
export const FIRST_MODEL_MIN_IMAGES = 8;
export const FIRST_MODEL_MIN_SERIES = 2;
/**
 * A first model trains for this many seconds (loading, training and validation; the export
 * adds a few) or FIRST_MODEL_MAX_STEPS steps, whichever comes first: on a 2-core CPU ten minutes
 * give ~370 steps of batch 8 at 128×128 when idle (docs/benchmarks.md, tests/bench/new-task.ts).
 */
export const FIRST_MODEL_TIME_LIMIT_SECONDS = 600;
export const FIRST_MODEL_MAX_STEPS = 2000;

export interface FirstModelStatus {
  taskId: number;
  /** The task already has a version (active or candidate): its next run fine-tunes instead. */
  hasModel: boolean;
  /** Current, non-excluded labelled images of the task with a frozen split, and their series. */
  labelledImages: number;
  series: number;
  training: number;
  validation: number;
  /** "Train the first model" can be offered. */
  ready: boolean;
  /** Why not, in the reader's words; null when ready. */
  reason: string | null;
}

export interface TrainingService {
  start(input?: z.input<typeof trainingMethods.start>): Promise<TrainingRun>;
  cancel(input: z.input<typeof trainingMethods.cancel>): Promise<TrainingRun>;
  list(): Promise<TrainingRun[]>;
  queue(input?: z.input<typeof trainingMethods.queue>): Promise<TrainingQueue>;
  firstModel(input: z.input<typeof trainingMethods.firstModel>): Promise<FirstModelStatus>;
}

/** One image's current label waiting to be trained on, with its patient's frozen split. */
export interface TrainingQueueItem {
  labelId: number;
  imageId: number;
  seriesId: number;
  split: 'training' | 'validation';
  origin: 'accepted' | 'edited' | 'drawn' | 'imported';
  createdAt: string;
  /** Excluded from training by the user (review.setExcluded); kept labelled. */
  excluded: boolean;
  patientName: string;
  patientId: string;
  modality: string;
  seriesDescription: string;
  instanceNumber: number | null;
}

export interface TrainingQueue {
  taskId: number;
  /** Newest first, at most `limit`. */
  items: TrainingQueueItem[];
  /** Not excluded, not yet used by a running or finished run ("new since the last run"). */
  newTraining: number;
  newValidation: number;
  excluded: number;
  /** When the last run that trained (running or done) was created; null before any. */
  lastRunAt: string | null;
}

/** Parses one stdout line of the trainer; null for a line that is not a known event. */
export function parseTrainerLine(line: string): TrainerEvent | null {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return null;
  }
  const parsed = trainerEventSchema.safeParse(value);
  return parsed.success ? parsed.data : null;
}
