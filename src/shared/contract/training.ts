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
  cases: GateCase[];
  provider: string;
  ttaFlips: 0 | 2 | 4;
  finishedAt: string;
}

export interface TrainingRun {
  id: number;
  status: TrainingRunStatus;
  parentVersionId: number;
  candidateVersionId: number | null;
  hyperparameters: Record<string, unknown>;
  trainingLabels: number;
  validationLabels: number;
  curve: TrainingCurvePoint[];
  /** The gate's comparison of the candidate with its parent, once it has run. */
  gate: GateResult | null;
  /** The same comparison on the reference set of the parent's own domain, once it has run. */
  referenceGate: GateResult | null;
  /** Why the gate could not run (the candidate stays registered, unproven). */
  gateError: string | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

export const trainingMethods = {
  /** Queues a fine-tuning run of the active model on every current, non-excluded label. */
  start: z
    .object({
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
  /** The retraining queue: current labels no running or finished run has trained on yet. */
  queue: z
    .object({ limit: z.number().int().min(1).max(5000).default(500) })
    .strict()
    .prefault({}),
} as const;

export interface TrainingService {
  start(input?: z.input<typeof trainingMethods.start>): Promise<TrainingRun>;
  cancel(input: z.input<typeof trainingMethods.cancel>): Promise<TrainingRun>;
  list(): Promise<TrainingRun[]>;
  queue(input?: z.input<typeof trainingMethods.queue>): Promise<TrainingQueue>;
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
