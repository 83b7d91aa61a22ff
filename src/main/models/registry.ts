// The model registry: every version (the shipped starter and each fine-tuned candidate) is a
// row pointing at its folder. Versions belong to a task (migration 0130); at most one per task
// is active. Earlier versions are kept for roll-back. A version's applicability is its task's
// `domain`, never its own model.json's (issue 22): every `manifest` this registry hands out
// carries the task's domain, so a promoted version never segments a modality its task does
// not cover.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import {
  learningCurveSchema,
  manifestGeometry,
  type Events,
  type LearningCurve,
  type ModelsService,
  type ModelVersionInfo,
  type ModelStatus,
} from '../../shared/contract';
import type { Emitter } from '../../shared/events';
import type { ModelDomain, ModelManifest } from '../../shared/model/manifest';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { insertLabel, labelWithDefaults } from '../tasks/queries';
import { readModelPackage, type ModelPackage } from './package';
import { copyModelFolder } from './transfer';

interface Row {
  id: number;
  model_id: string;
  name: string;
  version: string;
  parent_id: string | null;
  dir: string;
  manifest: string;
  status: ModelStatus;
  builtin: number;
  created_at: string;
  task_id: number;
}

/** The task of the shipped starter and of every version older than tasks (migration 0130). */
export const STARTER_TASK_ID = 1;

/** A version as the backend uses it: its folder, its manifest (domain = its task's) and its task. */
export interface ResolvedVersion {
  id: number;
  dir: string;
  manifest: ModelManifest;
  taskId: number;
}

export class ModelRegistry implements ModelsService {
  private readonly listeners = new Set<(version: Row) => Promise<void>>();

  constructor(
    private readonly db: Database,
    private readonly dataDir: string,
    private readonly events: Emitter<Events>,
  ) {}

  /** Registers the models shipped in resources/models; activates one if none is active. Returns the folders refused, with why. */
  registerBuiltins(modelsDir: string): string[] {
    return this.installBuiltins(modelsDir).problems;
  }

  /**
   * registerBuiltins, also saying which tasks it created or changed: a task made from a shipped
   * model's model.json, a version registered for the first time or whose folder, manifest or name
   * changed, a version made its task's active one. A model registered before and unchanged
   * changes nothing. `problems`: the folders refused, with why.
   */
  installBuiltins(modelsDir: string): { problems: string[]; changedTaskIds: number[] } {
    const problems: string[] = [];
    const changed = new Set<number>();
    if (!existsSync(modelsDir)) return { problems, changedTaskIds: [] };
    const tasks = new Set([STARTER_TASK_ID]);
    const before = this.db.prepare('SELECT dir, manifest, name, task_id AS taskId FROM model_versions WHERE model_id = ?');
    const taskOfUid = this.db.prepare('SELECT id FROM tasks WHERE uid = ?').pluck();
    for (const name of readdirSync(modelsDir).sort()) {
      const dir = path.join(modelsDir, name);
      if (!existsSync(path.join(dir, 'model.json'))) continue;
      try {
        const pkg = readModelPackage(dir);
        const uid = pkg.manifest.task?.uid;
        const taskExisted = !uid || taskOfUid.get(uid) !== undefined;
        const taskId = uid ? this.builtinTask(pkg.manifest) : STARTER_TASK_ID;
        const was = before.get(pkg.manifest.id) as { dir: string; manifest: string; name: string; taskId: number } | undefined;
        this.upsert(pkg, true, taskId);
        const now = before.get(pkg.manifest.id) as typeof was;
        if (!taskExisted || !was || JSON.stringify(was) !== JSON.stringify(now)) changed.add(now!.taskId);
        tasks.add(taskId);
      } catch (e) {
        problems.push(`${dir}: ${(e as Error).message}`);
      }
    }
    for (const taskId of tasks) {
      if (this.activeRow(taskId)) continue;
      const newest = this.db
        .prepare('SELECT id FROM model_versions WHERE task_id = ? ORDER BY builtin DESC, created_at DESC LIMIT 1')
        .pluck()
        .get(taskId) as number | undefined;
      if (newest === undefined) continue;
      this.db.prepare("UPDATE model_versions SET status = 'active' WHERE id = ?").run(newest);
      changed.add(taskId);
    }
    return { problems, changedTaskIds: [...changed].sort((a, b) => a - b) };
  }

  /**
   * The task a shipped model names by UID (model.json `task`), found by it or created from it
   * with its labels at their values; a reader's task of the same name keeps it, the shipped one
   * is told apart by its UID's first digits. Returns the task's id. Throws when the model.json
   * cannot make a task: no labels, a value the model paints missing from them, no domain.
   */
  private builtinTask(m: ModelManifest): number {
    const task = m.task!;
    const uid = task.uid!;
    const existing = this.db.prepare('SELECT id FROM tasks WHERE uid = ?').pluck().get(uid) as number | undefined;
    if (existing !== undefined) return existing;
    const labels = task.labels ?? [];
    const values = new Set(labels.map((l) => l.value));
    if (labels.length === 0 || values.size !== labels.length)
      throw new Error("model.json's task needs its labels, one per value, to create the task");
    const painted = m.output.values ?? m.output.labels.map((_, k) => k + 1);
    if (!painted.every((v) => values.has(v)))
      throw new Error(`model.json's task has no label for some of the values the model paints (${painted.join(', ')})`);
    if (!m.domain) throw new Error("a model with its own task says what it applies to (model.json's domain)");
    const domain = m.domain;
    return this.db
      .transaction(() => {
        const taken = this.db.prepare('SELECT 1 FROM tasks WHERE name = ? COLLATE NOCASE').get(task.name) !== undefined;
        const id = this.db
          .prepare('INSERT INTO tasks (name, domain, model_kind, uid) VALUES (?, ?, ?, ?) RETURNING id')
          .pluck()
          .get(
            taken ? `${task.name} (${uid.slice(0, 6)})` : task.name,
            JSON.stringify(domain),
            task.modelKind ?? '2d',
            uid,
          ) as number;
        for (const l of labels) insertLabel(this.db, id, l.value, labelWithDefaults(l, l.value));
        return id;
      })
      .immediate();
  }

  /**
   * Adds (or refreshes) a version from its folder under a task (builtins: the starter task; a
   * fine-tuned version: its run's task); new versions start as candidates. A refresh never moves
   * a version to another task. Throws ServiceError('not-found') for an unknown task.
   */
  upsert(pkg: ModelPackage, builtin = false, taskId = STARTER_TASK_ID): number {
    const m = pkg.manifest;
    const dir = builtin ? pkg.dir : path.relative(this.dataDir, pkg.dir);
    if (!this.db.prepare('SELECT 1 FROM tasks WHERE id = ?').get(taskId))
      throw new ServiceError('not-found', `no task ${taskId}`);
    return (
      this.db
        .prepare(
          `INSERT INTO model_versions (model_id, name, version, parent_id, dir, manifest, status, builtin, task_id)
           VALUES (?, ?, ?, ?, ?, ?, 'candidate', ?, ?)
           ON CONFLICT (model_id) DO UPDATE SET dir = excluded.dir, manifest = excluded.manifest, name = excluded.name
           RETURNING id`,
        )
        .get(m.id, m.name, m.version, m.parent, dir, JSON.stringify(m), builtin ? 1 : 0, taskId) as { id: number }
    ).id;
  }

  /** Every version, newest first; `taskId` keeps one task's line. */
  async list(input?: { taskId?: number | undefined }): Promise<ModelVersionInfo[]> {
    const rows =
      input?.taskId === undefined
        ? (this.db.prepare('SELECT * FROM model_versions ORDER BY created_at DESC, id DESC').all() as Row[])
        : (this.db
            .prepare('SELECT * FROM model_versions WHERE task_id = ? ORDER BY created_at DESC, id DESC')
            .all(input.taskId) as Row[]);
    return rows.map((r) => toInfo(r, this.domainOf(r.task_id)));
  }

  /** Makes a version its task's active one; the task's previous active version is archived, other tasks' stay. */
  async activate({ id }: { id: number }): Promise<ModelVersionInfo> {
    const row = this.row(id);
    // The engine loads and probes the version first: a model that cannot run is never made active.
    for (const listener of this.listeners) await listener(row);
    this.db.transaction(() => {
      this.db.prepare("UPDATE model_versions SET status = 'archived' WHERE status = 'active' AND task_id = ?").run(row.task_id);
      this.db.prepare("UPDATE model_versions SET status = 'active' WHERE id = ?").run(id);
    })();
    this.events.emit('onDidChangeModels', { activeId: id });
    return this.info(id);
  }

  async exportVersion({ id, folder }: { id: number; folder: string }): Promise<{ folder: string }> {
    return { folder: copyModelFolder(this.get(id).dir, folder).dir };
  }

  /** The folder is copied into the data folder's models/ first, so the source may go away. */
  async importVersion({ folder, taskId }: { folder: string; taskId?: number | undefined }): Promise<ModelVersionInfo> {
    const source = readModelPackage(path.resolve(folder));
    const existing = this.db.prepare('SELECT id FROM model_versions WHERE model_id = ?').pluck().get(source.manifest.id) as
      number | undefined;
    if (existing !== undefined) throw new ServiceError('conflict', `model ${source.manifest.id} is already registered`);
    const task = taskId ?? STARTER_TASK_ID;
    if (!this.db.prepare('SELECT 1 FROM tasks WHERE id = ?').get(task)) throw new ServiceError('not-found', `no task ${task}`);
    const id = this.upsert(copyModelFolder(source.dir, path.join(this.dataDir, 'models', source.manifest.id)), false, task);
    this.events.emit('onDidChangeModels', { activeId: this.activeRow(task)?.id ?? null });
    return this.info(id);
  }

  async learningCurve({ id }: { id: number }): Promise<LearningCurve | null> {
    // A fine-tuned version ships none: the recipe's curve is its ancestor's (the starter's).
    for (const v of this.lineage(id)) {
      const file = path.join(v.dir, 'learning-curve.json');
      if (!existsSync(file)) continue;
      let parsed: ReturnType<typeof learningCurveSchema.safeParse>;
      try {
        parsed = learningCurveSchema.safeParse(JSON.parse(readFileSync(file, 'utf8')));
      } catch {
        throw new ServiceError('corrupt', `the learning curve of ${v.manifest.id} is not valid JSON`);
      }
      if (!parsed.success)
        throw new ServiceError('corrupt', `the learning curve of ${v.manifest.id} does not have the expected fields`);
      return parsed.data;
    }
    return null;
  }

  /** The version, then its parent, grandparent…: each manifest names its parent's model id. */
  *lineage(id: number): Generator<ResolvedVersion> {
    const byModelId = this.db.prepare('SELECT * FROM model_versions WHERE model_id = ?');
    for (let row: Row | undefined = this.row(id), hops = 0; row && hops < 100; hops++) {
      yield this.resolved(row);
      row = row.parent_id === null ? undefined : (byModelId.get(row.parent_id) as Row | undefined);
    }
  }

  /** Called before a version becomes active; throwing refuses the switch. */
  onWillActivate(listener: (version: ResolvedVersion) => Promise<void>): void {
    this.listeners.add((row) => listener(this.resolved(row)));
  }

  /** The task's active version (default: the starter task), or null before its first promotion. */
  active(taskId = STARTER_TASK_ID): ResolvedVersion | null {
    const row = this.activeRow(taskId);
    return row ? this.resolved(row) : null;
  }

  /** The active version of every task that has one, by task id. */
  actives(): ResolvedVersion[] {
    return (this.db.prepare("SELECT * FROM model_versions WHERE status = 'active' ORDER BY task_id").all() as Row[]).map((r) =>
      this.resolved(r),
    );
  }

  get(id: number): ResolvedVersion {
    return this.resolved(this.row(id));
  }

  /** The task's applicability rule (its `domain`); undefined for a task without one. */
  domainOf(taskId: number): ModelDomain | undefined {
    const text = this.db.prepare('SELECT domain FROM tasks WHERE id = ?').pluck().get(taskId) as string | undefined;
    return text === undefined ? undefined : (JSON.parse(text) as ModelDomain);
  }

  private resolved(row: Row): ResolvedVersion {
    const manifest = JSON.parse(row.manifest) as ModelManifest;
    const domain = this.domainOf(row.task_id);
    return {
      id: row.id,
      dir: path.resolve(this.dataDir, row.dir),
      manifest: domain ? { ...manifest, domain } : manifest,
      taskId: row.task_id,
    };
  }

  private info(id: number): ModelVersionInfo {
    const row = this.row(id);
    return toInfo(row, this.domainOf(row.task_id));
  }

  private activeRow(taskId: number): Row | undefined {
    return this.db.prepare("SELECT * FROM model_versions WHERE status = 'active' AND task_id = ?").get(taskId) as Row | undefined;
  }

  private row(id: number): Row {
    const row = this.db.prepare('SELECT * FROM model_versions WHERE id = ?').get(id) as Row | undefined;
    if (!row) throw new ServiceError('not-found', `no model version ${id}`);
    return row;
  }
}

function toInfo(row: Row, domain: ModelDomain | undefined): ModelVersionInfo {
  const m = JSON.parse(row.manifest) as ModelManifest;
  return {
    id: row.id,
    taskId: row.task_id,
    ...(domain ? { domain } : {}),
    modelId: row.model_id,
    name: row.name,
    version: row.version,
    parent: row.parent_id,
    status: row.status,
    builtin: row.builtin === 1,
    createdAt: row.created_at,
    inputSize: m.input.size,
    ...manifestGeometry(m),
    labels: m.output.labels,
    trainingData: m.training.data,
    metrics: m.metrics,
  };
}
