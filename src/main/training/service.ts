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
import { applicability } from '../../shared/model/applicability';
import { outputValues, type ModelManifest } from '../../shared/model/manifest';
import { STARTER_TASK_ID, type ModelRegistry, type ResolvedVersion } from '../models/registry';
import { readTask } from '../tasks/queries';
import { activeLabels, type Task } from '../../shared/contract/tasks';
import { runGate, runReferenceGate, type GateOptions } from './gate';
import { localLauncher, type ClusterJobRef, type TrainerJob, type TrainerLauncher } from './launcher';
import { labelMapFile, labelsForTraining, stageLabels, type LabelForTraining } from './stage';
import { trainingQueue } from './queue';

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
  /** Left-right mirroring only (ultrasound keeps depth down) instead of all flips and 90° turns. */
  mirrorOnly: false,
  /** Epochs between validations; 0 = the trainer's own interval (every ≥ 20 steps). */
  valEvery: 0,
  seed: 1,
} as const;

export type Hyperparameters = Omit<
  typeof DEFAULT_HYPERPARAMETERS,
  'maxSteps' | 'batchSize' | 'replayFraction' | 'anchor' | 'appearance' | 'mirrorOnly'
> & {
  maxSteps: number;
  batchSize: number;
  replayFraction: number;
  anchor: number;
  appearance: number;
  mirrorOnly: boolean;
  timeLimitSeconds?: number;
  /** A first model: square input size (default the starter's). */
  size?: number;
  /** A first model: 'starter' (its weights, head replaced) or 'scratch'; absent for a fine-tune. */
  init?: 'starter' | 'scratch';
  /** Series outside the task's applicability the reader confirmed for this run. */
  confirmedSeriesIds?: number[];
  /** A first model after the task's labels changed: initialised from this version (its head replaced) instead of the starter. */
  initFromVersionId?: number;
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

interface RunRow {
  id: number;
  status: TrainingRunStatus;
  task_id: number;
  parent_version_id: number | null;
  candidate_version_id: number | null;
  hyperparameters: string;
  out_dir: string;
  pid: number | null;
  curve: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** A Slurm batch job (ClusterJobRef as JSON, migration 0200); null for a local trainer. */
  cluster_job: string | null;
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
    const rows = this.o.db.prepare("SELECT * FROM training_runs WHERE status = 'running'").all() as RunRow[];
    for (const row of rows) {
      if (row.pid !== null) killOrphanTrainer(row.pid);
      if (row.candidate_version_id !== null) {
        // Died after registering its candidate (during the gate): the version is whole; only its gate is missing.
        this.o.db
          .prepare(
            "UPDATE training_runs SET status = 'done', pid = NULL, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
          )
          .run(row.id);
        continue;
      }
      // A batch job outlives the backend: drain() follows it to its end by its stored id (execute → attach).
      if (row.cluster_job !== null && this.o.launcher?.().attach) {
        this.resuming.push(row.id);
        continue;
      }
      this.o.db
        .prepare(
          "UPDATE training_runs SET status = 'interrupted', pid = NULL, error = ?, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
        )
        .run('The app stopped while this run was training.', row.id);
    }
    // Folders of runs that are not running now and never produced a candidate.
    const keep = new Set(
      (this.o.db.prepare("SELECT out_dir FROM training_runs WHERE status = 'done'").pluck().all() as string[]).map((d) =>
        path.resolve(this.o.dataDir, d),
      ),
    );
    const root = path.join(this.o.dataDir, RUNS_DIR);
    if (existsSync(root)) {
      for (const row of this.o.db
        .prepare("SELECT out_dir FROM training_runs WHERE status NOT IN ('queued', 'running')")
        .pluck()
        .all() as string[]) {
        const dir = path.resolve(this.o.dataDir, row);
        if (!keep.has(dir)) rmSync(dir, { recursive: true, force: true });
      }
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
    const parent = relabelled ? null : active;
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
            init: req.init ?? 'starter',
            ...(relabelled ? { initFromVersionId: active.id } : {}),
          }),
      ...(req.maxSteps !== undefined ? { maxSteps: req.maxSteps } : {}),
      ...(req.batchSize !== undefined ? { batchSize: req.batchSize } : {}),
      ...(req.timeLimitSeconds !== undefined ? { timeLimitSeconds: req.timeLimitSeconds } : {}),
      ...(!parent && req.size !== undefined ? { size: req.size } : {}),
      ...(req.confirmSeriesIds?.length ? { confirmedSeriesIds: req.confirmSeriesIds } : {}),
    };
    const id = this.o.db.transaction(() => {
      const runId = Number(
        this.o.db
          .prepare(
            "INSERT INTO training_runs (status, task_id, parent_version_id, hyperparameters, out_dir) VALUES ('queued', ?, ?, ?, '')",
          )
          .run(taskId, parent?.id ?? null, JSON.stringify(hp)).lastInsertRowid,
      );
      this.o.db.prepare('UPDATE training_runs SET out_dir = ? WHERE id = ?').run(path.join(RUNS_DIR, `run-${runId}`), runId);
      return runId;
    })();
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
      this.o.db.prepare('UPDATE training_runs SET cluster_job = ? WHERE id = ?').run(JSON.stringify(this.job.cluster), id);
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
    return (this.o.db.prepare('SELECT id FROM training_runs ORDER BY id DESC').pluck().all() as number[]).map((id) =>
      this.run(id),
    );
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
      const next =
        this.resuming.shift() ??
        (this.o.db.prepare("SELECT id FROM training_runs WHERE status = 'queued' ORDER BY id LIMIT 1").pluck().get() as
          number | undefined);
      if (next === undefined) return;
      await this.execute(next).catch((e: unknown) => {
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
    if (!status.available || !status.python)
      throw new ServiceError(
        'unavailable',
        `${status.reason ? `${status.reason}. ` : ''}${status.installHint ?? 'Python with PyTorch was not found.'}`,
      );
    const hp = JSON.parse(row.hyperparameters) as Hyperparameters;
    const task = this.task(row.task_id);
    const parent: ResolvedVersion | null = row.parent_version_id === null ? null : this.o.registry.get(row.parent_version_id);
    // A first model reads images as the starter does (input spec), at its own size when asked.
    const base =
      parent ??
      (hp.initFromVersionId !== undefined
        ? this.o.registry.get(hp.initFromVersionId)
        : (this.o.registry.active(STARTER_TASK_ID) ?? this.o.registry.actives()[0]));
    if (!base) throw new ServiceError('unavailable', 'No starter model is installed to read the images as it does.');
    // The binary starter line keeps its staging (foreground 255); a task's softmax line stages label values with its label map.
    const multiClass = parent === null || parent.manifest.output.activation === 'softmax';
    const size = hp.size !== undefined ? ([hp.size, hp.size] as [number, number]) : undefined;
    const staging = path.join(this.o.dataDir, RUNS_DIR, 'staging', `run-${id}`);
    const inTask = this.confirmedLabels(task, hp.confirmedSeriesIds ?? []);
    // A batch job found running after a restart (recover()) was staged before it started.
    const labels = resumed
      ? { training: [], validation: [] }
      : await stageLabels(this.o.db, this.o.frames, base.manifest, staging, inTask, {
          labelValues: multiClass,
          ...(size ? { size } : {}),
        });
    const labelMap = path.join(staging, 'label-map.json');
    if (multiClass && !resumed) {
      mkdirSync(staging, { recursive: true });
      writeFileSync(labelMap, JSON.stringify(labelMapFile(task), null, 2));
    }
    const insert = this.o.db.prepare('INSERT INTO training_run_labels (run_id, label_id, split) VALUES (?, ?, ?)');
    this.o.db.transaction(() => {
      for (const split of ['training', 'validation'] as const) for (const l of labels[split]) insert.run(id, l.labelId, split);
    })();
    const args = trainerArgs({
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
    });
    const job =
      resumed ?? (await launcher.start({ runId: id, python: status.python, args, cwd: this.o.trainerDir, env: this.o.env, out }));
    this.job = job;
    this.o.db
      .prepare(
        "UPDATE training_runs SET status = 'running', pid = ?, python = ?, cluster_job = ?, started_at = coalesce(started_at, strftime('%Y-%m-%dT%H:%M:%fZ', 'now')) WHERE id = ?",
      )
      .run(job.pid, status.python, job.cluster && JSON.stringify(job.cluster), id);
    this.o.events.emit('onDidChangeTrainingRun', this.run(id));
    const curve: TrainingCurvePoint[] = [];
    let last: TrainerEvent | null = null;
    const saveCurve = this.o.db.prepare('UPDATE training_runs SET curve = ? WHERE id = ?');
    job.onLine((line) => {
      const event = parseTrainerLine(line);
      if (!event) return;
      last = event;
      if (event.event === 'step') {
        curve.push({ kind: 'step', step: event.step, loss: event.loss });
        this.o.events.emit('onDidTrainStep', { runId: id, ...event });
        saveCurve.run(JSON.stringify(curve), id);
      } else if (event.event === 'epoch') {
        curve.push({ kind: 'validation', step: event.step, dice: event.valDice });
        this.o.events.emit('onDidTrainValidate', { runId: id, ...event });
        saveCurve.run(JSON.stringify(curve), id);
      }
    });
    const { code, signal, stderr, failure } = await job.ended;
    this.job = undefined;
    rmSync(staging, { recursive: true, force: true });
    const final = last as TrainerEvent | null;
    if (code === 0 && final?.event === 'done') {
      const versionId = this.register(id, task.id, parent?.id ?? null, out, hp, final.metrics);
      if (this.o.gate) {
        this.o.events.emit('onDidChangeTrainingRun', this.run(id));
        const gate = { ...this.o.gate, db: this.o.db, registry: this.o.registry };
        const failed = (e: unknown) => {
          const message = e instanceof Error ? e.message : String(e);
          this.gateErrors.set(id, [this.gateErrors.get(id), message].filter(Boolean).join('; '));
        };
        await runGate(gate, versionId).catch(failed);
        await runReferenceGate(gate, versionId).catch(failed);
      }
      this.finish(id, 'done', null);
      this.o.events.emit('onDidChangeModels', { activeId: this.o.registry.active(task.id)?.id ?? null });
      return;
    }
    this.cleanup(id);
    if (failure !== undefined) {
      // A batch job the cluster ended (cancelled there, time limit, node failure): Slurm's state and reason.
      this.finish(id, 'failed', `Fine-tuning failed: ${failure}`);
      return;
    }
    if (code === 130 || final?.event === 'cancelled') {
      this.finish(id, 'cancelled', null);
      return;
    }
    if (signal !== null) {
      // Killed from outside (kill -9, the system's out-of-memory killer): nothing was committed.
      this.finish(id, 'interrupted', `The trainer was stopped by ${signal} before it finished.`);
      return;
    }
    const message =
      final?.event === 'error' ? final.message : stderr.trim().split('\n').at(-1) || `the trainer stopped (exit ${code})`;
    this.finish(id, 'failed', `Fine-tuning failed: ${message}`);
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
    this.o.db.transaction(() => {
      this.o.db
        .prepare(
          `INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        )
        .run(
          versionId,
          id,
          parentId,
          JSON.stringify(hp),
          m.trainerVersion ?? 'unknown',
          m.training.torch,
          JSON.stringify(metrics),
        );
      this.o.db.prepare('UPDATE training_runs SET candidate_version_id = ? WHERE id = ?').run(versionId, id);
    })();
    return versionId;
  }

  private cleanup(id: number): void {
    const row = this.row(id);
    if (row.out_dir) rmSync(path.resolve(this.o.dataDir, row.out_dir), { recursive: true, force: true });
    rmSync(path.join(this.o.dataDir, RUNS_DIR, 'staging', `run-${id}`), { recursive: true, force: true });
  }

  private finish(id: number, status: TrainingRunStatus, error: string | null): TrainingRun {
    this.o.db
      .prepare(
        "UPDATE training_runs SET status = ?, error = ?, pid = NULL, finished_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?",
      )
      .run(status, error, id);
    const run = this.run(id);
    this.o.events.emit('onDidChangeTrainingRun', run);
    this.waiters.get(id)?.(run);
    this.waiters.delete(id);
    return run;
  }

  private gateOf(versionId: number | null, column: 'gate' | 'reference_gate'): GateResult | FirstModelGate | null {
    if (versionId === null) return null;
    const gate = this.o.db
      .prepare(`SELECT ${column} FROM model_version_training WHERE model_version_id = ?`)
      .pluck()
      .get(versionId) as string | null | undefined;
    return gate ? (JSON.parse(gate) as GateResult | FirstModelGate) : null;
  }

  private row(id: number): RunRow {
    const row = this.o.db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as RunRow | undefined;
    if (!row) throw new ServiceError('not-found', `no training run ${id}`);
    return row;
  }

  private run(id: number): TrainingRun {
    const row = this.row(id);
    const counts = this.o.db
      .prepare('SELECT split, count(*) AS n FROM training_run_labels WHERE run_id = ? GROUP BY split')
      .all(id) as { split: string; n: number }[];
    const hp = JSON.parse(row.hyperparameters) as Record<string, unknown>;
    const gate = this.gateOf(row.candidate_version_id, 'gate');
    const referenceGate = this.gateOf(row.candidate_version_id, 'reference_gate');
    return {
      id: row.id,
      status: row.status,
      taskId: row.task_id,
      parentVersionId: row.parent_version_id,
      init: row.parent_version_id === null ? ((hp.init as 'starter' | 'scratch' | undefined) ?? 'starter') : null,
      candidateVersionId: row.candidate_version_id,
      hyperparameters: hp,
      trainingLabels: counts.find((c) => c.split === 'training')?.n ?? 0,
      validationLabels: counts.find((c) => c.split === 'validation')?.n ?? 0,
      curve: JSON.parse(row.curve) as TrainingCurvePoint[],
      gate: gate && !isFirstModelGate(gate) ? gate : null,
      firstModelGate: gate && isFirstModelGate(gate) ? gate : null,
      referenceGate: referenceGate && !isFirstModelGate(referenceGate) ? referenceGate : null,
      gateError: this.gateErrors.get(row.id) ?? null,
      error: row.error,
      createdAt: row.created_at,
      startedAt: row.started_at,
      finishedAt: row.finished_at,
    };
  }
}

/** The trainer's --normalization text of a model.json normalisation (scale:MIN,MAX | window:C,W | percentile:L,H). */
function normalizationArg(n: ModelManifest['input']['normalization']): string {
  if (n.type === 'scale') return `scale:${n.min},${n.max}`;
  if (n.type === 'window') return `window:${n.center},${n.width}`;
  return `percentile:${n.low},${n.high}`;
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

/** What `trainerArgs` needs of a run. */
interface TrainerArgsInput {
  id: number;
  hp: Hyperparameters;
  task: Task;
  /** The version fine-tuned; null for a task's first model. */
  parent: ResolvedVersion | null;
  /** The version whose input rule the images were staged with (the parent, else the starter). */
  base: ResolvedVersion;
  staging: string;
  labelMap: string;
  multiClass: boolean;
  size: [number, number] | undefined;
  out: string;
  trained: number;
  validated: number;
}

/**
 * The trainer's command line (`python3 -m lgms_trainer train …`, resources/trainer/__main__.py)
 * for one run: its staged data, where it starts from (a parent to fine-tune, the starter with a new
 * head, or scratch), the task's label map, the recipe's hyper-parameters and the new version's name.
 */
function trainerArgs(a: TrainerArgsInput): string[] {
  const { id, hp, task, parent, base, staging, labelMap, multiClass, size, out } = a;
  const replay = parent ? path.join(parent.dir, 'replay') : '';
  return [
    '-m',
    'lgms_trainer',
    'train',
    '--data',
    path.join(staging, 'training'),
    '--val-data',
    path.join(staging, 'validation'),
    ...(parent ? ['--init', parent.dir] : hp.init === 'starter' ? ['--init-from', base.dir] : []),
    ...(multiClass ? ['--label-map', labelMap] : []),
    // A first model reads the images as they were staged (the starter's input rule), also from scratch.
    ...(parent
      ? []
      : [
          '--size',
          String(size?.[0] ?? base.manifest.input.size[0]),
          '--channel-mode',
          base.manifest.input.channelMode,
          '--normalization',
          normalizationArg(base.manifest.input.normalization),
        ]),
    '--out',
    out,
    '--max-steps',
    String(hp.maxSteps),
    '--batch-size',
    String(hp.batchSize),
    '--optimizer',
    hp.optimizer,
    '--lr',
    String(hp.lr),
    '--schedule',
    hp.schedule,
    // 0: the trainer's own interval (a validation every ≥ 20 steps), as in the measured runs.
    ...(hp.valEvery > 0 ? ['--val-every', String(hp.valEvery)] : []),
    '--seed',
    String(hp.seed),
    ...(parent
      ? [
          '--id',
          `${parent.manifest.id.replace(/-ft\d+$/, '')}-ft${id}`,
          '--name',
          `${parent.manifest.name.replace(/ \(fine-tuned.*\)$/, '')} (fine-tuned, run ${id})`,
          '--version',
          `${parent.manifest.version}+ft${id}`,
        ]
      : ['--id', `task${task.id}-run${id}`, '--name', `${task.name} (first model, run ${id})`, '--version', `1.0.0+run${id}`]),
    '--data-description',
    `${a.trained} training / ${a.validated} validation labels from this workstation (run ${id})`,
    ...(hp.timeLimitSeconds !== undefined ? ['--time-limit', String(hp.timeLimitSeconds)] : []),
    // The replay set is the starter's binary lesion masks: never mixed into a task's label map.
    ...(parent && !multiClass && existsSync(replay) && hp.replayFraction > 0
      ? ['--replay', replay, '--replay-fraction', String(hp.replayFraction)]
      : []),
    ...(parent && hp.anchor > 0 ? ['--anchor', String(hp.anchor)] : []),
    ...(hp.freezeNorm ? ['--freeze-norm'] : []),
    // Runs queued before these options existed have no such keys: off.
    ...(hp.ema > 0 ? ['--ema', String(hp.ema)] : []),
    ...(hp.appearance > 0 ? ['--appearance', String(hp.appearance)] : []),
    ...(hp.zoom > 0 ? ['--zoom', String(hp.zoom)] : []),
    ...(hp.mirrorOnly ? ['--mirror-only'] : []),
  ];
}
