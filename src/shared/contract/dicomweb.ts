// The `dicomweb` service: PACS endpoints (secrets are write-only: stored, never sent back),
// QIDO-RS search, WADO-RS retrieve into the study database through the import path, and STOW-RS
// of a series' SEG. Retrieve, send and a pull of a task's labels are jobs; every send is an audit row.
import { z } from 'zod';

export const PACS_AUTH_KINDS = ['none', 'basic', 'bearer'] as const;
/** A label push: waiting for its first attempt, failed (retried later, the reason in words), or stored on the PACS. */
export const PACS_PUSH_STATES = ['pending', 'failed', 'sent'] as const;

const endpointId = z.number().int().positive();
const taskId = z.number().int().positive();
const uid = z.string().regex(/^[0-9.]{1,64}$/, 'a DICOM UID');

export const dicomwebMethods = {
  listEndpoints: z.undefined(),
  saveEndpoint: z
    .object({
      /** Absent: a new endpoint. */
      id: endpointId.optional(),
      name: z.string().min(1).max(100),
      url: z.url({ protocol: /^https?$/ }).max(2048),
      authKind: z.enum(PACS_AUTH_KINDS),
      username: z.string().max(256).default(''),
      /** Password (basic) or token (bearer). Omitted on an update: the stored one is kept. */
      secret: z.string().max(8192).optional(),
    })
    .strict(),
  removeEndpoint: z.object({ id: endpointId }).strict(),
  searchStudies: z
    .object({
      endpointId,
      patientName: z.string().max(64).optional(),
      patientId: z.string().max(64).optional(),
      studyDate: z.string().max(17).optional(),
      modality: z.string().max(16).optional(),
      accessionNumber: z.string().max(16).optional(),
      limit: z.number().int().min(1).max(1000).default(100),
    })
    .strict(),
  searchSeries: z.object({ endpointId, studyUid: uid }).strict(),
  /** Retrieves a series through the import path; a SEG among it becomes labels of `taskId` (default the starter task). */
  retrieveSeries: z
    .object({ endpointId, studyUid: uid, seriesUid: uid, taskId: z.number().int().positive().optional() })
    .strict(),
  /** Sends the series' label maps of a task (default the starter task) as one multi-segment SEG. */
  sendSeg: z
    .object({ endpointId, seriesId: z.number().int().positive(), taskId: z.number().int().positive().optional() })
    .strict(),
  /** Sends every label of the task submitted from now on (accepted, edited, drawn) to the endpoint as a SEG; null: stop. */
  setTaskPush: z.object({ taskId, endpointId: endpointId.nullable() }).strict(),
  /** The label pushes (newest first), of one task or all. */
  pushes: z
    .object({ taskId: taskId.optional(), limit: z.number().int().min(1).max(1000).default(200) })
    .strict()
    .default({ limit: 200 }),
  /** Tries every unsent push (of one task or all) now instead of at its next retry. */
  retryPushes: z.object({ taskId: taskId.optional() }).strict().default({}),
  /**
   * Pull the team's labels, as a job of kind 'pull': finds the SEGs on the PACS whose segments are
   * the task's labels (by Segmented Property Type code), retrieves them and, where missing here,
   * their source series, and makes them labels of the task (provenance imported, author the SEG's
   * Content Creator). Cancelled between SEGs: what was taken stays, each SEG all or nothing.
   */
  pullTaskLabels: z.object({ taskId, endpointId }).strict(),
} as const;

export type PacsPushState = (typeof PACS_PUSH_STATES)[number];

/** One series' labels of a task on their way to the PACS as a SEG. */
export interface PacsPush {
  id: number;
  taskId: number;
  seriesId: number;
  /** Series Description (or modality) of the labelled series, for the list. */
  seriesDescription: string;
  endpointId: number;
  state: PacsPushState;
  attempts: number;
  /** Why the last attempt failed, in words; null unless failed. */
  lastError: string | null;
  queuedAt: string;
  /** When it is tried next; null once sent. */
  nextAttemptAt: string | null;
  sentAt: string | null;
  sopInstanceUid: string;
}

/** One SEG a pull looked at. */
export interface PacsPulledSeg {
  sopInstanceUid: string;
  /** The labelled (source) series. */
  seriesInstanceUid: string;
  /** Content Creator's Name of the SEG (the reader who labelled), as written. */
  author: string;
  /** What became of it, in words. */
  message: string;
}

/** What a pull did: SEGs taken as labels, SEGs of other tasks and SEGs refused, each with its reason. */
export interface PacsPullReport {
  taskId: number;
  /** SEG instances found on the PACS. */
  found: number;
  imported: (PacsPulledSeg & { seriesId: number; imagesLabelled: number })[];
  /** Taken earlier, or sent from this workstation: not taken again. */
  alreadyHere: number;
  /** No segment's code is a label of the task: left on the PACS. */
  notOfTask: (PacsPulledSeg & { segments: string[] })[];
  /** Found of another task by an earlier pull, while the task's codes were the same: not retrieved again. */
  otherTasksSeenBefore: number;
  /** Of the task but not taken (a segment needs the reader's choice, own labels would be replaced, the series could not be retrieved). */
  refused: PacsPulledSeg[];
  /** Source series retrieved from the PACS because they were not here. */
  seriesRetrieved: number;
  /**
   * SEGs the pull did not get to because it was cancelled or the PACS went away: nothing of them
   * was taken, and the next pull looks at them again. Empty when the pull ran to its end.
   */
  notLookedAt: { sopInstanceUid: string; studyInstanceUid: string }[];
}

/** An endpoint as the renderer sees it: never its password or token. */
export interface PacsEndpoint {
  id: number;
  name: string;
  url: string;
  authKind: (typeof PACS_AUTH_KINDS)[number];
  username: string;
  hasSecret: boolean;
  /** How the secret is kept: by the operating system's keychain, or only by file permissions. */
  secretProtection: 'os' | 'file';
  /** Why only file permissions, where the platform's keychain could not be used (e.g. Linux without a keyring). */
  secretProtectionNote?: string;
}

export interface PacsStudy {
  studyInstanceUid: string;
  patientName: string;
  patientId: string;
  studyDate: string;
  studyDescription: string;
  accessionNumber: string;
  modalities: string[];
  numberOfSeries: number | null;
}

export interface PacsSeries {
  seriesInstanceUid: string;
  modality: string;
  seriesNumber: number | null;
  seriesDescription: string;
  numberOfInstances: number | null;
}

export interface DicomwebService {
  listEndpoints(): Promise<PacsEndpoint[]>;
  saveEndpoint(input: z.input<typeof dicomwebMethods.saveEndpoint>): Promise<PacsEndpoint>;
  removeEndpoint(input: z.input<typeof dicomwebMethods.removeEndpoint>): Promise<{ removed: boolean }>;
  searchStudies(input: z.input<typeof dicomwebMethods.searchStudies>): Promise<PacsStudy[]>;
  searchSeries(input: z.input<typeof dicomwebMethods.searchSeries>): Promise<PacsSeries[]>;
  /** Starts a job that downloads the series and imports it; nothing is imported unless every instance arrived. */
  retrieveSeries(input: z.input<typeof dicomwebMethods.retrieveSeries>): Promise<{ jobId: number }>;
  /** Starts a job that writes the series' SEG (and Secondary Captures for non-DICOM sources) and stores it on the PACS. */
  sendSeg(input: z.input<typeof dicomwebMethods.sendSeg>): Promise<{ jobId: number }>;
  setTaskPush(input: z.input<typeof dicomwebMethods.setTaskPush>): Promise<{ taskId: number; endpointId: number | null }>;
  pushes(input?: z.input<typeof dicomwebMethods.pushes>): Promise<PacsPush[]>;
  retryPushes(input?: z.input<typeof dicomwebMethods.retryPushes>): Promise<{ tried: number }>;
  /**
   * Starts a job (kind 'pull') that pulls the team's labels of the task; its result is the
   * PacsPullReport. Refused (`conflict`) while a pull of the same task runs.
   */
  pullTaskLabels(input: z.input<typeof dicomwebMethods.pullTaskLabels>): Promise<{ jobId: number }>;
}
