// 0130: tasks give label values their meaning (issue 22). A task is a name, what it applies to
// (the `domain` rule of model.json), an ordered list of labels (value, name, colour, SEG codes;
// a retired label keeps its value reserved) and its own line of model versions.
// - The starter's binary "lesion" becomes task 1, so every existing label, draft, review item,
//   prediction (through its version) and version keeps its meaning; `task_id` defaults to 1 on
//   the rows older code writes, and the app names the task explicitly from now on.
// - An image carries at most one current label per task (was: one per image).
// - One active version per task (was: one in all).
// - A training run belongs to a task; its parent is NULL for a task's first model (cold start).
import type { Migration } from './types';

export const STARTER_TASK_ID = 1;

const STARTER_DOMAIN = JSON.stringify({
  modalities: ['US'],
  photometric: ['MONOCHROME2', 'RGB'],
  bodyPart: 'breast (synthetic phantoms)',
});

export const migration0130: Migration = {
  version: 130,
  name: 'tasks',
  up(db) {
    db.exec(`
      CREATE TABLE tasks (
        id         INTEGER PRIMARY KEY,
        name       TEXT NOT NULL CHECK (length(trim(name)) > 0),
        -- model.json's domain rule: {modalities, photometric, bodyPart}.
        domain     TEXT NOT NULL CHECK (json_valid(domain)),
        model_kind TEXT NOT NULL DEFAULT '2d' CHECK (model_kind IN ('2d', '2.5d', '3d')),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE UNIQUE INDEX tasks_name ON tasks (name COLLATE NOCASE);

      CREATE TABLE task_labels (
        task_id    INTEGER NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
        -- The pixel value in every label map of the task; 255 marks "not labelled" in staging.
        value      INTEGER NOT NULL CHECK (value BETWEEN 1 AND 254),
        name       TEXT NOT NULL CHECK (length(trim(name)) > 0),
        colour     TEXT NOT NULL CHECK (colour GLOB '#[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]'),
        -- Segmented Property Category / Type codes: {value, scheme, meaning}.
        category   TEXT NOT NULL CHECK (json_valid(category)),
        type       TEXT NOT NULL CHECK (json_valid(type)),
        retired_at TEXT,
        PRIMARY KEY (task_id, value)
      ) STRICT, WITHOUT ROWID;
      -- Names are unique among a task's labels in use (a retired name may be reused).
      CREATE UNIQUE INDEX task_labels_name ON task_labels (task_id, name COLLATE NOCASE) WHERE retired_at IS NULL;
    `);
    db.prepare('INSERT INTO tasks (id, name, domain) VALUES (?, ?, ?)').run(
      STARTER_TASK_ID,
      'Breast lesion (demo)',
      STARTER_DOMAIN,
    );
    db.prepare('INSERT INTO task_labels (task_id, value, name, colour, category, type) VALUES (?, 1, ?, ?, ?, ?)').run(
      STARTER_TASK_ID,
      'lesion',
      '#ff5a5a',
      JSON.stringify({ value: '49755003', scheme: 'SCT', meaning: 'Morphologically Altered Structure' }),
      JSON.stringify({ value: '52988006', scheme: 'SCT', meaning: 'Lesion' }),
    );

    db.exec(`
      -- Versions belong to a task; one active per task.
      ALTER TABLE model_versions ADD COLUMN task_id INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id);
      DROP INDEX model_versions_one_active;
      CREATE UNIQUE INDEX model_versions_one_active ON model_versions (task_id) WHERE status = 'active';
      CREATE INDEX model_versions_task ON model_versions (task_id, created_at);

      -- Labels, drafts and review items name their task; one current label per image and task.
      ALTER TABLE labels ADD COLUMN task_id INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id);
      DROP INDEX labels_current;
      CREATE UNIQUE INDEX labels_current ON labels (image_id, task_id) WHERE superseded_at IS NULL;
      DROP INDEX labels_series;
      CREATE INDEX labels_series ON labels (series_id, task_id) WHERE superseded_at IS NULL;
      ALTER TABLE drafts ADD COLUMN task_id INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id);
      ALTER TABLE review_items ADD COLUMN task_id INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id);

      -- Training runs belong to a task and may have no parent (a task's first model).
      CREATE TABLE training_runs_new (
        id                   INTEGER PRIMARY KEY,
        status               TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled', 'interrupted')),
        task_id              INTEGER NOT NULL DEFAULT 1 REFERENCES tasks (id),
        parent_version_id    INTEGER REFERENCES model_versions (id),
        candidate_version_id INTEGER REFERENCES model_versions (id),
        hyperparameters      TEXT NOT NULL CHECK (json_valid(hyperparameters)),
        out_dir              TEXT NOT NULL,
        pid                  INTEGER,
        python               TEXT,
        curve                TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(curve)),
        error                TEXT,
        created_at           TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at           TEXT,
        finished_at          TEXT,
        CHECK (status <> 'done' OR candidate_version_id IS NOT NULL)
      ) STRICT;
      INSERT INTO training_runs_new (id, status, task_id, parent_version_id, candidate_version_id, hyperparameters, out_dir, pid, python, curve, error, created_at, started_at, finished_at)
        SELECT r.id, r.status, COALESCE((SELECT v.task_id FROM model_versions v WHERE v.id = r.parent_version_id), 1), r.parent_version_id,
               r.candidate_version_id, r.hyperparameters, r.out_dir, r.pid, r.python, r.curve, r.error, r.created_at, r.started_at, r.finished_at
        FROM training_runs r;
      DROP TABLE training_runs;
      ALTER TABLE training_runs_new RENAME TO training_runs;
      CREATE UNIQUE INDEX training_runs_one_running ON training_runs (status) WHERE status = 'running';
      CREATE INDEX training_runs_task ON training_runs (task_id, created_at);

      CREATE TABLE model_version_training_new (
        model_version_id  INTEGER PRIMARY KEY REFERENCES model_versions (id) ON DELETE CASCADE,
        run_id            INTEGER NOT NULL UNIQUE REFERENCES training_runs (id),
        parent_version_id INTEGER REFERENCES model_versions (id),
        hyperparameters   TEXT NOT NULL CHECK (json_valid(hyperparameters)),
        trainer_version   TEXT NOT NULL,
        torch_version     TEXT NOT NULL,
        metrics           TEXT NOT NULL CHECK (json_valid(metrics)),
        gate              TEXT CHECK (gate IS NULL OR json_valid(gate)),
        reference_gate    TEXT CHECK (reference_gate IS NULL OR json_valid(reference_gate))
      ) STRICT;
      INSERT INTO model_version_training_new SELECT model_version_id, run_id, parent_version_id, hyperparameters, trainer_version,
        torch_version, metrics, gate, reference_gate FROM model_version_training;
      DROP TABLE model_version_training;
      ALTER TABLE model_version_training_new RENAME TO model_version_training;
    `);
  },
};
