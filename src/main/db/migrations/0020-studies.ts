// 0020: the study database — patients, studies, series, one image row per 2D frame, the
// content-addressed file store's index, imported label sets, and durable jobs with their items.
import type { Migration } from './types';

export const migration0020: Migration = {
  version: 20,
  name: 'studies-and-jobs',
  up(db) {
    db.exec(`
      CREATE TABLE patients (
        id          INTEGER PRIMARY KEY,
        -- Patient ID + issuer when present, else a key derived from the source (a file hash).
        patient_key TEXT NOT NULL UNIQUE,
        patient_id  TEXT NOT NULL DEFAULT '',
        name        TEXT NOT NULL DEFAULT '',
        birth_date  TEXT NOT NULL DEFAULT '',
        sex         TEXT NOT NULL DEFAULT ''
      ) STRICT;

      CREATE TABLE studies (
        id           INTEGER PRIMARY KEY,
        patient_id   INTEGER NOT NULL REFERENCES patients (id) ON DELETE CASCADE,
        study_uid    TEXT NOT NULL UNIQUE,
        study_date   TEXT NOT NULL DEFAULT '',
        study_time   TEXT NOT NULL DEFAULT '',
        description  TEXT NOT NULL DEFAULT '',
        accession    TEXT NOT NULL DEFAULT '',
        -- Kept current by the importer so the worklist needs no aggregation per row.
        modalities   TEXT NOT NULL DEFAULT '',
        series_count INTEGER NOT NULL DEFAULT 0,
        image_count  INTEGER NOT NULL DEFAULT 0,
        imported_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX studies_patient ON studies (patient_id);
      CREATE INDEX studies_date ON studies (study_date DESC, study_time DESC);
      CREATE INDEX studies_imported ON studies (imported_at DESC);
      CREATE INDEX patients_name ON patients (name COLLATE NOCASE);

      CREATE TABLE series (
        id            INTEGER PRIMARY KEY,
        study_id      INTEGER NOT NULL REFERENCES studies (id) ON DELETE CASCADE,
        series_uid    TEXT NOT NULL UNIQUE,
        modality      TEXT NOT NULL DEFAULT '',
        series_number INTEGER,
        description   TEXT NOT NULL DEFAULT '',
        source_format TEXT NOT NULL CHECK (source_format IN ('dicom', 'nifti', 'nrrd', 'metaimage', 'png', 'jpeg')),
        rows          INTEGER NOT NULL,
        columns       INTEGER NOT NULL,
        image_count   INTEGER NOT NULL DEFAULT 0,
        status        TEXT NOT NULL DEFAULT 'new' CHECK (status IN ('new', 'segmenting', 'segmented', 'in-review', 'reviewed')),
        thumbnail     BLOB,
        imported_at   TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE INDEX series_study ON series (study_id);
      CREATE INDEX series_status ON series (status);

      -- One row per stored file: the store is content-addressed by SHA-256.
      CREATE TABLE files (
        id            INTEGER PRIMARY KEY,
        sha256        TEXT NOT NULL UNIQUE,
        store_path    TEXT NOT NULL,
        size          INTEGER NOT NULL,
        format        TEXT NOT NULL,
        original_path TEXT NOT NULL DEFAULT ''
      ) STRICT;

      CREATE TABLE images (
        id                INTEGER PRIMARY KEY,
        series_id         INTEGER NOT NULL REFERENCES series (id) ON DELETE CASCADE,
        file_id           INTEGER NOT NULL REFERENCES files (id),
        frame_index       INTEGER NOT NULL DEFAULT 0,
        sop_instance_uid  TEXT,
        instance_number   INTEGER,
        -- Order within the series: position along the slice normal, then instance number.
        position_index    INTEGER NOT NULL DEFAULT 0,
        rows              INTEGER NOT NULL,
        columns           INTEGER NOT NULL,
        samples_per_pixel INTEGER NOT NULL DEFAULT 1,
        photometric       TEXT NOT NULL DEFAULT 'MONOCHROME2',
        pixel_spacing_row REAL,
        pixel_spacing_col REAL,
        image_position    TEXT CHECK (image_position IS NULL OR json_valid(image_position)),
        image_orientation TEXT CHECK (image_orientation IS NULL OR json_valid(image_orientation)),
        rescale_slope     REAL NOT NULL DEFAULT 1,
        rescale_intercept REAL NOT NULL DEFAULT 0,
        window_center     REAL,
        window_width      REAL,
        transfer_syntax   TEXT NOT NULL DEFAULT '',
        UNIQUE (file_id, frame_index)
      ) STRICT;
      CREATE INDEX images_series ON images (series_id, position_index);
      CREATE UNIQUE INDEX images_sop ON images (sop_instance_uid, frame_index) WHERE sop_instance_uid IS NOT NULL;

      -- DICOM SEG objects found on import, kept for the series they reference.
      CREATE TABLE label_sets (
        id                    INTEGER PRIMARY KEY,
        file_id               INTEGER NOT NULL REFERENCES files (id),
        sop_instance_uid      TEXT NOT NULL UNIQUE,
        referenced_series_uid TEXT NOT NULL,
        segments              TEXT NOT NULL CHECK (json_valid(segments)),
        source                TEXT NOT NULL DEFAULT 'imported'
      ) STRICT;
      CREATE INDEX label_sets_series ON label_sets (referenced_series_uid);

      CREATE TABLE jobs (
        id          INTEGER PRIMARY KEY,
        kind        TEXT NOT NULL CHECK (kind IN ('import', 'inference', 'training', 'export')),
        status      TEXT NOT NULL CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
        title       TEXT NOT NULL DEFAULT '',
        params      TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(params)),
        progress    TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(progress)),
        result      TEXT CHECK (result IS NULL OR json_valid(result)),
        error       TEXT,
        created_at  TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        started_at  TEXT,
        finished_at TEXT
      ) STRICT;
      CREATE INDEX jobs_status ON jobs (status, kind);

      -- What happened to each input of an import job: the report the user reads.
      CREATE TABLE import_items (
        id         INTEGER PRIMARY KEY,
        job_id     INTEGER NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
        path       TEXT NOT NULL,
        status     TEXT NOT NULL CHECK (status IN ('imported', 'duplicate', 'skipped', 'failed')),
        reason     TEXT NOT NULL DEFAULT '',
        series_uid TEXT
      ) STRICT;
      CREATE INDEX import_items_job ON import_items (job_id, status);
    `);
  },
};
