// The tasks feature's queries (tables of migration 0130).
import { defaultColour, type ModelKind, type Task, type TaskLabel } from '../../shared/contract';
import { codesForName, type CatalogueEntry, type CodedConcept } from '../../shared/model/codes';
import type { ModelDomain } from '../../shared/model/manifest';
import type { Database } from '../db/database';

interface TaskRow {
  id: number;
  name: string;
  domain: string;
  model_kind: ModelKind;
  created_at: string;
  active_version_id: number | null;
  version_count: number;
  pacs_push_endpoint: number | null;
}

interface LabelRow {
  task_id: number;
  value: number;
  name: string;
  colour: string;
  category: string;
  type: string;
  retired_at: string | null;
}

const TASKS = `
  SELECT t.id, t.name, t.domain, t.model_kind, t.created_at, t.pacs_push_endpoint,
         (SELECT v.id FROM model_versions v WHERE v.task_id = t.id AND v.status = 'active') AS active_version_id,
         (SELECT count(*) FROM model_versions v WHERE v.task_id = t.id) AS version_count
  FROM tasks t`;

function labelsOf(db: Database, taskIds: number[]): Map<number, TaskLabel[]> {
  const out = new Map<number, TaskLabel[]>(taskIds.map((id) => [id, []]));
  const rows =
    taskIds.length === 1
      ? (db.prepare('SELECT * FROM task_labels WHERE task_id = ? ORDER BY value').all(taskIds[0]) as LabelRow[])
      : (db.prepare('SELECT * FROM task_labels ORDER BY task_id, value').all() as LabelRow[]);
  for (const r of rows) {
    out.get(r.task_id)?.push({
      value: r.value,
      name: r.name,
      colour: r.colour,
      category: JSON.parse(r.category) as CodedConcept,
      type: JSON.parse(r.type) as CodedConcept,
      retiredAt: r.retired_at,
    });
  }
  return out;
}

function toTask(r: TaskRow, labels: TaskLabel[]): Task {
  return {
    id: r.id,
    name: r.name,
    domain: JSON.parse(r.domain) as ModelDomain,
    modelKind: r.model_kind,
    labels,
    activeVersionId: r.active_version_id,
    versionCount: r.version_count,
    createdAt: r.created_at,
    pacsPushEndpointId: r.pacs_push_endpoint,
  };
}

/** Every task, by name. */
export function readTasks(db: Database): Task[] {
  const rows = db.prepare(`${TASKS} ORDER BY t.name COLLATE NOCASE, t.id`).all() as TaskRow[];
  const labels = labelsOf(
    db,
    rows.map((r) => r.id),
  );
  return rows.map((r) => toTask(r, labels.get(r.id) ?? []));
}

/** One task with every label (retired ones marked), or undefined. */
export function readTask(db: Database, id: number): Task | undefined {
  const row = db.prepare(`${TASKS} WHERE t.id = ?`).get(id) as TaskRow | undefined;
  if (!row) return undefined;
  return toTask(row, labelsOf(db, [id]).get(id) ?? []);
}

export function taskExists(db: Database, id: number): boolean {
  return db.prepare('SELECT 1 FROM tasks WHERE id = ?').get(id) !== undefined;
}

/** Whether a training run of the task is queued or running (training_runs, migration 0130's task_id). */
export function runInFlight(db: Database, taskId: number): boolean {
  return (
    db.prepare("SELECT 1 FROM training_runs WHERE task_id = ? AND status IN ('queued', 'running') LIMIT 1").get(taskId) !==
    undefined
  );
}

/** The value after every label the task ever had (retired values stay reserved). */
export function nextLabelValue(db: Database, taskId: number): number {
  return ((db.prepare('SELECT max(value) FROM task_labels WHERE task_id = ?').pluck().get(taskId) as number | null) ?? 0) + 1;
}

export function insertLabel(
  db: Database,
  taskId: number,
  value: number,
  l: { name: string; colour: string; category: CodedConcept; type: CodedConcept },
): void {
  db.prepare('INSERT INTO task_labels (task_id, value, name, colour, category, type) VALUES (?, ?, ?, ?, ?, ?)').run(
    taskId,
    value,
    l.name,
    l.colour,
    JSON.stringify(l.category),
    JSON.stringify(l.type),
  );
}

/** A new label's colour and codes: as given, else the value's default colour and codes found by name. */
export function labelWithDefaults(
  l: {
    name: string;
    colour?: string | undefined;
    category?: CatalogueEntry['category'] | undefined;
    type?: CatalogueEntry['type'] | undefined;
  },
  value: number,
): { name: string; colour: string; category: CatalogueEntry['category']; type: CatalogueEntry['type'] } {
  const codes = l.type
    ? { category: l.category ?? codesForName(l.name, value).category, type: l.type }
    : codesForName(l.name, value, l.category);
  return { name: l.name, colour: l.colour ?? defaultColour(value), ...codes };
}

/** Whether `e` is SQLite's UNIQUE constraint failure on `what` (e.g. "tasks.name"). */
export function isUniqueViolation(e: unknown, what: string): boolean {
  const err = e as { code?: string; message?: string };
  return err.code === 'SQLITE_CONSTRAINT_UNIQUE' && (err.message ?? '').includes(what);
}
