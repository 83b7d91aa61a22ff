// 0040: working label maps saved while the reader edits (one draft per series, one row per
// labelled slice, RLE like every stored mask) with the draft's undo history.
import type { Migration } from './types';

export const migration0040: Migration = {
  version: 40,
  name: 'label-drafts',
  up(db) {
    db.exec(`
      CREATE TABLE drafts (
        series_id  INTEGER PRIMARY KEY REFERENCES series (id) ON DELETE CASCADE,
        -- Optimistic concurrency: a save names the revision it builds on.
        revision   INTEGER NOT NULL DEFAULT 0,
        -- The undo history (src/shared/imaging/history.ts, serialised): XOR patches, RLE + base64.
        history    TEXT CHECK (history IS NULL OR json_valid(history)),
        created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
        updated_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now'))
      ) STRICT;

      CREATE TABLE draft_slices (
        series_id         INTEGER NOT NULL REFERENCES drafts (series_id) ON DELETE CASCADE,
        image_id          INTEGER NOT NULL REFERENCES images (id) ON DELETE CASCADE,
        -- uint8 label map, run-length encoded (src/shared/imaging/rle.ts); never float.
        labels            BLOB NOT NULL,
        foreground_pixels INTEGER NOT NULL CHECK (foreground_pixels > 0),
        PRIMARY KEY (series_id, image_id)
      ) STRICT, WITHOUT ROWID;
      CREATE INDEX draft_slices_image ON draft_slices (image_id);
    `);
  },
};
