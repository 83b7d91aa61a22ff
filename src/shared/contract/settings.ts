// The `settings` service: user preferences persisted in the study database.
import { z } from 'zod';
import { EXECUTION_PROVIDERS } from './system';

/**
 * A Slurm cluster that runs fine-tunes as batch jobs (issue 26). The workstation reaches the
 * submit host by the `sbatch`, `scontrol`, `scancel` commands (run here, or after
 * `submitCommand`, e.g. `ssh login1`) and shares one folder with the cluster's nodes, where the
 * job's inputs, its event file and the candidate are written.
 */
export const slurmClusterSchema = z.object({
  /** The shared folder as this workstation sees it (an absolute path). */
  sharedFolder: z.string().trim().min(1).max(4096),
  /** The same folder as the cluster's nodes see it; '' = the same path. */
  clusterFolder: z.string().trim().max(4096).default(''),
  /** Python with PyTorch on the cluster's nodes. */
  python: z.string().trim().min(1).max(4096).default('python3'),
  /** Slurm partition; '' = the cluster's default. */
  partition: z.string().trim().max(256).default(''),
  /** Generic resources asked with `--gres`, e.g. 'gpu:1'; '' = none (the trainer uses a GPU when the node has one). */
  gres: z.string().trim().max(256).default(''),
  /** Wall-clock limit of a job in minutes; 0 = the partition's. */
  timeLimitMinutes: z.number().int().min(0).max(100_000).default(0),
  /** Words put before every Slurm command to reach the submit host (e.g. ['ssh', 'login1']); [] = run them on this machine. */
  submitCommand: z.array(z.string().min(1).max(1024)).max(16).default([]),
});
export type SlurmCluster = z.infer<typeof slurmClusterSchema>;

export const settingsSchema = z.object({
  /** Author of every label and actor of every decision and export; empty: the operating-system account (src/main/settings/identity.ts). */
  userName: z.string().trim().max(128),
  /** `auto` tries CUDA → DirectML → CoreML → WebGPU → CPU; a name forces one. */
  executionProvider: z.enum(['auto', ...EXECUTION_PROVIDERS]),
  autoSegmentOnImport: z.boolean(),
  /** Flip test-time augmentation: 0 = off. */
  ttaFlips: z.union([z.literal(0), z.literal(2), z.literal(4)]),
  reviewOrder: z.enum(['uncertainty', 'fifo', 'random']),
  /** Python interpreter with PyTorch for fine-tuning; empty = look it up. */
  pythonPath: z.string().max(4096),
  overlayOpacity: z.number().min(0).max(1),
  /** Fine-tune on its own after this many new training labels; 0 = off (never fewer than 4). */
  autoFineTuneAfter: z.union([z.literal(0), z.number().int().min(4).max(100_000)]),
  /** Fine-tune as a batch job on this Slurm cluster; null = on this workstation. */
  slurmCluster: slurmClusterSchema.nullable(),
  /** The shared folder (a network share) where model versions are published and adopted from; '' = none. */
  modelShareFolder: z.string().trim().max(4096),
});

export type Settings = z.infer<typeof settingsSchema>;

export const DEFAULT_SETTINGS: Settings = {
  userName: '',
  executionProvider: 'auto',
  autoSegmentOnImport: true,
  ttaFlips: 2,
  reviewOrder: 'uncertainty',
  pythonPath: '',
  overlayOpacity: 0.45,
  autoFineTuneAfter: 0,
  slurmCluster: null,
  modelShareFolder: '',
};

export const settingsPatchSchema = settingsSchema.partial().strict();
export type SettingsPatch = z.infer<typeof settingsPatchSchema>;

export const settingsMethods = {
  get: z.undefined(),
  update: settingsPatchSchema,
  reset: z.undefined(),
} as const;

export interface SettingsService {
  get(): Promise<Settings>;
  update(patch: z.input<typeof settingsMethods.update>): Promise<Settings>;
  reset(): Promise<Settings>;
}
