// The `import` service: folders, files or a DICOMDIR into the study database, as a durable job.
import { z } from 'zod';
import type { Job } from './jobs';

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
   * renderer sends the bytes (base64) into a staging folder, then imports the batch.
   */
  stage: z
    .object({
      batch: batchId,
      path: z
        .string()
        .min(1)
        .max(1024)
        .refine((p) => !p.split(/[\\/]/).some((part) => part === '..' || part === ''), 'a relative path without ..'),
      data: z.string().max(96 * 1024 * 1024),
    })
    .strict(),
  startStaged: z.object({ batch: batchId }).strict(),
  report: z.object({ jobId: z.number().int().positive(), limit: z.number().int().min(1).max(10_000).default(500) }).strict(),
} as const;

export interface ImportService {
  start(input: ImportStart): Promise<{ jobId: number }>;
  stage(input: { batch: string; path: string; data: string }): Promise<{ bytes: number }>;
  startStaged(input: { batch: string }): Promise<{ jobId: number }>;
  report(input: z.input<typeof importMethods.report>): Promise<ImportReport>;
}
