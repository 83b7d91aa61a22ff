// Durable jobs: import, inference, training and export all run as rows the user can see,
// follow, cancel and retry; a crash never leaves one "running" forever.
import { z } from 'zod';

export const JOB_KINDS = ['import', 'inference', 'training', 'export'] as const;
export type JobKind = (typeof JOB_KINDS)[number];
export const JOB_STATUSES = ['queued', 'running', 'done', 'failed', 'cancelled'] as const;
export type JobStatus = (typeof JOB_STATUSES)[number];

export interface JobProgress {
  /** What the job is doing now, for a human. */
  phase?: string;
  done?: number;
  total?: number;
  /** Seconds left, estimated from the rate so far. */
  etaSeconds?: number;
  [key: string]: unknown;
}

export interface Job {
  id: number;
  kind: JobKind;
  status: JobStatus;
  title: string;
  progress: JobProgress;
  result: unknown;
  error: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
}

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
