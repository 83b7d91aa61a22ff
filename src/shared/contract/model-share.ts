// The `modelShare` service: model versions shared between workstations through a shared folder
// (Settings → model share folder; a network share is enough). Publish writes a version there with
// its manifest, lineage, metrics, task and content hash; every workstation lists the versions of
// its own tasks, and adopting one copies it in (verified by its hash) as a candidate that passes
// the local gate before anyone can promote it (issue 26).
import { z } from 'zod';
import { modelDomainSchema } from '../model/manifest';

/** SHA-256, 64 lowercase hex digits. */
export const contentHashSchema = z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 content hash (64 hex digits)');

/** One file of a published version: its path inside the version folder (POSIX separators), size and SHA-256. */
export const publishedFileSchema = z
  .object({
    path: z
      .string()
      .min(1)
      .max(1024)
      .refine((p) => !p.startsWith('/') && !p.split('/').some((s) => s === '..' || s === '.' || s === ''), 'a relative path'),
    size: z.number().int().nonnegative(),
    sha256: contentHashSchema,
  })
  .strict();
export type PublishedFile = z.infer<typeof publishedFileSchema>;

const codeSchema = z.object({ value: z.string(), scheme: z.string(), meaning: z.string() }).passthrough();

/**
 * `publication.json` beside the version's files on the share: what a workstation reads to list
 * and adopt a version without trusting anything else. `contentHash` is SHA-256 over `files` in
 * their stated order (src/main/models/content-hash.ts); the folder's own name ends with it.
 */
export const publicationSchema = z
  .object({
    format: z.literal('lgms-publication/1'),
    contentHash: contentHashSchema,
    files: z.array(publishedFileSchema).min(1),
    modelId: z.string().min(1).max(128),
    name: z.string().min(1).max(200),
    version: z.string().min(1).max(64),
    /** The task the version is for: its UID (the same on every workstation that shares it), name, labels and domain. */
    task: z.object({
      uid: z.string().regex(/^[0-9a-f]{32}$/),
      name: z.string().min(1),
      domain: modelDomainSchema,
      labels: z.array(z.object({ value: z.number().int().min(1).max(254), name: z.string(), type: codeSchema }).passthrough()),
    }),
    /** The version, then its parent, grandparent… as the publisher knew them (model ids and versions). */
    lineage: z.array(z.object({ modelId: z.string(), name: z.string(), version: z.string() })).min(1),
    /** model.json's metrics, and the publisher's gate verdicts where a gate ran there. */
    metrics: z.record(z.string(), z.object({ dice: z.number() }).passthrough()),
    publisherGate: z
      .object({ validation: z.string().nullable(), reference: z.string().nullable(), n: z.number().int().nullable() })
      .nullable(),
    publishedBy: z.string().max(256),
    workstation: z.string().max(256),
    publishedAt: z.string(),
  })
  .passthrough();
export type Publication = z.infer<typeof publicationSchema>;

/** A version on the share, as one workstation sees it. */
export interface SharedVersion {
  contentHash: string;
  /** The version's folder on the share. */
  folder: string;
  modelId: string;
  name: string;
  version: string;
  taskName: string;
  /** The local task with the same UID; null when this workstation has no such task. */
  localTaskId: number | null;
  lineage: Publication['lineage'];
  metrics: Publication['metrics'];
  publisherGate: Publication['publisherGate'];
  publishedBy: string;
  workstation: string;
  publishedAt: string;
  /** The local version with this content, when it is already here (published from here or adopted). */
  here: { versionId: number; status: 'active' | 'candidate' | 'archived'; gatePending: boolean } | null;
  /** Why the copy on the share cannot be adopted as it is (a file missing or of another size); null when it looks whole. */
  damaged: string | null;
}

export const modelShareMethods = {
  /** The share's versions of this workstation's tasks (`taskId`: one task's), newest first; [] without a share folder. */
  list: z.object({ taskId: z.number().int().positive().optional() }).strict().optional(),
  /** Writes a local version to the share (staged, then renamed in); publishing the same content again changes nothing. */
  publish: z.object({ id: z.number().int().positive() }).strict(),
  /** Copies a shared version in (verified by its hash) as a candidate of the local task and starts the local gate. */
  adopt: z.object({ contentHash: contentHashSchema }).strict(),
} as const;

export interface ModelShareService {
  list(input?: z.input<typeof modelShareMethods.list>): Promise<SharedVersion[]>;
  publish(input: z.input<typeof modelShareMethods.publish>): Promise<SharedVersion>;
  adopt(input: z.input<typeof modelShareMethods.adopt>): Promise<SharedVersion>;
}
