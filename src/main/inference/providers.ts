// Execution providers, tried one by one: onnxruntime does not fall back on its own, and a
// provider that fails to load (no CUDA, no GPU) must never fail the app.
import type { ExecutionProviderName } from '../../shared/contract';

export const PROVIDER_ORDER: readonly ExecutionProviderName[] = ['cuda', 'directml', 'coreml', 'webgpu', 'cpu'];

/** onnxruntime-node's name for each provider. */
export const ORT_NAME: Record<ExecutionProviderName, string> = { cuda: 'cuda', directml: 'dml', coreml: 'coreml', webgpu: 'webgpu', cpu: 'cpu' };

export interface ProviderFailure {
  provider: ExecutionProviderName;
  reason: string;
}

/** The providers to try, in order, for a setting ('auto' or one forced provider). */
export function candidates(setting: 'auto' | ExecutionProviderName, platform: NodeJS.Platform = process.platform): ExecutionProviderName[] {
  if (setting !== 'auto') return setting === 'cpu' ? ['cpu'] : [setting, 'cpu'];
  return PROVIDER_ORDER.filter((p) => {
    if (p === 'cuda') return platform === 'linux' || platform === 'win32';
    if (p === 'directml') return platform === 'win32';
    if (p === 'coreml') return platform === 'darwin';
    return true;
  });
}
