// The `import` service: folders, files or a DICOMDIR into the study database, as a durable job.
import { z } from 'zod';
import { bytes } from './bytes';
import type { Job } from './jobs';
import type { CodedConcept } from '../model/codes';

/** The most bytes one `import.stage` call carries: a dropped file goes up in chunks this size. */
export const STAGE_CHUNK_BYTES = 4 * 1024 * 1024;

export const importStartSchema = z
  .object({
    /** Absolute paths of folders (read recursively), files, or DICOMDIR files. */
    paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000),
    /** The task a DICOM SEG among the files becomes labels of (default the starter task, 1). */
    taskId: z.number().int().positive().optional(),
  })
  .strict();
export type ImportStart = z.infer<typeof importStartSchema>;

export const IMPORT_ITEM_STATUSES = ['imported', 'duplicate', 'skipped', 'failed'] as const;
export type ImportItemStatus = (typeof IMPORT_ITEM_STATUSES)[number];

/** Live counts of an import, sent as onDidImportProgress and kept in the job's progress. */
export interface ImportProgress {
  jobId: number;
  phase: 'scanning' | 'reading' | 'indexing' | 'done';
  filesSeen: number;
  filesImported: number;
  filesDuplicate: number;
  filesSkipped: number;
  filesFailed: number;
  bytesRead: number;
  bytesTotal: number;
  seriesIndexed: number;
  etaSeconds?: number;
}

export interface ImportItem {
  path: string;
  status: ImportItemStatus;
  reason: string;
}

export interface ImportReport {
  job: Job;
  progress: ImportProgress | null;
  /** Files that were skipped or failed, with the reason (at most `limit`). */
  problems: ImportItem[];
  /**
   * Imported files whose reader has something to say (at most `limit`): what it repaired,
   * assumed, split or left out, e.g. "4D file: 3 volumes, one series each".
   */
  notes: ImportItem[];
  counts: Record<ImportItemStatus, number>;
}

const id = z.number().int().positive();
const choices = z
  .array(z.object({ segment: z.number().int().min(0).max(65535), value: z.number().int().min(1).max(254).nullable() }).strict())
  .max(65535);

const batchId = z.string().regex(/^[A-Za-z0-9-]{8,64}$/, 'a batch id of 8–64 letters, digits or dashes');

export const importMethods = {
  start: importStartSchema,
  /**
   * Headless mode's drag-and-drop: a browser cannot tell the server a dropped file's path, so the
   * renderer sends its bytes into a staging folder, in chunks of at most STAGE_CHUNK_BYTES
   * appended in order (`offset` = bytes already sent; the file appears under its name only after
   * the chunk marked `last`), then imports the batch.
   */
  stage: z
    .object({
      batch: batchId,
      path: z
        .string()
        .min(1)
        .max(1024)
        .refine((p) => !p.split(/[\\/]/).some((part) => part === '..' || part === ''), 'a relative path without ..'),
      offset: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
      data: bytes(STAGE_CHUNK_BYTES),
      last: z.boolean(),
    })
    .strict(),
  startStaged: z.object({ batch: batchId }).strict(),
  report: z.object({ jobId: z.number().int().positive(), limit: z.number().int().min(1).max(10_000).default(500) }).strict(),
  /** DICOM SEGs found on import, with what became of each (newest first). */
  labelSets: z.object({ seriesUid: z.string().min(1).max(64).optional() }).strict(),
  /** How an imported SEG's segments would map to a task's labels (by code, then name), and what the reader must choose. */
  proposeLabelSet: z.object({ labelSetId: id, taskId: id }).strict(),
  /** Makes an imported SEG's segments labels of the task, with the reader's choice for every unresolved segment. */
  applyLabelSet: z.object({ labelSetId: id, taskId: id, choices: choices.default([]) }).strict(),
  /** The same for a NIfTI label map (its values are the segments; names from a JSON sidecar when present). */
  proposeLabelMap: z.object({ path: z.string().min(1).max(4096), seriesId: id, taskId: id }).strict(),
  applyLabelMap: z
    .object({
      path: z.string().min(1).max(4096),
      seriesId: id,
      taskId: id,
      choices: choices.default([]),
      author: z.string().max(64).default(''),
    })
    .strict(),
} as const;

/** One segment as the mapping sees it: its codes and name, the label it becomes, and why the reader must decide. */
/** One segment of a foreign label map (Segment Number, Segment Label, codes) and the task label it becomes. */
export interface LabelMappingSegment {
  number: number;
  label: string;
  /** Segmented Property Category and Type codes, where the file has them. */
  category: CodedConcept | null;
  type: CodedConcept | null;
  /** The task label value it becomes; null while unresolved (or left out by the reader). */
  value: number | null;
  /** How it was matched: the Segmented Property Type code, the label's name, or the reader's choice. */
  by: 'code' | 'name' | 'reader' | null;
  /** Why it needs the reader: an unknown code, two segments of one code, several labels … */
  problem: string | null;
}

/** What a proposal says before anything is written. */
export interface LabelMappingProposal {
  taskId: number;
  segments: LabelMappingSegment[];
  /** Segment numbers that need the reader's choice (a label value, or null to leave one out). */
  unresolved: number[];
  /** The series the label map lands on, or null when it is not imported yet. */
  seriesId: number | null;
  seriesUid: string;
  /** Images that already have a current label of the task, which applying would replace. */
  wouldReplace: number;
  /** Why it cannot be applied yet, in words (series missing, frames that lie on no image); null when it can. */
  blocked: string | null;
}

/** Pixels two segments of different labels both claimed: where, and which segment's label they kept. */
export interface LabelOverlapConflict {
  imageId: number;
  /** The two segments, lower number first, and the one whose label the pixels kept. */
  segments: [number, number];
  kept: number;
  pixels: number;
  /** Bounding box of the conflicting pixels (0-based row / column, inclusive). */
  box: { rowMin: number; rowMax: number; columnMin: number; columnMax: number };
  /** Up to 8 conflicting pixels as [row, column]. */
  sample: [number, number][];
}

/** What an apply wrote and how it decided. */
export interface LabelMappingApplied {
  seriesId: number;
  taskId: number;
  imagesLabelled: number;
  replaced: number;
  /** Segment number → label value (null: left out by the reader). */
  mapping: { segment: number; label: string; value: number | null; name: string | null }[];
  placedBy: 'reference' | 'position' | 'both';
  conflicts: LabelOverlapConflict[];
  /** Pixels of segments the reader left out. */
  leftOutPixels: number;
  author: string;
  /** The whole outcome in words, for the import report. */
  message: string;
}

export interface LabelSetSummary {
  id: number;
  sopInstanceUid: string;
  referencedSeriesUid: string;
  taskId: number;
  status: 'kept' | 'pending' | 'needs-mapping' | 'attached' | 'failed';
  seriesId: number | null;
  /** What became of it, in words. */
  message: string;
  path: string;
}

export interface ImportService {
  start(input: z.input<typeof importMethods.start>): Promise<{ jobId: number }>;
  stage(input: z.input<typeof importMethods.stage>): Promise<{ bytes: number }>;
  startStaged(input: z.input<typeof importMethods.startStaged>): Promise<{ jobId: number }>;
  report(input: z.input<typeof importMethods.report>): Promise<ImportReport>;
  labelSets(input: z.input<typeof importMethods.labelSets>): Promise<LabelSetSummary[]>;
  proposeLabelSet(input: z.input<typeof importMethods.proposeLabelSet>): Promise<LabelMappingProposal>;
  applyLabelSet(input: z.input<typeof importMethods.applyLabelSet>): Promise<LabelMappingApplied>;
  proposeLabelMap(input: z.input<typeof importMethods.proposeLabelMap>): Promise<LabelMappingProposal>;
  applyLabelMap(input: z.input<typeof importMethods.applyLabelMap>): Promise<LabelMappingApplied>;
}
