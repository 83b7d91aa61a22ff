// The `training` service: one fine-tuning run at a time, from the active version's weights.pt,
// on the current labels with their frozen splits. The trainer is a child process (resources/
// trainer) or a Slurm batch job (launcher.ts, slurm.ts: Settings → Slurm cluster); its JSON
// lines are checked against the contract's schema and forwarded as events.
// Runs belong to a task (issue 22): a task's labels train only its own line of versions; a task
// without a model trains its first one (cold start) from the starter's weights with the head
// replaced, or from scratch; labels from series outside the task's applicability enter only
// when the request names those series.
// A run never leaves a half-model: the trainer writes under temporary names and renames
// model.json in last; anything short of a registered candidate has its folder removed, here
// when the process ends, or at the next start when the backend itself died (recover()).
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Events, TrainerStatus } from '../../shared/contract';
import {
  type AdoptedFrom,
  FIRST_MODEL_MAX_STEPS,
  FIRST_MODEL_MIN_IMAGES,
  FIRST_MODEL_MIN_SERIES,
  FIRST_MODEL_TIME_LIMIT_SECONDS,
  parseTrainerLine,
  type FirstModelGate,
  type FirstModelStatus,
  type GateResult,
  type TrainerEvent,
  type TrainingCurvePoint,
  type TrainingRun,
  type TrainingRunStatus,
  type TrainingQueue,
  type TrainingService,
  trainingMethods,
} from '../../shared/contract/training';
import type { Emitter } from '../../shared/events';
import { ServiceError } from '../../shared/result';
import type { z } from 'zod';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import { inheritDomain, readModelPackage } from '../models/package';
import { ownerGone } from '../process-alive';
import { applicability } from '../../shared/model/applicability';
import { modelDims, outputValues, volumeModelInput, type ModelManifest } from '../../shared/model/manifest';
import { STARTER_TASK_ID, type ModelRegistry, type ResolvedVersion } from '../models/registry';
import { readTask } from '../tasks/queries';
import { activeLabels, type Task } from '../../shared/contract/tasks';
import { runGate, runReferenceGate, type GateOptions } from './gate';
import { localLauncher, type ClusterJobRef, type TrainerExit, type TrainerJob, type TrainerLauncher } from './launcher';
import { labelMapFile, labelsForTraining, stageLabels, type LabelForTraining } from './stage';
import { trainingQueue } from './queue';
import {
  curveSaver,
  endedRunFolders,
  finishRun,
  insertAdoptedRun,
  insertQueuedRun,
  insertRunLabels,
  markRunning,
  nextQueuedRun,
  recordCandidate,
  runIds,
  runLabelCounts,
  busyRunOwners,
  runningRuns,
  runRow,
  setClusterJob,
  storedGate,
  trainingRecord,
  type GateColumn,
  type RunRow,
} from './queries';
import { trainRecipe, trainerArgv, type TrainRunInput } from './recipe';
import {
  DEFAULT_VOLUME_PATCH,
  FIRST_VOLUME_MODEL,
  labelledVolumes,
  medianSpacing,
  stageVolumes,
  volumeNormalization,
} from './stage-volume';
import type { SeriesVolume } from '../inference/volume-series';

/**
 * The recipe measured best in docs/benchmarks.md ("Fine-tuning without forgetting", third
 * session): a quarter of every batch of 8 replayed from the parent's own domain, an L2-SP anchor
 * of 0.3 toward the parent's weights, AdamW 1e-3 with poly decay, 120 steps, a validation every
 * ≥ 20 steps. On 16 shifted images, scored on 400 held-out images per domain (fourth session):
 * shifted Dice +0.123, +0.122, +0.122 over three seeds for −0.009, −0.007, −0.015 on the base
 * domain; through the app +0.121 [+0.099, +0.145] for −0.011. The issue asks +0.15 for ≤ 0.02:
 * not met, and 400 labels give only +0.131, so it is the model's ceiling on that domain, not the
 * recipe's. (Batches of 10 with 2 replayed and a weight average gave the same shifted gain for
 * twice the base cost and 1.3× the time.)
 */
export const DEFAULT_HYPERPARAMETERS = {
  maxSteps: 120,
  batchSize: 8,
  optimizer: 'adamw',
  lr: 1e-3,
  schedule: 'poly',
  replayFraction: 0.25,
  anchor: 0.3,
  freezeNorm: false,
  /** Decay of the weight average that is validated and saved (0 = the live weights). */
  ema: 0,
  /** Probability per image of a random gamma/contrast/depth-gain change. */
  appearance: 0,
  /** Largest relative zoom of the scale augmentation (0 = none). */
  zoom: 0,
  /** Left-right mirroring only (ultrasound keeps depth down) instead of all flips and 90° turns; none at all for a task whose labels have a side (recipe.ts). */
  mirrorOnly: false,
  /** Epochs between validations; 0 = the trainer's own interval (every ≥ 20 steps). */
  valEvery: 0,
  seed: 1,
} as const;

type Defaults = typeof DEFAULT_HYPERPARAMETERS;
/** A run's recipe: the defaults' keys, each number or switch free to take another value. */
export type Hyperparameters = {
  -readonly [K in keyof Defaults]: Defaults[K] extends number ? number : Defaults[K] extends boolean ? boolean : Defaults[K];
} & {
  timeLimitSeconds?: number;
  /** A first model: square input size (default the starter's). */
  size?: number;
  /** A first model: 'starter' (its weights, head replaced) or 'scratch'; absent for a fine-tune. */
  init?: 'starter' | 'scratch';
  /** Series outside the task's applicability the reader confirmed for this run. */
  confirmedSeriesIds?: number[];
  /** A first model after the task's labels changed: initialised from this version (its head replaced) instead of the starter. */
  initFromVersionId?: number;
  /** A first model after the task's model kind changed (2D ↔ 3D): the active version the gate compares it with. */
  gateParentVersionId?: number;
  /** A 3D first model's network width (the trainer's --width; a fine-tune keeps its parent's). */
  width?: number;
};

/**
 * A first model's recipe: no parent to protect (no replay, no anchor); ten minutes of training
 * (FIRST_MODEL_TIME_LIMIT_SECONDS) or FIRST_MODEL_MAX_STEPS steps, whichever comes first; left-right
 * mirroring only and a random scanner appearance (gamma, contrast, brightness, depth gain) on half
 * the images. Medical images are shown in a fixed orientation (an ultrasound's depth runs down, an
 * axial CT or MR has the patient's front up), so up-down flips and quarter turns only show the model
 * views it will never segment, out of the few hundred steps a first model gets; the appearance
 * change covers what differs between scanners and presets, which a task's first dozen labelled
 * images rarely span (tests/bench/new-task.ts, docs/benchmarks.md "firstmodel"). Initialisation
 * from the starter's weights (head replaced) is the default; scratch is the other choice.
 * A task whose labels have a side (right and left kidney, src/shared/model/laterality.ts) is not
 * mirrored at all, first model or fine-tune: recipe.ts sends the trainer's --no-flip instead.
 */
export const FIRST_MODEL_HYPERPARAMETERS = {
  maxSteps: FIRST_MODEL_MAX_STEPS,
  timeLimitSeconds: FIRST_MODEL_TIME_LIMIT_SECONDS,
  replayFraction: 0,
  anchor: 0,
  mirrorOnly: true,
  appearance: 0.5,
} as const;

export interface TrainingOptions {
  db: Database;
  dataDir: string;
  frames: FrameLoader;
  registry: ModelRegistry;
  events: Emitter<Events>;
  /** Resolves the Python with torch (Settings → LGMS_PYTHON → python3). */
  trainer: () => Promise<TrainerStatus>;
  /** resources/trainer. */
  trainerDir: string;
  /** Extra environment for the trainer (tests pin OMP threads). */
  env?: NodeJS.ProcessEnv;
  /** Where the gate's inference worker finds the database and store; no gate when absent. */
  gate?: Omit<GateOptions, 'db' | 'registry'>;
  /** Where the trainer runs, asked at each run (Settings → Slurm cluster); this workstation when absent. */
  launcher?: () => TrainerLauncher;
}

const RUNS_DIR = 'training';

export class TrainingMainService implements TrainingService {
  private job: TrainerJob | undefined;
  /** Runs whose batch job outlived the previous backend (recover()): followed before any queued run. */
  private readonly resuming: number[] = [];
  private draining: Promise<void> | undefined;
  private readonly waiters = new Map<number, (run: TrainingRun) => void>();
  private readonly gateErrors = new Map<number, string>();
  private closed = false;

  constructor(private readonly o: TrainingOptions) {}

  /**
   * At start: a run left 'running' by a process that died (kill -9, power cut) is marked
   * interrupted, its trainer is stopped if it outlived us, and its folder is removed. The
   * active model and the registry are untouched: a candidate is registered only after the
   * trainer committed it. Returns the ids marked interrupted.
   */
  recover(): number[] {
    // Runs of another live backend on this data folder (the app, while `lgms …` starts) are its own.
    const rows = runningRuns(this.o.db).filter((r) => ownerGone(r.owner_pid, r.started_at));
    for (const row of rows) {
      if (row.pid !== null) killOrphanTrainer(row.pid);
      if (row.candidate_version_id !== null) {
        // Died after registering its candidate (during the gate): the version is whole; only its gate is missing.
        finishRun(this.o.db, row.id, 'done', null);
        continue;
      }
      // A batch job outlives the backend: drain() follows it to its end by its stored id (execute → attach).
      if (row.cluster_job !== null && this.o.launcher?.().attach) {
        this.resuming.push(row.id);
        continue;
      }
      finishRun(this.o.db, row.id, 'interrupted', 'The app stopped while this run was training.');
    }
    // Folders of runs that are not running now and never produced a candidate.
    const keep = new Set(endedRunFolders(this.o.db, 'done').map((d) => path.resolve(this.o.dataDir, d)));
    const root = path.join(this.o.dataDir, RUNS_DIR);
    if (existsSync(root)) {
      for (const row of endedRunFolders(this.o.db, 'ended')) {
        const dir = path.resolve(this.o.dataDir, row);
        if (!keep.has(dir)) rmSync(dir, { recursive: true, force: true });
      }
      // Staging a live backend may be reading from (its run queued or training) stays.
      if (busyRunOwners(this.o.db).every((r) => ownerGone(r.ownerPid, r.since)))
        rmSync(path.join(root, 'staging'), { recursive: true, force: true });
    }
    if (this.resuming.length > 0) this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return rows.filter((r) => r.candidate_version_id === null && !this.resuming.includes(r.id)).map((r) => r.id);
  }

  /**
   * Queues a run of a task (default: the starter task): a fine-tune of its active version, or
   * its first model when it has none. Throws ServiceError: 'not-found' (no task), 'unavailable'
   * (the starter task without a model), 'conflict' (too few labels; labels from series outside
   * the task's applicability that `confirmSeriesIds` does not name — the message names them).
   */
  async start(input?: z.input<typeof trainingMethods.start>): Promise<TrainingRun> {
    const req = trainingMethods.start.parse(input) ?? {};
    const taskId = req.taskId ?? STARTER_TASK_ID;
    const task = this.task(taskId);
    const active = this.o.registry.active(taskId);
    if (!active && taskId === STARTER_TASK_ID)
      throw new ServiceError('unavailable', 'No model is active, so there is nothing to fine-tune.');
    // A task whose labels changed since its active version (a label added or retired) cannot
    // fine-tune it (other output classes; values are never renumbered): the run starts a new
    // first model from the active version's weights with the head replaced.
    const relabelled =
      active !== null &&
      active.manifest.output.activation === 'softmax' &&
      !sameValues(
        outputValues(active.manifest),
        activeLabels(task).map((l) => l.value),
      );
    // A task whose model kind changed (a 3D task whose active version is 2D, or back, issue 25):
    // weights of the other kind do not fit, so the run trains the task's first model of its kind
    // from scratch, and the gate compares it with that active version on the same labels.
    const kindChanged = active !== null && (modelDims(active.manifest) === 3) !== (task.modelKind === '3d');
    const parent = relabelled || kindChanged ? null : active;
    const labels = this.confirmedLabels(task, req.confirmSeriesIds ?? []);
    const training = labels.filter((l) => l.split === 'training').length;
    const validation = labels.length - training;
    if (!parent) {
      const ready = firstModelReadiness(task, labels, false);
      if (!ready.ready) throw new ServiceError('conflict', ready.reason!);
    }
    if (training === 0 || validation === 0)
      throw new ServiceError(
        'conflict',
        `${parent ? 'Fine-tuning' : 'The first model'} needs at least one training and one validation label; there are ${training} and ${validation}.`,
      );
    const hp: Hyperparameters = {
      ...DEFAULT_HYPERPARAMETERS,
      ...(parent
        ? {}
        : {
            ...FIRST_MODEL_HYPERPARAMETERS,
            // No 3D starter ships: a 3D task's first model starts from scratch.
            init: kindChanged || task.modelKind === '3d' ? 'scratch' : (req.init ?? 'starter'),
            ...(relabelled && !kindChanged ? { initFromVersionId: active.id } : {}),
            ...(kindChanged ? { gateParentVersionId: active.id } : {}),
            ...(task.modelKind === '3d' ? { ...FIRST_VOLUME_MODEL } : {}),
          }),
      ...(req.maxSteps !== undefined ? { maxSteps: req.maxSteps } : {}),
      ...(req.batchSize !== undefined ? { batchSize: req.batchSize } : {}),
      ...(req.timeLimitSeconds !== undefined ? { timeLimitSeconds: req.timeLimitSeconds } : {}),
      ...(!parent && req.size !== undefined ? { size: req.size } : {}),
      ...(req.confirmSeriesIds?.length ? { confirmedSeriesIds: req.confirmSeriesIds } : {}),
    };
    const id = insertQueuedRun(this.o.db, {
      taskId,
      parentVersionId: parent?.id ?? null,
      hyperparameters: hp,
      folderOf: (runId) => path.join(RUNS_DIR, `run-${runId}`),
    });
    const run = this.run(id);
    this.o.events.emit('onDidChangeTrainingRun', run);
    this.draining ??= this.drain().finally(() => (this.draining = undefined));
    return run;
  }

  async cancel({ id }: z.input<typeof trainingMethods.cancel>): Promise<TrainingRun> {
    const row = this.row(id);
    if (row.status === 'queued') return this.finish(id, 'cancelled', null);
    if (row.status !== 'running')
      throw new ServiceError('conflict', `Run ${id} is ${row.status}; only a queued or running run can be cancelled.`);
    // SIGTERM: the trainer stops at the next step and removes its temporary files (exit 130).
    if (this.job?.cluster) {
      // scancel; remembered with the run so that its CANCELLED end reads as cancelled, also after a restart.
      this.job.cancel();
      setClusterJob(this.o.db, id, JSON.stringify(this.job.cluster));
    } else if (row.pid !== null) {
      try {
        process.kill(row.pid, 'SIGTERM');
      } catch {
        /* already gone: its exit handler finishes the run */
      }
    }
    return this.run(id);
  }

  async list(): Promise<TrainingRun[]> {
    return runIds(this.o.db).map((id) => this.run(id));
  }

  async queue(input?: z.input<typeof trainingMethods.queue>): Promise<TrainingQueue> {
    const { limit, taskId } = trainingMethods.queue.parse(input);
    this.task(taskId);
    return trainingQueue(this.o.db, limit, taskId);
  }

  /** Whether the task can train its first model (≥ 8 labelled images from ≥ 2 series, inside its applicability). */
  async firstModel(input: z.input<typeof trainingMethods.firstModel>): Promise<FirstModelStatus> {
    const task = this.task(trainingMethods.firstModel.parse(input).taskId);
    const inside = labelsForTraining(this.o.db, task.id).filter((l) => applicability(task.domain, l).inDomain);
    return firstModelReadiness(task, inside, this.o.registry.active(task.id) !== null);
  }

  private task(taskId: number): Task {
    const task = readTask(this.o.db, taskId);
    if (!task) throw new ServiceError('not-found', `no task ${taskId}`);
    return task;
  }

  /**
   * The task's labels for a run: those of series inside its applicability, plus those of
   * outside series the reader named. An outside series not named refuses the run, naming every
   * such series (issue 22: they never enter its training without a confirmation naming them).
   */
  private confirmedLabels(task: Task, confirmed: number[]): LabelForTraining[] {
    const labels = labelsForTraining(this.o.db, task.id);
    const outside = new Map<number, { modality: string; description: string; reason: string }>();
    for (const l of labels) {
      const a = applicability(task.domain, l);
      if (!a.inDomain && !outside.has(l.seriesId))
        outside.set(l.seriesId, { modality: l.modality, description: l.seriesDescription, reason: a.reason });
    }
    const unconfirmed = [...outside].filter(([id]) => !confirmed.includes(id));
    if (unconfirmed.length > 0) {
      const names = unconfirmed.map(
        ([id, s]) => `series ${id} (${[s.modality || 'unknown modality', s.description].filter(Boolean).join(' ')})`,
      );
      throw new ServiceError(
        'conflict',
        `Task "${task.name}" covers ${task.domain.modalities.join('/')} only, but labels come from ${names.join(', ')}: ` +
          'confirm these series by name to train on them, or exclude their images.',
        { outsideSeriesIds: unconfirmed.map(([id]) => id) },
      );
    }
    return labels;
  }

  /** Resolves with the run once it has finished (for the CLI and tests). */
  waitFor(id: number): Promise<TrainingRun> {
    const run = this.run(id);
    if (run.status !== 'queued' && run.status !== 'running') return Promise.resolve(run);
    return new Promise((resolve) => this.waiters.set(id, resolve));
  }

  /** The trainer's PID while a run is training (tests kill it). */
  trainerPid(): number | undefined {
    return this.job?.pid ?? undefined;
  }

  close(): void {
    this.closed = true;
    // A local trainer stops with the backend; a batch job goes on and the next start follows it.
    if (this.job?.detach) this.job.detach();
    else this.job?.cancel();
  }

  private async drain(): Promise<void> {
    for (;;) {
      // A waiter may close the backend as soon as its run finishes: the loop must not touch the closed database.
      if (this.closed) return;
      const next = this.resuming.shift() ?? nextQueuedRun(this.o.db);
      if (next === undefined) return;
      await this.execute(next).catch((e: unknown) => {
        if (this.closed) return; // see execute: the next start marks the run interrupted
        this.cleanup(next);
        this.finish(next, 'failed', describe(e));
      });
    }
  }

  private async execute(id: number): Promise<void> {
    const row = this.row(id);
    const launcher = this.o.launcher?.() ?? localLauncher;
    const out = path.resolve(this.o.dataDir, row.out_dir);
    // A batch job found running after a restart (recover()): followed, not staged and started again.
    const resumed = row.cluster_job !== null ? launcher.attach?.(JSON.parse(row.cluster_job) as ClusterJobRef, out) : undefined;
    const status: TrainerStatus =
      launcher.python === undefined ? await this.o.trainer() : { available: true, checking: false, python: launcher.python };
    // The backend may close (the app quits) at any await of a run: from then on the run writes
    // nothing (the database closes next) and starts nothing; its row stays "running" and the next
    // start marks it interrupted and removes its folders (recover()).
    if (this.closed) return;
    if (!status.available || !status.python)
      throw new ServiceError(
        'unavailable',
        `${status.reason ? `${status.reason}. ` : ''}${status.installHint ?? 'Python with PyTorch was not found.'}`,
      );
    const hp = JSON.parse(row.hyperparameters) as Hyperparameters;
    const task = this.task(row.task_id);
    const parent: ResolvedVersion | null = row.parent_version_id === null ? null : this.o.registry.get(row.parent_version_id);
    const threeD = task.modelKind === '3d';
    // A first model reads images as the starter does (input spec), at its own size when asked.
    const base =
      parent ??
      (hp.initFromVersionId !== undefined
        ? this.o.registry.get(hp.initFromVersionId)
        : threeD
          ? null
          : (this.o.registry.active(STARTER_TASK_ID) ?? this.o.registry.actives()[0] ?? null));
    if (!base && !threeD) throw new ServiceError('unavailable', 'No starter model is installed to read the images as it does.');
    // The binary starter line keeps its staging (foreground 255); a task's softmax line stages label values with its label map.
    const multiClass = threeD || parent === null || parent.manifest.output.activation === 'softmax';
    const size = hp.size !== undefined ? ([hp.size, hp.size] as [number, number]) : undefined;
    const staging = path.join(this.o.dataDir, RUNS_DIR, 'staging', `run-${id}`);
    const inTask = this.confirmedLabels(task, hp.confirmedSeriesIds ?? []);
    const plan = threeD ? volumePlan(this.o.db, parent, inTask) : null;
    // A batch job found running after a restart (recover()) was staged before it started.
    const labels = resumed
      ? { training: [], validation: [] }
      : plan
        ? await stageVolumes(this.o.db, this.o.frames, staging, inTask, plan.volume.spacing, plan.volumes)
        : await stageLabels(this.o.db, this.o.frames, base!.manifest, staging, inTask, {
            labelValues: multiClass,
            ...(size ? { size } : {}),
          });
    const labelMap = path.join(staging, 'label-map.json');
    if (multiClass && !resumed) {
      mkdirSync(staging, { recursive: true });
      writeFileSync(labelMap, JSON.stringify(labelMapFile(task), null, 2));
    }
    if (this.closed) return;
    insertRunLabels(this.o.db, id, labels);
    const args = trainerArgv(
      'train',
      trainRecipe({
        id,
        hp,
        task,
        parent,
        base,
        staging,
        labelMap,
        multiClass,
        size,
        out,
        trained: labels.training.length,
        validated: labels.validation.length,
        ...(plan ? { volume: plan.volume } : {}),
      }),
    );
    const job =
      resumed ?? (await launcher.start({ runId: id, python: status.python, args, cwd: this.o.trainerDir, env: this.o.env, out }));
    if (this.closed) {
      job.cancel();
      return;
    }
    this.job = job;
    markRunning(this.o.db, id, job.pid, status.python, job.cluster ? JSON.stringify(job.cluster) : null);
    this.o.events.emit('onDidChangeTrainingRun', this.run(id));
    const curve: TrainingCurvePoint[] = [];
    let last: TrainerEvent | null = null;
    const saveCurve = curveSaver(this.o.db, id);
    job.onLine((line) => {
      if (this.closed) return;
      const event = parseTrainerLine(line);
      if (!event) return;
      last = event;
      if (event.event === 'step') {
        curve.push({ kind: 'step', step: event.step, loss: event.loss });
        this.o.events.emit('onDidTrainStep', { runId: id, ...event });
        saveCurve(curve);
      } else if (event.event === 'epoch') {
        curve.push({ kind: 'validation', step: event.step, dice: event.valDice });
        this.o.events.emit('onDidTrainValidate', { runId: id, ...event });
        saveCurve(curve);
      }
    });
    const exit = await job.ended;
    this.job = undefined;
    rmSync(staging, { recursive: true, force: true });
    if (this.closed) return;
    const final = last as TrainerEvent | null;
    if (exit.code === 0 && final?.event === 'done') {
      const versionId = this.register(id, task.id, parent?.id ?? hp.gateParentVersionId ?? null, out, hp, final.metrics);
      if (this.o.gate) {
        this.o.events.emit('onDidChangeTrainingRun', this.run(id));
        const gate = { ...this.o.gate, db: this.o.db, registry: this.o.registry };
        await runGate(gate, versionId).catch(this.gateFailed(id));
        await runReferenceGate(gate, versionId).catch(this.gateFailed(id));
      }
      if (this.closed) return; // registered: the next start marks the run done (recover())
      this.finish(id, 'done', null);
      this.o.events.emit('onDidChangeModels', { activeId: this.o.registry.active(task.id)?.id ?? null });
      return;
    }
    this.endWithoutModel(id, exit, final);
  }

  /**
   * Records a run whose trainer ended without a model, its folders removed: failed in the
   * cluster's words (a batch job Slurm ended) or the trainer's (its error event, else its last
   * line of stderr), cancelled (exit 130 or its cancelled event), or interrupted (killed by a
   * signal from outside: kill -9, the out-of-memory killer).
   */
  private endWithoutModel(id: number, { code, signal, stderr, failure }: TrainerExit, final: TrainerEvent | null): void {
    this.cleanup(id);
    if (failure !== undefined) {
      this.finish(id, 'failed', `Fine-tuning failed: ${failure}`);
      return;
    }
    if (code === 130 || final?.event === 'cancelled') {
      this.finish(id, 'cancelled', null);
      return;
    }
    if (signal !== null) {
      this.finish(id, 'interrupted', `The trainer was stopped by ${signal} before it finished.`);
      return;
    }
    const message =
      final?.event === 'error' ? final.message : stderr.trim().split('\n').at(-1) || `the trainer stopped (exit ${code})`;
    this.finish(id, 'failed', `Fine-tuning failed: ${message}`);
  }

  /** Keeps why a gate of run `id` could not run (joined with '; '), shown as the run's gate error. */
  private gateFailed(id: number): (e: unknown) => void {
    return (e) => {
      const message = e instanceof Error ? e.message : String(e);
      this.gateErrors.set(id, [this.gateErrors.get(id), message].filter(Boolean).join('; '));
    };
  }

  /**
   * The gate of a version adopted from the shared folder (modelShare.adopt), exactly as after a
   * local fine-tune: the candidate against this workstation's active version of the task (none: a
   * first model's per-label Dice) on this workstation's frozen validation labels of the task
   * (inside its applicability), then on the reference set of the active version's domain. A row in
   * training_runs (status done, `adopted_from` set, no training) records the labels compared on,
   * so the Models view shows the result as for a local candidate. Why a gate could not run is kept
   * as the run's gate error; the candidate stays registered, unproven. Never throws for a gate
   * failure; throws ServiceError('not-found') for an unknown task or version.
   */
  async gateAdopted(versionId: number, taskId: number, adoptedFrom: AdoptedFrom): Promise<TrainingRun> {
    const task = this.task(taskId);
    const version = this.o.registry.get(versionId);
    const runId = trainingRecord(this.o.db, versionId)?.runId ?? this.recordAdoption(version, task, adoptedFrom);
    this.o.events.emit('onDidChangeTrainingRun', this.run(runId));
    const failed = this.gateFailed(runId);
    this.gateErrors.delete(runId);
    if (!this.o.gate) failed(new Error('the registry gate is not configured'));
    else {
      const gate = { ...this.o.gate, db: this.o.db, registry: this.o.registry };
      const validation = this.run(runId).validationLabels;
      if (validation === 0)
        failed(new Error(`this workstation has no validation labels of "${task.name}" yet to compare the version on`));
      else await runGate(gate, versionId).catch(failed);
      await runReferenceGate(gate, versionId).catch(failed);
    }
    const run = this.run(runId);
    this.o.events.emit('onDidChangeTrainingRun', run);
    return run;
  }

  /** The run row of an adopted version: its frozen validation labels and the local active version as parent. */
  private recordAdoption(version: ResolvedVersion, task: Task, adoptedFrom: AdoptedFrom): number {
    const parent = this.o.registry.active(task.id);
    const validation = labelsForTraining(this.o.db, task.id).filter(
      (l) => l.split === 'validation' && applicability(task.domain, l).inDomain,
    );
    const m = version.manifest as ModelManifest & { trainerVersion?: string };
    const outDir = path.relative(this.o.dataDir, version.dir);
    return this.o.db.transaction(() => {
      const runId = insertAdoptedRun(this.o.db, {
        taskId: task.id,
        parentVersionId: parent?.id ?? null,
        candidateVersionId: version.id,
        outDir,
        adoptedFrom,
      });
      insertRunLabels(this.o.db, runId, { training: [], validation });
      recordCandidate(this.o.db, {
        versionId: version.id,
        runId,
        parentVersionId: parent?.id ?? null,
        hyperparameters: {},
        trainerVersion: m.trainerVersion ?? 'unknown',
        torchVersion: String(m.training.torch ?? 'unknown'),
        metrics: m.metrics,
      });
      return runId;
    })();
  }

  /**
   * Runs (again) the reference-set comparison of a registered candidate with its parent
   * (gate.ts, runReferenceGate) and stores it; null when the parent's chain ships no reference
   * set. Throws ServiceError('unavailable') when this service was made without a gate.
   */
  async referenceGate(candidateVersionId: number): Promise<GateResult | null> {
    if (!this.o.gate) throw new ServiceError('unavailable', 'the registry gate is not configured');
    return runReferenceGate({ ...this.o.gate, db: this.o.db, registry: this.o.registry }, candidateVersionId);
  }

  private register(
    id: number,
    taskId: number,
    parentId: number | null,
    out: string,
    hp: Hyperparameters,
    metrics: unknown,
  ): number {
    // The candidate is for what its task is for (the trainer writes no `domain`): a copied
    // version folder says so on its own.
    inheritDomain(out, this.o.registry.domainOf(taskId));
    const pkg = readModelPackage(out);
    const versionId = this.o.registry.upsert(pkg, false, taskId);
    const m = pkg.manifest as typeof pkg.manifest & { trainerVersion?: string };
    recordCandidate(this.o.db, {
      versionId,
      runId: id,
      parentVersionId: parentId,
      hyperparameters: hp,
      trainerVersion: m.trainerVersion ?? 'unknown',
      torchVersion: typeof m.training.torch === 'string' ? m.training.torch : 'unknown',
      metrics,
    });
    return versionId;
  }

  private cleanup(id: number): void {
    const row = this.row(id);
    if (row.out_dir) rmSync(path.resolve(this.o.dataDir, row.out_dir), { recursive: true, force: true });
    rmSync(path.join(this.o.dataDir, RUNS_DIR, 'staging', `run-${id}`), { recursive: true, force: true });
  }

  private finish(id: number, status: TrainingRunStatus, error: string | null): TrainingRun {
    finishRun(this.o.db, id, status, error);
    const run = this.run(id);
    this.o.events.emit('onDidChangeTrainingRun', run);
    this.waiters.get(id)?.(run);
    this.waiters.delete(id);
    return run;
  }

  private gateOf(versionId: number | null, column: GateColumn): GateResult | FirstModelGate | null {
    return versionId === null ? null : storedGate(this.o.db, versionId, column);
  }

  private row(id: number): RunRow {
    const row = runRow(this.o.db, id);
    if (!row) throw new ServiceError('not-found', `no training run ${id}`);
    return row;
  }

  private run(id: number): TrainingRun {
    const row = this.row(id);
    const counts = runLabelCounts(this.o.db, id);
    const hp = JSON.parse(row.hyperparameters) as Record<string, unknown>;
    const gate = this.gateOf(row.candidate_version_id, 'gate');
    const referenceGate = this.gateOf(row.candidate_version_id, 'reference_gate');
    return {
      id: row.id,
      status: row.status,
      taskId: row.task_id,
      parentVersionId: row.parent_version_id,
      init:
        row.parent_version_id === null && row.adopted_from === null
          ? ((hp.init as 'starter' | 'scratch' | undefined) ?? 'starter')
          : null,
      candidateVersionId: row.candidate_version_id,
      hyperparameters: hp,
      trainingLabels: counts.training,
      validationLabels: counts.validation,
      curve: JSON.parse(row.curve) as TrainingCurvePoint[],
      gate: gate && !isFirstModelGate(gate) ? gate : null,
      firstModelGate: gate && isFirstModelGate(gate) ? gate : null,
      referenceGate: referenceGate && !isFirstModelGate(referenceGate) ? referenceGate : null,
      gateError: this.gateErrors.get(row.id) ?? null,
      adoptedFrom: row.adopted_from === null ? null : (JSON.parse(row.adopted_from) as AdoptedFrom),
      error: row.error,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
    };
  }
}

/**
 * A 3D run's volumes and model grid (SPEC3D): a fine-tune keeps its parent's patch and spacing;
 * a first model takes the median spacing of its training series per axis and the default patch.
 * The normalisation is the series' modality's (CT window, MR percentiles).
 */
function volumePlan(
  db: Database,
  parent: ResolvedVersion | null,
  labels: LabelForTraining[],
): { volumes: SeriesVolume[]; volume: NonNullable<TrainRunInput['volume']> & { spacing: [number, number, number] } } {
  const volumes = labelledVolumes(db, labels);
  const own = parent ? volumeModelInput(parent.manifest) : null;
  const training = new Set(labels.filter((l) => l.split === 'training').map((l) => l.seriesId));
  const spacing = own?.spacing ?? medianSpacing(volumes.filter((v) => training.has(v.seriesId)));
  return {
    volumes,
    volume: {
      patch: own?.patch ?? DEFAULT_VOLUME_PATCH,
      spacing,
      normalization: volumeNormalization(volumes[0]?.modality ?? 'CT'),
    },
  };
}

function sameValues(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function isFirstModelGate(g: GateResult | FirstModelGate): g is FirstModelGate {
  return (g as FirstModelGate).kind === 'first-model';
}

/**
 * Whether a task can train its first model: at least FIRST_MODEL_MIN_IMAGES labelled images
 * from at least FIRST_MODEL_MIN_SERIES series (issue 22), with a training and a validation label.
 */
function firstModelReadiness(task: Task, labels: LabelForTraining[], hasModel: boolean): FirstModelStatus {
  const series = new Set(labels.map((l) => l.seriesId)).size;
  const training = labels.filter((l) => l.split === 'training').length;
  const validation = labels.length - training;
  let reason: string | null = null;
  if (hasModel) reason = `Task "${task.name}" has a model already: its next run fine-tunes it`;
  else if (labels.length < FIRST_MODEL_MIN_IMAGES || series < FIRST_MODEL_MIN_SERIES)
    reason = `The first model of "${task.name}" needs at least ${FIRST_MODEL_MIN_IMAGES} labelled images from at least ${FIRST_MODEL_MIN_SERIES} series; there are ${labels.length} from ${series}.`;
  else if (training === 0 || validation === 0)
    reason = `The first model of "${task.name}" needs labelled images of at least one training and one validation patient; there are ${training} and ${validation} images.`;
  return {
    taskId: task.id,
    hasModel,
    labelledImages: labels.length,
    series,
    training,
    validation,
    ready: reason === null,
    reason,
  };
}

/** A trainer that outlived a killed backend is stopped, if that PID still runs our trainer. */
function killOrphanTrainer(pid: number): void {
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    if (!cmdline.includes('lgms_trainer')) return;
  } catch {
    // No /proc (macOS, Windows) or no such process: a PID may have been reused, so leave it.
    return;
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    /* gone meanwhile */
  }
}

function describe(e: unknown): string {
  if (e instanceof ServiceError) return e.message;
  return `Fine-tuning could not start: ${e instanceof Error ? e.message : String(e)}`;
}
