// The `system` service: versions, data folder, providers and trainer status.
import os from 'node:os';
import { osUserName } from '../settings/identity';
import type { z } from 'zod';
import type {
  Events,
  ExecutionProviderName,
  SystemInfo,
  SystemService,
  systemMethods,
  TrainerStatus,
} from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import type { Emitter } from '../../shared/events';
import { appVersion } from '../paths';
import type { SettingsMainService } from '../settings/service';
import { listExecutionProviders } from './providers';
import { probeTrainer, pythonCandidates } from './trainer-probe';

export interface SystemOptions {
  dataDir: string;
  /** Said when this start made a data folder others could read private (data-dir.ts). */
  dataDirNote?: string;
  transport: SystemInfo['transport'];
  /** Replaced by the inference engine once it has chosen a provider. */
  activeProvider?: () => ExecutionProviderName;
  /** The host's folder/file picker (Electron's dialog); absent in the headless server and the CLI. */
  pickPaths?: (kind: 'folder' | 'files') => Promise<string[]>;
}

export class SystemMainService implements SystemService {
  private trainer: TrainerStatus = { available: false, checking: true };
  private probing: Promise<TrainerStatus> | undefined;
  private probingPath: string | undefined;
  private readonly providers = listExecutionProviders();

  constructor(
    private readonly options: SystemOptions,
    private readonly settings: SettingsMainService,
    private readonly events: Emitter<Events>,
  ) {}

  async getInfo(): Promise<SystemInfo> {
    if (!this.probing) void this.refreshTrainer();
    return {
      appName: 'LGMS Workstation',
      version: appVersion(),
      transport: this.options.transport,
      platform: process.platform,
      arch: process.arch,
      node: process.versions.node,
      ...(process.versions.electron ? { electron: process.versions.electron } : {}),
      dataDir: this.options.dataDir,
      osUser: osUserName(),
      ...(this.options.dataDirNote ? { dataDirNote: this.options.dataDirNote } : {}),
      cpus: os.availableParallelism(),
      executionProvider: this.options.activeProvider?.() ?? 'cpu',
      executionProviders: this.providers,
      trainer: this.trainer,
    };
  }

  async pickPaths({ kind }: z.input<typeof systemMethods.pickPaths>): Promise<string[]> {
    if (!this.options.pickPaths) {
      throw new ServiceError(
        'unsupported',
        "This window cannot open a folder picker: type the folder's path, or drop its files here.",
      );
    }
    return this.options.pickPaths(kind);
  }

  refreshTrainer(): Promise<TrainerStatus> {
    // A window asking while the same Python is being probed joins that probe (a second import
    // of torch costs seconds of CPU); a changed setting starts a new one.
    const pythonPath = this.settings.read().pythonPath;
    if (this.probing && this.trainer.checking && this.probingPath === pythonPath) return this.probing;
    this.probingPath = pythonPath;
    this.trainer = { ...this.trainer, checking: true };
    const probing = probeTrainer(pythonCandidates(pythonPath)).then((status) => {
      if (this.probing === probing) {
        this.trainer = status;
        this.events.emit('onDidChangeTrainer', status);
      }
      return status;
    });
    this.probing = probing;
    return probing;
  }
}
