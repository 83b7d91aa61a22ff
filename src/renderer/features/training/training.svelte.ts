// The Training view's state: the retraining queue, the runs, and the running run's live progress,
// kept current by the backend's events (onDidChangeTrainingRun, onDidTrainStep,
// onDidTrainValidate) so a run's curve grows without polling.
import type { FirstModelStatus, TrainerStepEvent, TrainingQueue, TrainingRun } from '../../../shared/contract';
import { FIRST_MODEL_MAX_STEPS } from '../../../shared/contract/training';
import { api } from '../../lib/api';
import { currentTaskId } from '../../lib/tasks.svelte';

/** The steps a run takes when the user does not choose (DEFAULT_HYPERPARAMETERS.maxSteps). */
export const DEFAULT_STEPS = 60;

export class TrainingState {
  runs = $state.raw<TrainingRun[]>([]);
  queue = $state.raw<TrainingQueue | null>(null);
  /** The current task's first-model status: null until read; `hasModel` when its runs fine-tune. */
  firstModel = $state.raw<FirstModelStatus | null>(null);
  /** A first model starts from the starter's weights with a new head (the measured default), or from scratch. */
  init = $state<'starter' | 'scratch'>('starter');
  /** The latest step of the running run (progress and ETA). */
  lastStep = $state.raw<(TrainerStepEvent & { runId: number }) | null>(null);
  error = $state('');
  busy = $state(false);
  steps = $state(DEFAULT_STEPS);
  /** A first model's steps: its own default (bounded by ten minutes in the backend), not a fine-tune's. */
  firstSteps = $state(FIRST_MODEL_MAX_STEPS);
  /** The candidate the Models view opens on when a past run's Compare sends the reader there. */
  compareVersionId = $state<number | null>(null);

  /** The run training now, else the first waiting one. */
  current = $derived(this.runs.find((r) => r.status === 'running') ?? this.runs.findLast((r) => r.status === 'queued') ?? null);
  /** Runs waiting behind the current one, oldest first. */
  waiting = $derived(this.runs.filter((r) => r.status === 'queued' && r.id !== this.current?.id).reverse());
  past = $derived(this.runs.filter((r) => r.status !== 'running' && r.status !== 'queued'));

  /** Subscribes to the backend's events and loads everything; returns the unsubscribe. */
  connect(): () => void {
    const offs = [
      api.on('onDidChangeTrainingRun', (run) => {
        this.put(run);
        // A running run takes its labels out of the queue; one that ends without a candidate gives them back.
        if (run.status !== 'queued') void this.refreshQueue();
      }),
      api.on('onDidTrainStep', (e) => {
        this.lastStep = e;
        this.grow(e.runId, { kind: 'step', step: e.step, loss: e.loss });
      }),
      api.on('onDidTrainValidate', (e) => this.grow(e.runId, { kind: 'validation', step: e.step, dice: e.valDice })),
      api.on('onDidChangeReview', () => void this.refreshQueue()),
    ];
    void this.refresh();
    return () => offs.forEach((off) => off());
  }

  async refresh(): Promise<void> {
    const [runs] = await Promise.all([api.training.list(), this.refreshQueue()]);
    if (runs.ok) this.runs = runs.value;
    else this.error = runs.error.message;
  }

  /** The current task's queue and whether its next run is its first model. */
  async refreshQueue(): Promise<void> {
    const taskId = currentTaskId();
    const [q, first] = await Promise.all([api.training.queue({ taskId }), api.training.firstModel({ taskId })]);
    if (q.ok) this.queue = q.value;
    else this.error = q.error.message;
    if (first.ok) this.firstModel = first.value;
  }

  /** Fine-tunes the current task's active version, or trains its first model (cold start). */
  async start(): Promise<void> {
    this.busy = true;
    this.error = '';
    const first = this.firstModel !== null && !this.firstModel.hasModel;
    const r = await api.training.start({
      taskId: currentTaskId(),
      ...(first ? { maxSteps: this.firstSteps, init: this.init } : { maxSteps: this.steps }),
    });
    this.busy = false;
    if (r.ok) this.put(r.value);
    else this.error = r.error.message;
  }

  async cancel(id: number): Promise<void> {
    this.error = '';
    const r = await api.training.cancel({ id });
    if (r.ok) this.put(r.value);
    else this.error = r.error.message;
  }

  async setExcluded(imageId: number, excluded: boolean): Promise<void> {
    this.error = '';
    const r = await api.review.setExcluded({
      imageIds: [imageId],
      excluded,
      reason: excluded ? 'excluded in the Training view' : '',
    });
    if (!r.ok) this.error = r.error.message;
    await this.refreshQueue();
  }

  private put(run: TrainingRun): void {
    const at = this.runs.findIndex((r) => r.id === run.id);
    this.runs = at < 0 ? [run, ...this.runs] : this.runs.map((r) => (r.id === run.id ? run : r));
  }

  private grow(runId: number, point: TrainingRun['curve'][number]): void {
    const run = this.runs.find((r) => r.id === runId);
    if (run) this.put({ ...run, curve: [...run.curve, point] });
  }
}

export const training = new TrainingState();
