// 0030: model versions and their predictions (one per image × model version).
import type { Migration } from './types';

export const migration0030: Migration = {
  version: 30,
  name: 'models-and-predictions',
  up(db) {
    db.exec(`
      CREATE TABLE model_versions (
        id         INTEGER PRIMARY KEY,
        model_id   TEXT NOT NULL UNIQUE,
        name       TEXT NOT NULL,
        version    TEXT NOT NULL,
        parent_id  TEXT,
        -- The model folder: absolute, or relative to the data folder for trained versions.
        dir        TEXT NOT NULL,
        manifest   TEXT NOT NULL CHECK (json_valid(manifest)),
        status     TEXT NOT NULL CHECK (status IN ('active', 'candidate', 'archived')),
        builtin    INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;
      CREATE UNIQUE INDEX model_versions_one_active ON model_versions (status) WHERE status = 'active';

      CREATE TABLE predictions (
        id                INTEGER PRIMARY KEY,
        image_id          INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        model_version_id  INTEGER NOT NULL REFERENCES model_versions (id),
        -- uint8 label map, run-length encoded (src/shared/imaging/rle.ts); never float.
        mask              BLOB NOT NULL,
        -- per-pixel binary entropy of the averaged probability, 0..255, RLE as well.
        uncertainty       BLOB,
        foreground_pixels INTEGER NOT NULL,
        entropy           REAL NOT NULL,
        tta_flips         INTEGER NOT NULL,
        tta_dice          REAL,
        timings           TEXT CHECK (timings IS NULL OR json_valid(timings)),
        created_at        TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        UNIQUE (image_id, model_version_id)
      ) STRICT;
      CREATE INDEX predictions_model ON predictions (model_version_id);
    `);
  },
};
