// The `tasks` service: create and edit tasks and their labels (migration 0130). A label's value
// is fixed when it is added and never reused: renaming or retiring a label changes no stored
// label map, and a retired value stays reserved so old maps keep their meaning.
import type { z } from 'zod';
import type { Events, Task, TasksService } from '../../shared/contract';
import { MAX_LABEL_VALUE, MODEL_KIND_TEXT, tasksMethods } from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import { CODE_CATALOGUE, type CatalogueEntry } from '../../shared/model/codes';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { insertLabel, isUniqueViolation, labelWithDefaults, nextLabelValue, readTask, readTasks, runInFlight } from './queries';

export class TasksMainService implements TasksService {
  constructor(
    private readonly db: Database,
    private readonly events: Emitter<Events>,
  ) {}

  async list(): Promise<Task[]> {
    return readTasks(this.db);
  }

  async get(input: z.input<typeof tasksMethods.get>): Promise<Task> {
    return this.task(tasksMethods.get.parse(input).id);
  }

  /** The task, or a not-found error naming it. */
  task(id: number): Task {
    const task = readTask(this.db, id);
    if (!task) throw new ServiceError('not-found', `There is no task ${id}`);
    return task;
  }

  async create(input: z.input<typeof tasksMethods.create>): Promise<Task> {
    const t = tasksMethods.create.parse(input);
    const names = new Set<string>();
    for (const l of t.labels) {
      const key = l.name.toLowerCase();
      if (names.has(key))
        throw new ServiceError('invalid-input', `Two labels are named "${l.name}": give each label its own name`);
      names.add(key);
    }
    const id = this.unique(t.name, () =>
      this.db
        .transaction(() => {
          const taskId = this.db
            .prepare('INSERT INTO tasks (name, domain, model_kind) VALUES (?, ?, ?) RETURNING id')
            .pluck()
            .get(t.name, JSON.stringify(t.domain), t.modelKind ?? '2d') as number;
          t.labels.forEach((l, i) => insertLabel(this.db, taskId, i + 1, labelWithDefaults(l, i + 1)));
          return taskId;
        })
        .immediate(),
    );
    return this.changed(id);
  }

  async rename(input: z.input<typeof tasksMethods.rename>): Promise<Task> {
    const { id, name } = tasksMethods.rename.parse(input);
    this.task(id);
    this.unique(name, () =>
      this.db.prepare("UPDATE tasks SET name = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?").run(name, id),
    );
    return this.changed(id);
  }

  async setDomain(input: z.input<typeof tasksMethods.setDomain>): Promise<Task> {
    const { id, domain } = tasksMethods.setDomain.parse(input);
    this.task(id);
    this.db
      .prepare("UPDATE tasks SET domain = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?")
      .run(JSON.stringify(domain), id);
    return this.changed(id);
  }

  /**
   * Changes the kind of model the task trains ('2d' | '2.5d' | '3d'). Refused (ServiceError
   * 'conflict') once the task has a model version, or while one of its training runs is queued or
   * running: a fine-tune continues from the active version's weights, so every version trained
   * here continues the task's kind; a model of another kind needs a new task with the same labels.
   */
  async setModelKind(input: z.input<typeof tasksMethods.setModelKind>): Promise<Task> {
    const { id, modelKind } = tasksMethods.setModelKind.parse(input);
    const unchanged = this.db
      .transaction(() => {
        const task = this.task(id);
        if (task.modelKind === modelKind) return true;
        const was = MODEL_KIND_TEXT[task.modelKind].name;
        const to = MODEL_KIND_TEXT[modelKind].name;
        if (task.versionCount > 0)
          throw new ServiceError(
            'conflict',
            `Task "${task.name}" already has ${task.versionCount === 1 ? 'a' : task.versionCount} ${was} model version${task.versionCount === 1 ? '' : 's'}: ` +
              `a fine-tune continues from the active model, so the task stays ${was}. ` +
              `To train a ${to} model, create a new task with the same labels and choose ${to} there.`,
          );
        if (runInFlight(this.db, id))
          throw new ServiceError(
            'conflict',
            `A training run of task "${task.name}" is queued or running as ${was}: wait for it or cancel it before choosing ${to}`,
          );
        this.db
          .prepare("UPDATE tasks SET model_kind = ?, updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE id = ?")
          .run(modelKind, id);
        return false;
      })
      .immediate();
    return unchanged ? this.task(id) : this.changed(id);
  }

  async addLabel(input: z.input<typeof tasksMethods.addLabel>): Promise<Task> {
    const { id, label } = tasksMethods.addLabel.parse(input);
    this.db
      .transaction(() => {
        const task = this.task(id);
        this.nameFree(task, label.name);
        const value = nextLabelValue(this.db, id);
        if (value > MAX_LABEL_VALUE)
          throw new ServiceError('conflict', `Task "${task.name}" has used every label value (1–${MAX_LABEL_VALUE})`);
        insertLabel(this.db, id, value, labelWithDefaults(label, value));
      })
      .immediate();
    return this.changed(id);
  }

  async updateLabel(input: z.input<typeof tasksMethods.updateLabel>): Promise<Task> {
    const u = tasksMethods.updateLabel.parse(input);
    this.db
      .transaction(() => {
        const task = this.task(u.id);
        const label = task.labels.find((l) => l.value === u.value);
        if (!label) throw new ServiceError('not-found', `Task "${task.name}" has no label ${u.value}`);
        if (label.retiredAt !== null)
          throw new ServiceError('conflict', `Label "${label.name}" is retired: add a new label instead`);
        if (u.name !== undefined && u.name.toLowerCase() !== label.name.toLowerCase()) this.nameFree(task, u.name);
        this.db
          .prepare('UPDATE task_labels SET name = ?, colour = ?, category = ?, type = ? WHERE task_id = ? AND value = ?')
          .run(
            u.name ?? label.name,
            u.colour ?? label.colour,
            JSON.stringify(u.category ?? label.category),
            JSON.stringify(u.type ?? label.type),
            u.id,
            u.value,
          );
      })
      .immediate();
    return this.changed(u.id);
  }

  async retireLabel(input: z.input<typeof tasksMethods.retireLabel>): Promise<Task> {
    const { id, value } = tasksMethods.retireLabel.parse(input);
    this.db
      .transaction(() => {
        const task = this.task(id);
        const label = task.labels.find((l) => l.value === value);
        if (!label) throw new ServiceError('not-found', `Task "${task.name}" has no label ${value}`);
        if (label.retiredAt !== null) return;
        if (task.labels.filter((l) => l.retiredAt === null).length === 1)
          throw new ServiceError(
            'conflict',
            `"${label.name}" is the last label of task "${task.name}": a task needs at least one label`,
          );
        this.db
          .prepare("UPDATE task_labels SET retired_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE task_id = ? AND value = ?")
          .run(id, value);
      })
      .immediate();
    return this.changed(id);
  }

  async catalogue(): Promise<readonly CatalogueEntry[]> {
    return CODE_CATALOGUE;
  }

  private nameFree(task: Task, name: string): void {
    const taken = task.labels.find((l) => l.retiredAt === null && l.name.toLowerCase() === name.trim().toLowerCase());
    if (taken)
      throw new ServiceError('conflict', `Task "${task.name}" already has a label named "${taken.name}" (value ${taken.value})`);
  }

  private unique<T>(name: string, write: () => T): T {
    try {
      return write();
    } catch (e) {
      if (isUniqueViolation(e, 'tasks.name'))
        throw new ServiceError('conflict', `A task named "${name}" exists already: choose another name`);
      throw e;
    }
  }

  private changed(id: number): Task {
    this.events.emit('onDidChangeTasks', { taskIds: [id] });
    return this.task(id);
  }
}
