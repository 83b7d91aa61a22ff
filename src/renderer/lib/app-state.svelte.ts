// Application-wide state: backend info, settings and the current view, filled from the backend
// and kept current by its events.
import type { InferenceStatus, Settings, SettingsPatch, SystemInfo } from '../../shared/contract';
import type { ApiError } from '../../shared/result';
import { api } from './api';

export const VIEWS = [
  { id: 'worklist', label: 'Worklist', key: '1' },
  { id: 'review', label: 'Review', key: '2' },
  { id: 'training', label: 'Training', key: '3' },
  { id: 'models', label: 'Models', key: '4' },
  { id: 'tasks', label: 'Tasks', key: '6' },
  { id: 'settings', label: 'Settings', key: '5' },
] as const;
export type ViewId = (typeof VIEWS)[number]['id'];

export class AppState {
  info = $state<SystemInfo | null>(null);
  settings = $state<Settings | null>(null);
  view = $state<ViewId>('worklist');
  error = $state<ApiError | null>(null);
  connected = $state(false);
  inference = $state.raw<InferenceStatus | null>(null);

  async start(): Promise<void> {
    api.on('onDidChangeSettings', (s) => (this.settings = s));
    api.on('onDidChangeTrainer', (trainer) => {
      if (this.info) this.info = { ...this.info, trainer };
    });
    api.on('onDidChangeInference', (status) => {
      this.inference = status;
      if (this.info && status.provider) this.info = { ...this.info, executionProvider: status.provider };
    });
    // Promote or roll back: the status bar names the version inference now uses, without a reload.
    api.on('onDidChangeModels', () => {
      void api.inference.status().then((r) => {
        if (r.ok) this.inference = r.value;
      });
    });
    const [info, settings, inference] = await Promise.all([api.system.getInfo(), api.settings.get(), api.inference.status()]);
    if (inference.ok) this.inference = inference.value;
    if (!info.ok) return void (this.error = info.error);
    if (!settings.ok) return void (this.error = settings.error);
    this.info = info.value;
    this.settings = settings.value;
    this.connected = true;
    // The trainer's first probe may end before this window's event stream is open, and its
    // onDidChangeTrainer would be missed: ask for the result (joins the running probe).
    if (info.value.trainer.checking) {
      const trainer = await api.system.refreshTrainer();
      if (trainer.ok && this.info) this.info = { ...this.info, trainer: trainer.value };
    }
  }

  async updateSettings(patch: SettingsPatch): Promise<boolean> {
    const result = await api.settings.update(patch);
    if (!result.ok) {
      this.error = result.error;
      return false;
    }
    this.settings = result.value;
    this.error = null;
    return true;
  }

  async refreshTrainer(): Promise<void> {
    if (this.info) this.info = { ...this.info, trainer: { ...this.info.trainer, checking: true } };
    const result = await api.system.refreshTrainer();
    if (result.ok && this.info) this.info = { ...this.info, trainer: result.value };
  }
}

export const app = new AppState();
