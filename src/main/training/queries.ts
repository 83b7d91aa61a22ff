// Training queries: the runs (training_runs), the labels each run trained and validated on
// (training_run_labels) and what a run made (model_version_training), as named functions beside
// the feature, so a test can run EXPLAIN QUERY PLAN on the real statements.
// The queue of new labels (queue.ts) and the labels a run stages (stage.ts) keep theirs there.
import type { FirstModelGate, GateResult, TrainingCurvePoint, TrainingRunStatus } from '../../shared/contract/training';
import type { Database } from '../db/database';

/** A training_runs row as stored. */
export interface RunRow {
  id: number;
  status: TrainingRunStatus;
  task_id: number;
  parent_version_id: number | null;
  candidate_version_id: number | null;
  hyperparameters: string;
  out_dir: string;
  pid: number | null;
  /** The backend process that runs it (null: written before owners were kept). */
  owner_pid: number | null;
  curve: string;
  error: string | null;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  /** A Slurm batch job (ClusterJobRef as JSON, migration 0200); null for a local trainer. */
  cluster_job: string | null;
  /** The gate record of a version adopted from the shared folder (AdoptedFrom as JSON, migration 0220); null for a run. */
  adopted_from: string | null;
}

type Split = 'training' | 'validation';
const NOW = "strftime('%Y-%m-%dT%H:%M:%fZ', 'now')";

export function runRow(db: Database, id: number): RunRow | undefined {
  return db.prepare('SELECT * FROM training_runs WHERE id = ?').get(id) as RunRow | undefined;
}

/** The owners of the runs queued or running, with the time each was queued or started. */
export function busyRunOwners(db: Database): { ownerPid: number | null; since: string | null }[] {
  return db
    .prepare(
      "SELECT owner_pid AS ownerPid, coalesce(started_at, created_at) AS since FROM training_runs WHERE status IN ('queued', 'running')",
    )
    .all() as { ownerPid: number | null; since: string | null }[];
}

/** Runs marked running: at start, those a process that died left so (and another live backend's). */
export function runningRuns(db: Database): RunRow[] {
  return db.prepare("SELECT * FROM training_runs WHERE status = 'running'").all() as RunRow[];
}

/** Every run's id, newest first. */
export function runIds(db: Database): number[] {
  return db.prepare('SELECT id FROM training_runs ORDER BY id DESC').pluck().all() as number[];
}

/** The oldest queued run, the next to start. */
export function nextQueuedRun(db: Database): number | undefined {
  return db.prepare("SELECT id FROM training_runs WHERE status = 'queued' ORDER BY id LIMIT 1").pluck().get() as
    number | undefined;
}

/** Output folders (relative to the data folder) of the runs that ended: `done` ones, or every ended one. */
export function endedRunFolders(db: Database, which: 'done' | 'ended'): string[] {
  const where = which === 'done' ? "status = 'done'" : "status NOT IN ('queued', 'running')";
  return db.prepare(`SELECT out_dir FROM training_runs WHERE ${where}`).pluck().all() as string[];
}

/** Queues a run, its output folder `${runsDir}/run-<id>`; returns its id. One transaction. */
export function insertQueuedRun(
  db: Database,
  run: { taskId: number; parentVersionId: number | null; hyperparameters: unknown; folderOf: (id: number) => string },
): number {
  return db.transaction(() => {
    const id = Number(
      db
        .prepare(
          "INSERT INTO training_runs (status, task_id, parent_version_id, hyperparameters, out_dir, owner_pid) VALUES ('queued', ?, ?, ?, '', ?)",
        )
        .run(run.taskId, run.parentVersionId, JSON.stringify(run.hyperparameters), process.pid).lastInsertRowid,
    );
    db.prepare('UPDATE training_runs SET out_dir = ? WHERE id = ?').run(run.folderOf(id), id);
    return id;
  })();
}

/** The run's batch job (ClusterJobRef as JSON), kept so a restart can follow it. */
export function setClusterJob(db: Database, id: number, clusterJob: string): void {
  db.prepare('UPDATE training_runs SET cluster_job = ? WHERE id = ?').run(clusterJob, id);
}

/** The run started (or was found running again): its process or batch job, and this backend as its owner. */
export function markRunning(db: Database, id: number, pid: number | null, python: string, clusterJob: string | null): void {
  db.prepare(
    `UPDATE training_runs SET status = 'running', pid = ?, python = ?, cluster_job = ?, owner_pid = ?, started_at = coalesce(started_at, ${NOW}) WHERE id = ?`,
  ).run(pid, python, clusterJob, process.pid, id);
}

/** Ends a run with its status and error (null when none); the process id is cleared. */
export function finishRun(db: Database, id: number, status: TrainingRunStatus, error: string | null): void {
  db.prepare(`UPDATE training_runs SET status = ?, error = ?, pid = NULL, finished_at = ${NOW} WHERE id = ?`).run(
    status,
    error,
    id,
  );
}

/** A saver of the run's learning curve (the statement prepared once, run at every point). */
export function curveSaver(db: Database, id: number): (curve: TrainingCurvePoint[]) => void {
  const save = db.prepare('UPDATE training_runs SET curve = ? WHERE id = ?');
  return (curve) => save.run(JSON.stringify(curve), id);
}

/**
 * The run row of a version adopted from the shared folder (issue 26): done at once, no training,
 * `adopted_from` the publication it came from; returns its id.
 */
export function insertAdoptedRun(
  db: Database,
  r: { taskId: number; parentVersionId: number | null; candidateVersionId: number; outDir: string; adoptedFrom: unknown },
): number {
  return Number(
    db
      .prepare(
        `INSERT INTO training_runs (status, task_id, parent_version_id, candidate_version_id, hyperparameters, out_dir, adopted_from,
                                    started_at, finished_at)
         VALUES ('done', ?, ?, ?, '{}', ?, ?, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))`,
      )
      .run(r.taskId, r.parentVersionId, r.candidateVersionId, r.outDir, JSON.stringify(r.adoptedFrom)).lastInsertRowid,
  );
}

/** Records the labels a run trains and validates on. One transaction. */
export function insertRunLabels(db: Database, id: number, labels: Record<Split, { labelId: number }[]>): void {
  const insert = db.prepare('INSERT INTO training_run_labels (run_id, label_id, split) VALUES (?, ?, ?)');
  db.transaction(() => {
    for (const split of ['training', 'validation'] as const) for (const l of labels[split]) insert.run(id, l.labelId, split);
  })();
}

/** The statement behind {@link runLabelCounts} (one parameter: the run id). */
export const RUN_LABEL_COUNTS_SQL = 'SELECT split, count(*) AS n FROM training_run_labels WHERE run_id = ? GROUP BY split';

/** How many labels a run trained and validated on. */
export function runLabelCounts(db: Database, id: number): Record<Split, number> {
  const counts = db.prepare(RUN_LABEL_COUNTS_SQL).all(id) as { split: string; n: number }[];
  return {
    training: counts.find((c) => c.split === 'training')?.n ?? 0,
    validation: counts.find((c) => c.split === 'validation')?.n ?? 0,
  };
}

/** What made a registered candidate: its run, parent, recipe, trainer and metrics; the run points at it. One transaction. */
export function recordCandidate(
  db: Database,
  c: {
    versionId: number;
    runId: number;
    parentVersionId: number | null;
    hyperparameters: unknown;
    trainerVersion: string;
    torchVersion: string;
    metrics: unknown;
  },
): void {
  db.transaction(() => {
    db.prepare(
      `INSERT INTO model_version_training (model_version_id, run_id, parent_version_id, hyperparameters, trainer_version, torch_version, metrics)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      c.versionId,
      c.runId,
      c.parentVersionId,
      JSON.stringify(c.hyperparameters),
      c.trainerVersion,
      c.torchVersion,
      JSON.stringify(c.metrics),
    );
    db.prepare('UPDATE training_runs SET candidate_version_id = ? WHERE id = ?').run(c.versionId, c.runId);
  })();
}

/** The run and parent that made a version; undefined when no training run made it. */
export function trainingRecord(db: Database, versionId: number): { runId: number; parentVersionId: number | null } | undefined {
  return db
    .prepare(
      'SELECT run_id AS runId, parent_version_id AS parentVersionId FROM model_version_training WHERE model_version_id = ?',
    )
    .get(versionId) as { runId: number; parentVersionId: number | null } | undefined;
}

/** The gate on the run's validation labels (`gate`) or on the parent's reference set (`reference_gate`). */
export type GateColumn = 'gate' | 'reference_gate';

export function storedGate(db: Database, versionId: number, column: GateColumn): GateResult | FirstModelGate | null {
  const gate = db.prepare(`SELECT ${column} FROM model_version_training WHERE model_version_id = ?`).pluck().get(versionId) as
    string | null | undefined;
  return gate ? (JSON.parse(gate) as GateResult | FirstModelGate) : null;
}

export function storeGate(db: Database, versionId: number, column: GateColumn, result: GateResult | FirstModelGate): void {
  db.prepare(`UPDATE model_version_training SET ${column} = ? WHERE model_version_id = ?`).run(JSON.stringify(result), versionId);
}

/** One validation label of a run, as the gate compares it. */
export interface ValidationCase {
  labelId: number;
  imageId: number;
  rows: number;
  columns: number;
  origin: string;
  modelVersionId: number | null;
  /** The series' modality and description: what domain the image is really from. */
  series: string;
}

/** Validation labels a run used (frozen split), as (label, image) with the label's provenance, in label order. */
export function validationCases(db: Database, runId: number): ValidationCase[] {
  return db
    .prepare(
      `SELECT l.id AS labelId, l.image_id AS imageId, i.rows, i.columns, l.origin, l.model_version_id AS modelVersionId,
              trim(se.modality || ' ' || se.description) AS series
       FROM training_run_labels r JOIN labels l ON l.id = r.label_id JOIN images i ON i.id = l.image_id JOIN series se ON se.id = i.series_id
       WHERE r.run_id = ? AND r.split = 'validation' ORDER BY l.id`,
    )
    .all(runId) as ValidationCase[];
}

/** The labels a multi-label gate scores: the run's task's labels in use (value, name), in value order. */
export function taskLabelsOfRun(db: Database, runId: number): { value: number; name: string }[] {
  return db
    .prepare(
      `SELECT l.value, l.name FROM training_runs r JOIN task_labels l ON l.task_id = r.task_id
       WHERE r.id = ? AND l.retired_at IS NULL ORDER BY l.value`,
    )
    .all(runId) as { value: number; name: string }[];
}

/** Readers of stored masks (RLE): a version's prediction of an image, and a label's mask. Prepared once. */
export function maskReaders(db: Database): {
  prediction: (imageId: number, versionId: number) => Uint8Array | undefined;
  label: (labelId: number) => Uint8Array | undefined;
} {
  const prediction = db.prepare('SELECT mask FROM predictions WHERE image_id = ? AND model_version_id = ?').pluck();
  const label = db.prepare('SELECT mask FROM labels WHERE id = ?').pluck();
  return {
    prediction: (imageId, versionId) => prediction.get(imageId, versionId) as Uint8Array | undefined,
    label: (labelId) => label.get(labelId) as Uint8Array | undefined,
  };
}
