// The one place an import writes labels: a label map becomes the current label of an image under
// a task (superseding that image's current label of the same task only), in one transaction.
import { encodeRle } from '../../shared/imaging/rle';
import type { Database } from '../db/database';

export type WrittenOrigin = 'drawn' | 'imported';

/**
 * Makes each `maps` entry the current label of its image under `taskId` (origin, author), and
 * returns how many current labels of the task it replaced. All or nothing.
 */
export function writeTaskLabels(
  db: Database,
  taskId: number,
  seriesId: number,
  maps: readonly { imageId: number; map: Uint8Array }[],
  origin: WrittenOrigin,
  author: string,
): { written: number; replaced: number } {
  const supersede = db.prepare(
    `UPDATE labels SET superseded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE image_id = ? AND task_id = ? AND superseded_at IS NULL`,
  );
  const insert = db.prepare(
    `INSERT INTO labels (image_id, series_id, task_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, ?, ?, ?)`,
  );
  let replaced = 0;
  db.transaction(() => {
    for (const r of maps) {
      replaced += supersede.run(r.imageId, taskId).changes;
      let foreground = 0;
      for (const v of r.map) if (v !== 0) foreground++;
      insert.run(r.imageId, seriesId, taskId, encodeRle(r.map), foreground, origin, author);
    }
  })();
  return { written: maps.length, replaced };
}

/** Images of `imageIds` that already have a current label of the task. */
export function labelledImages(db: Database, taskId: number, imageIds: readonly number[]): number[] {
  const q = db.prepare('SELECT 1 FROM labels WHERE image_id = ? AND task_id = ? AND superseded_at IS NULL').pluck();
  return imageIds.filter((id) => q.get(id, taskId) !== undefined);
}
