// The tasks the reader works with, and which one the viewer paints: loaded from the backend,
// kept current by onDidChangeTasks. The chosen task is remembered in this window's storage.
import { activeLabels, type Task, type TaskLabel } from '../../shared/contract';
import { applicability } from '../../shared/model/applicability';
import type { ApiError } from '../../shared/result';
import { api } from './api';

const STORAGE_KEY = 'lgms.task';

export class TaskStore {
  list = $state.raw<Task[]>([]);
  currentId = $state<number | null>(null);
  error = $state.raw<ApiError | null>(null);
  private started: Promise<void> | null = null;

  /** Loads the tasks once and follows their changes; later calls wait for the first load. */
  start(): Promise<void> {
    this.started ??= (async () => {
      api.on('onDidChangeTasks', () => void this.refresh());
      const stored = Number(globalThis.localStorage?.getItem(STORAGE_KEY) ?? NaN);
      await this.refresh();
      if (this.list.some((t) => t.id === stored)) this.currentId = stored;
    })();
    return this.started;
  }

  async refresh(): Promise<void> {
    const r = await api.tasks.list();
    if (!r.ok) return void (this.error = r.error);
    this.list = r.value;
    if (this.currentId === null || !r.value.some((t) => t.id === this.currentId)) this.currentId = r.value[0]?.id ?? null;
  }

  get current(): Task | null {
    return this.list.find((t) => t.id === this.currentId) ?? null;
  }

  choose(id: number): void {
    this.currentId = id;
    globalThis.localStorage?.setItem(STORAGE_KEY, String(id));
  }

  /** The labels of the current task a reader may paint, in value order. */
  get paintable(): TaskLabel[] {
    const t = this.current;
    return t ? activeLabels(t) : [];
  }

  /**
   * The task to paint on a series: the chosen one when it applies to the series, else the first
   * task that does, else the chosen one (the reader may still label it; training asks first).
   */
  forSeries(series: { modality: string; photometric: string }): Task | null {
    const fits = (t: Task) => applicability(t.domain, series).inDomain;
    const current = this.current;
    if (current && fits(current)) return current;
    return this.list.find(fits) ?? current;
  }

  /** Updates one task in the list from a service reply (create, rename, label changes). */
  put(task: Task): void {
    const at = this.list.findIndex((t) => t.id === task.id);
    this.list = at < 0 ? [...this.list, task] : this.list.map((t) => (t.id === task.id ? task : t));
  }
}

export const tasks = new TaskStore();

/** The task the Review, Training and Models views work on (the starter's before any is loaded). */
export function currentTaskId(): number {
  return tasks.currentId ?? 1;
}
