// The `dicomweb` service: PACS endpoints (secrets are write-only: stored, never sent back),
// QIDO-RS search, WADO-RS retrieve into the study database through the import path, and STOW-RS
// of a series' SEG. Retrieve and send are jobs; every send is an audit row.
import { z } from 'zod';

export const PACS_AUTH_KINDS = ['none', 'basic', 'bearer'] as const;

const endpointId = z.number().int().positive();
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
} as const;

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
}
