// A DICOM SEG's bytes made the current labels of the series it references under a task, through
// the same mapping as an imported SEG (src/main/import/label-sets.ts): segments map to the task's
// labels by code, then by name; nothing is written when a segment needs the reader's choice.
import type { Database } from '../db/database';
import { importSegBytes } from '../import/label-sets';
import type { MappingChoice } from '../import/label-mapping';
import type { ContentStore } from '../store/content-store';

export interface SegImportResult {
  seriesId: number;
  imagesLabelled: number;
  segments: number;
}

/**
 * Reads `bytes` as a SEG and stores one label per image it has frames for, under `taskId`
 * (default the starter task), origin imported, author the SEG's Content Creator's Name (or
 * `author` when it names none). Throws LabelImportError / MappingError in words; writes nothing then.
 */
export function importSegAsLabels(
  db: Database,
  bytes: Uint8Array,
  author: string,
  taskId = 1,
  choices: readonly MappingChoice[] = [],
  store: ContentStore | null = null,
): SegImportResult {
  const r = importSegBytes(db, store, bytes, taskId, choices, author);
  return { seriesId: r.seriesId, imagesLabelled: r.imagesLabelled, segments: r.mapping.length };
}
