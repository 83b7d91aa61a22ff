// Makes a DICOM SEG's label maps the current labels of the series it references (origin
// 'imported'), superseding earlier labels of the same images in one transaction.
import { encodeRle } from '../../shared/imaging/rle';
import type { Database } from '../db/database';
import { seriesByUid, seriesImages } from './queries';
import { readSeg, SegReadError, sourceKey } from './seg-read';

export interface SegImportResult {
  seriesId: number;
  imagesLabelled: number;
  segments: number;
}

/**
 * Reads `bytes` as a SEG and stores one label per referenced image of a series in the
 * database. Every frame must name an image of that series with the same Rows × Columns;
 * otherwise nothing is written. Throws SegReadError.
 */
export function importSegAsLabels(db: Database, bytes: Uint8Array, author: string): SegImportResult {
  const seg = readSeg(bytes);
  const series = seriesByUid(db, seg.referencedSeriesUid);
  if (!series) throw new SegReadError(`the SEG labels series ${seg.referencedSeriesUid}, which is not in the database`);
  const images = seriesImages(db, series.id);
  const byKey = new Map<string, (typeof images)[number]>();
  for (const im of images) {
    if (!im.sopInstanceUid) continue;
    byKey.set(sourceKey(im.sopInstanceUid, im.frameIndex + 1), im);
    if (im.frameIndex === 0) byKey.set(sourceKey(im.sopInstanceUid, null), im);
  }
  const rows: { imageId: number; map: Uint8Array }[] = [];
  for (const [key, map] of seg.maps) {
    const im = byKey.get(key);
    if (!im) throw new SegReadError(`the SEG references ${key}, which is not an image of series ${series.seriesUid}`);
    if (im.rows !== seg.rows || im.columns !== seg.columns)
      throw new SegReadError(`the SEG's frames are ${seg.rows} × ${seg.columns}, image ${key} is ${im.rows} × ${im.columns}`);
    rows.push({ imageId: im.id, map });
  }
  const supersede = db.prepare(
    `UPDATE labels SET superseded_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now') WHERE image_id = ? AND superseded_at IS NULL`,
  );
  const insert = db.prepare(
    `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'imported', ?)`,
  );
  db.transaction(() => {
    for (const r of rows) {
      supersede.run(r.imageId);
      let foreground = 0;
      for (const v of r.map) if (v !== 0) foreground++;
      insert.run(r.imageId, series.id, encodeRle(r.map), foreground, author);
    }
  })();
  return { seriesId: series.id, imagesLabelled: rows.length, segments: seg.segments.length };
}
