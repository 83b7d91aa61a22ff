// The `system` service: what this backend is and what this machine can do.
import { z } from 'zod';

export const EXECUTION_PROVIDERS = ['cuda', 'directml', 'coreml', 'webgpu', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDERS)[number];

export interface ExecutionProviderStatus {
  name: ExecutionProviderName;
  /** Shipped in this build of onnxruntime-node for this platform. */
  bundled: boolean;
  /** Why it cannot be used here, when it cannot. */
  reason?: string;
}

export interface TrainerStatus {
  available: boolean;
  /** Still probing the Python interpreters. */
  checking: boolean;
  python?: string;
  torch?: string;
  device?: string;
  /** What to install when it is missing; shown verbatim by the training view. */
  installHint?: string;
  reason?: string;
}

export interface SystemInfo {
  appName: string;
  version: string;
  transport: 'electron' | 'http';
  platform: string;
  arch: string;
  node: string;
  electron?: string;
  dataDir: string;
  /** The operating-system account: who labels, decisions and exports are recorded as while Settings names no one. */
  osUser?: string;
  /** Set when this start found the data folder readable by other users and made it private. */
  dataDirNote?: string;
  cpus: number;
  /** The provider inference uses (or will use) now. */
  executionProvider: ExecutionProviderName;
  executionProviders: ExecutionProviderStatus[];
  trainer: TrainerStatus;
}

export const systemMethods = {
  getInfo: z.undefined(),
  /** Re-probe the Python trainer (after the user installed PyTorch, say). */
  refreshTrainer: z.undefined(),
  /**
   * The desktop's own folder or file picker: absolute paths, [] when the user cancels. Only a
   * host with a desktop (Electron) has one; elsewhere the answer is `unsupported`.
   */
  pickPaths: z.object({ kind: z.enum(['folder', 'files']) }).strict(),
} as const;

export interface SystemService {
  getInfo(): Promise<SystemInfo>;
  refreshTrainer(): Promise<TrainerStatus>;
  pickPaths(input: z.input<typeof systemMethods.pickPaths>): Promise<string[]>;
}
