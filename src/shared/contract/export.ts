// The `export` service: a series' (or study's, or every labelled series') final labels written
// as DICOM SEG, NIfTI, PNG per slice or an nnU-Net v2 raw dataset. Every export is a job and an
// audit row: patient data leaves the data folder.
import { z } from 'zod';

export const EXPORT_FORMATS = ['seg', 'nifti', 'png', 'nnunet'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export const exportMethods = {
  start: z
    .object({
      /** Series to export (database ids); with `nnunet`, empty means every labelled series. */
      seriesIds: z.array(z.number().int().positive()).max(10_000).default([]),
      format: z.enum(EXPORT_FORMATS),
      /** Absolute folder on the backend's machine; created when missing. */
      outDir: z.string().min(1).max(4096),
      /** For series without final labels, use the active model's predictions (and say so). */
      fallBackToPredictions: z.boolean().default(false),
      /** nnU-Net dataset id (DatasetXXX_Name): 1…999. */
      datasetId: z.number().int().min(1).max(999).default(501),
      /** The task whose label maps are exported (names, values and codes); default the starter task. */
      taskId: z.number().int().positive().default(1),
    })
    .strict(),
} as const;

export interface ExportedSeries {
  seriesUid: string;
  description: string;
  /** Final labels, or the active model's predictions for a series without them. */
  used: 'labels' | 'predictions';
  files: string[];
}

export interface ExportResult {
  outDir: string;
  format: ExportFormat;
  series: ExportedSeries[];
  skipped: { seriesUid: string; reason: string }[];
  /**
   * What the reader must know about files that were written: a series written as separate 2D
   * files because its images do not form a volume, a name changed because the folder held one
   * already (nothing is overwritten), an nnU-Net split with no training case.
   */
  notes: string[];
}

export interface ExportService {
  /** Starts an export job; its result (Job.result) is an ExportResult. */
  start(input: z.input<typeof exportMethods.start>): Promise<{ jobId: number }>;
}
