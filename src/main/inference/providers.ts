// Execution providers, tried one by one: onnxruntime does not fall back on its own, and a
// provider that fails to load (no CUDA, no GPU) must never fail the app.
import type { ExecutionProviderName } from '../../shared/contract';

export const PROVIDER_ORDER: readonly ExecutionProviderName[] = ['cuda', 'directml', 'coreml', 'webgpu', 'cpu'];

/** onnxruntime-node's name for each provider. */
export const ORT_NAME: Record<ExecutionProviderName, string> = {
  cuda: 'cuda',
  directml: 'dml',
  coreml: 'coreml',
  webgpu: 'webgpu',
  cpu: 'cpu',
};

export interface ProviderFailure {
  provider: ExecutionProviderName;
  reason: string;
}

/** The providers to try, in order, for a setting ('auto' or one forced provider). */
export function candidates(
  setting: 'auto' | ExecutionProviderName,
  platform: NodeJS.Platform = process.platform,
): ExecutionProviderName[] {
  if (setting !== 'auto') return setting === 'cpu' ? ['cpu'] : [setting, 'cpu'];
  return PROVIDER_ORDER.filter((p) => {
    if (p === 'cuda') return platform === 'linux' || platform === 'win32';
    if (p === 'directml') return platform === 'win32';
    if (p === 'coreml') return platform === 'darwin';
    return true;
  });
}

/** Folders the Linux dynamic loader searches by default, after LD_LIBRARY_PATH (ld.so(8)). */
const LINUX_LIBRARY_DIRS = [
  '/lib/x86_64-linux-gnu',
  '/usr/lib/x86_64-linux-gnu',
  '/lib/aarch64-linux-gnu',
  '/usr/lib/aarch64-linux-gnu',
  '/lib64',
  '/usr/lib64',
  '/lib',
  '/usr/lib',
];

/**
 * Why a provider cannot load here, known before trying it; undefined when it is worth a try.
 * WebGPU on Linux runs on Dawn's Vulkan backend: without the Vulkan loader (libvulkan.so.1)
 * Dawn prints a warning straight to the process's stderr and then finds no adapter, so the
 * attempt is skipped instead. `exists` is injectable for tests.
 */
export function knownUnavailable(
  provider: ExecutionProviderName,
  platform: NodeJS.Platform,
  libraryPath: string | undefined,
  exists: (file: string) => boolean,
): string | undefined {
  if (provider !== 'webgpu' || platform !== 'linux') return undefined;
  const dirs = [...(libraryPath ?? '').split(':').filter(Boolean), ...LINUX_LIBRARY_DIRS];
  if (dirs.some((dir) => exists(`${dir}/libvulkan.so.1`))) return undefined;
  return 'no Vulkan loader (libvulkan.so.1) on this machine: WebGPU needs a Vulkan driver';
}
