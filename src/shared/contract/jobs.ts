// Durable jobs: import, inference, training and export all run as rows the user can see,
// follow, cancel and retry; a crash never leaves one "running" forever.
import { z } from 'zod';
import type { PacsPullReport } from './dicomweb';
import type { ExportFormat, ExportResult } from './export';
import type { ImportProgress } from './import';
import type { InferenceStatus } from './inference';
import type { ExecutionProviderName } from './system';

export const JOB_KINDS = ['import', 'inference', 'training', 'export', 'pull'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

/** What every job's progress can say, for a generic job list. */
export interface JobProgressBase {
  /** What the job is doing now, for a human. */
  phase?: string;
  done?: number;
  total?: number;
  /** Seconds left, estimated from the rate so far. */
  etaSeconds?: number;
}

/** Milliseconds spent in each step of the inference pipeline, summed over the slices segmented so far (divide by `done` for one slice). */
export interface InferenceTimings {
  decode: number;
  preprocess: number;
  model: number;
  postprocess: number;
  store: number;
  total: number;
}

/**
 * Each kind's parameters, progress and result. A new kind (training, export) fills in its entry
 * here; `Job` and the job store's methods follow from it.
 */
export interface JobKinds {
  import: {
    /** Absolute paths of the folders, files or DICOMDIRs imported; or a series retrieved from a PACS (WADO-RS). */
    params: { paths: string[] } | { endpointId: number; studyUid: string; seriesUid: string };
    /** An import's counts; a PACS retrieval says how many instances it has downloaded, then imports them. */
    progress: JobProgressBase & (ImportProgress | { phase: 'downloading' | 'importing'; done: number; total: number });
    result: {
      /** Studies added or changed. */
      studyIds: number[];
      elapsedMs: number;
      phasesMs: { scan: number; read: number; index: number };
      filesByReaders: number;
      /** CPU time of the importing process, all its threads, over elapsedMs (ms): a benchmark's figure that another program's load does not stretch. */
      cpuMs?: number;
      /** A PACS retrieval: the import job that took the downloaded instances in, and how many there were. */
      importJobId?: number;
      instances?: number;
    };
  };
  inference: {
    /** `taskId`: the task whose active version segments (absent: the starter task, 1). */
    params: { seriesId: number; ttaFlips?: 0 | 2 | 4; taskId?: number };
    /**
     * `done`/`total` count images, except for a 3D model (issue 25): phase 'reading' counts the
     * series' slices read, then phase 'segmenting' with unit 'windows' counts its sliding windows.
     */
    progress: JobProgressBase & { timingsMs?: InferenceTimings; unit?: 'images' | 'windows' };
    result: {
      seriesId: number;
      segmented: number;
      failed: { imageId: number; reason: string }[];
      provider: ExecutionProviderName | null;
      model: InferenceStatus['model'];
      ttaFlips: 0 | 2 | 4;
      timingsMs: InferenceTimings;
    };
  };
  /** A placeholder until the training service defines its own. */
  training: { params: Record<string, unknown>; progress: JobProgressBase; result: Record<string, unknown> };
  /** A file export (ExportService.start) or a DICOM SEG sent to a PACS (DicomwebService.sendSeg). */
  export: {
    params:
      | { seriesIds: number[]; format: ExportFormat; outDir: string; fallBackToPredictions: boolean; datasetId: number }
      | { endpointId: number; seriesId: number; taskId?: number };
    progress: JobProgressBase;
    result: ExportResult | { sopInstanceUid: string; seriesInstanceUid: string };
  };
  /**
   * "Pull the team's labels" of a task from a PACS (DicomwebService.pullTaskLabels). Step
   * 'looking': each SEG found on the PACS is read and its codes compared with the task's
   * (`done`/`total` count the SEGs found); step 'taking': each SEG of the task is made labels here,
   * its images retrieved first where missing (`done`/`total` count those SEGs). The result is the
   * pull's report, also when the pull was cancelled or the PACS went away (then with the SEGs it
   * did not get to in `notLookedAt`).
   */
  pull: {
    params: { taskId: number; endpointId: number };
    progress: JobProgressBase & { step: 'looking' | 'taking'; done: number; total: number };
    result: PacsPullReport;
  };
}

export type JobParams<K extends JobKind> = JobKinds[K]['params'];
export type JobProgressOf<K extends JobKind> = JobKinds[K]['progress'];
export type JobResult<K extends JobKind> = JobKinds[K]['result'];

/** A job of one kind: `kind` narrows params, progress and result. */
export interface JobOf<K extends JobKind> {
  id: number;
  kind: K;
  status: JobStatus;
  title: string;
  params: JobParams<K>;
  /** Null until the job first reports progress. */
  progress: JobProgressOf<K> | null;
  /** Set when the job is done (and for some kinds when cancelled); null otherwise. */
  result: JobResult<K> | null;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

/** Any job: a union discriminated by `kind`. */
export type Job = { [K in JobKind]: JobOf<K> }[JobKind];

const jobId = z.object({ id: z.number().int().positive() }).strict();

export const jobsMethods = {
  list: z
    .object({ kind: z.enum(JOB_KINDS).optional(), limit: z.number().int().min(1).max(500).default(50) })
    .strict()
    .default({ limit: 50 }),
  get: jobId,
  cancel: jobId,
} as const;

export interface JobsService {
  list(input?: z.input<typeof jobsMethods.list>): Promise<Job[]>;
  get(input: z.input<typeof jobsMethods.get>): Promise<Job>;
  cancel(input: z.input<typeof jobsMethods.cancel>): Promise<Job>;
}
