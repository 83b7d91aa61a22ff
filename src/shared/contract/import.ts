// The `import` service: folders, files or a DICOMDIR into the study database, as a durable job.
import { z } from 'zod';
import { bytes } from './bytes';
import type { Job } from './jobs';

/** The most bytes one `import.stage` call carries: a dropped file goes up in chunks this size. */
export const STAGE_CHUNK_BYTES = 4 * 1024 * 1024;

export const importStartSchema = z
  .object({
    /** Absolute paths of folders (read recursively), files, or DICOMDIR files. */
    paths: z.array(z.string().min(1).max(4096)).min(1).max(10_000),
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
} as const;

export interface ImportService {
  start(input: z.input<typeof importMethods.start>): Promise<{ jobId: number }>;
  stage(input: z.input<typeof importMethods.stage>): Promise<{ bytes: number }>;
  startStaged(input: z.input<typeof importMethods.startStaged>): Promise<{ jobId: number }>;
  report(input: z.input<typeof importMethods.report>): Promise<ImportReport>;
}
