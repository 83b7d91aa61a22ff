// 0060: final labels and what the review/fine-tuning loop records about them.
// - `labels`: the final uint8 label map of one image with its provenance. Rows are never
//   rewritten: a re-submission inserts a new row and marks the old one superseded, so a model
//   version's list of training labels (by id) stays exact forever.
// - `splits`: the frozen training/validation assignment, decided once per patient (Patient ID,
//   or the study when there is none) when its first label is submitted, and never moved.
// - `training_exclusions`: images the user excluded from training (kept labelled).
// - `audit_log` (from 0010) gains series_id and model_version_id: every review transition,
//   export and send — who, when, what, which series, which model version.
import type { Migration } from './types';

export const LABEL_ORIGINS = ['accepted', 'edited', 'drawn', 'imported'] as const;

export const migration0060: Migration = {
  version: 60,
  name: 'labels-splits-audit',
  up(db) {
    db.exec(`
      CREATE TABLE labels (
        id                INTEGER PRIMARY KEY,
        image_id          INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        series_id         INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        -- uint8 label map, run-length encoded (src/shared/imaging/rle.ts); never float.
        mask              BLOB NOT NULL,
        foreground_pixels INTEGER NOT NULL CHECK (foreground_pixels >= 0),
        -- accepted: the prediction unchanged; edited: a prediction corrected; drawn: from scratch;
        -- imported: from a DICOM SEG.
        origin            TEXT NOT NULL CHECK (origin IN ('accepted', 'edited', 'drawn', 'imported')),
        -- The model version whose prediction the label started from (accepted / edited).
        model_version_id  INTEGER REFERENCES model_versions (id),
        author            TEXT NOT NULL DEFAULT '',
        -- Reviewer's time on the series, shared out over its slices (seconds).
        seconds           REAL NOT NULL DEFAULT 0 CHECK (seconds >= 0),
        -- Edited predictions: Dice(prediction, label) and the pixels that differ.
        edit_dice         REAL CHECK (edit_dice IS NULL OR (edit_dice >= 0 AND edit_dice <= 1)),
        pixels_changed    INTEGER CHECK (pixels_changed IS NULL OR pixels_changed >= 0),
        created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        superseded_at     TEXT,
        CHECK (origin IN ('drawn', 'imported') OR model_version_id IS NOT NULL)
      ) STRICT;
      -- At most one current label per image.
      CREATE UNIQUE INDEX labels_current ON labels (image_id) WHERE superseded_at IS NULL;
      CREATE INDEX labels_series ON labels (series_id) WHERE superseded_at IS NULL;
      CREATE INDEX labels_model ON labels (model_version_id);

      CREATE TABLE splits (
        -- 'patient:<patients.patient_key>' or 'study:<Study Instance UID>'.
        split_key  TEXT PRIMARY KEY,
        split      TEXT NOT NULL CHECK (split IN ('training', 'validation')),
        decided_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT, WITHOUT ROWID;

      CREATE TABLE training_exclusions (
        image_id    INTEGER PRIMARY KEY REFERENCES images (id) ON DELETE CASCADE,
        reason      TEXT NOT NULL DEFAULT '',
        excluded_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;

      -- audit_log (0010: at, actor, action, subject, detail JSON) gains the series and model
      -- version it concerns, so per-series and per-version views need no JSON parsing.
      ALTER TABLE audit_log ADD COLUMN series_id INTEGER REFERENCES series (id) ON DELETE SET NULL;
      ALTER TABLE audit_log ADD COLUMN model_version_id INTEGER REFERENCES model_versions (id);
      CREATE INDEX audit_log_series ON audit_log (series_id, at);
      CREATE INDEX audit_log_action ON audit_log (action, at);
    `);
  },
};
