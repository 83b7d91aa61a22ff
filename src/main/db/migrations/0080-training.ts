// 0080: fine-tuning runs and what the registry keeps about each trained version.
// - `training_runs`: one row per fine-tuning run, queued → running → done | failed | cancelled
//   | interrupted. `pid` and `out_dir` (relative to the data folder) let the next start find a
//   run whose process died with the backend (kill -9, power cut): it is marked interrupted and
//   its folder, which never held a committed model.json, is removed.
// - `training_run_labels`: the exact label rows (by id; labels are immutable) a run trained or
//   validated on, so a version's training data stays exact after later re-submissions.
// - `model_version_training`: for a version made by a run, its parent version, hyper-parameters,
//   trainer and torch versions, metrics, the training curve and the gate's verdict.
import type { Migration } from './types';

export const TRAINING_RUN_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled', 'interrupted'] as const;

export const migration0080: Migration = {
  version: 80,
  name: 'training-runs',
  up(db) {
    db.exec(`
      CREATE TABLE training_runs (
        id                  INTEGER PRIMARY KEY,
        status              TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
        parent_version_id   INTEGER NOT NULL REFERENCES model_versions (id),
        candidate_version_id INTEGER REFERENCES model_versions (id),
        -- The trainer's options (JSON object): recipe, steps, learning rate, batch size, seed.
        hyperparameters     TEXT NOT NULL CHECK (json_valid(hyperparameters)),
        -- Folder the trainer writes, relative to the data folder; removed unless the run is done.
        out_dir             TEXT NOT NULL,
        pid                 INTEGER,
        python              TEXT,
        -- Step and epoch events as received (JSON array), for the training curve.
        curve               TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(curve)),
        error               TEXT,
        created_at          TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at          TEXT,
        finished_at         TEXT,
        CHECK (status <> 'done' OR candidate_version_id IS NOT NULL)
      ) STRICT;
      -- One run at a time: further requests wait as queued.
      CREATE UNIQUE INDEX training_runs_one_running ON training_runs (status) WHERE status = 'running';

      CREATE TABLE training_run_labels (
        run_id   INTEGER NOT NULL REFERENCES training_runs (id) ON DELETE CASCADE,
        label_id INTEGER NOT NULL REFERENCES labels (id),
        split    TEXT NOT NULL CHECK (split IN ('training', 'validation')),
        PRIMARY KEY (run_id, label_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX training_run_labels_label ON training_run_labels (label_id);

      CREATE TABLE model_version_training (
        model_version_id  INTEGER PRIMARY KEY REFERENCES model_versions (id) ON DELETE CASCADE,
        run_id            INTEGER NOT NULL UNIQUE REFERENCES training_runs (id),
        parent_version_id INTEGER NOT NULL REFERENCES model_versions (id),
        hyperparameters   TEXT NOT NULL CHECK (json_valid(hyperparameters)),
        trainer_version   TEXT NOT NULL,
        torch_version     TEXT NOT NULL,
        metrics           TEXT NOT NULL CHECK (json_valid(metrics)),
        -- The registry gate (per-case Dice of candidate and parent, paired bootstrap CI, verdict);
        -- NULL until the gate has run.
        gate              TEXT CHECK (gate IS NULL OR json_valid(gate))
      ) STRICT;
    `);
  },
};
