// What onnxruntime-node offers on this platform. The real choice (create a session, run a probe)
// belongs to the inference engine; this lists the candidates and why some cannot be used.
import { createRequire } from 'node:module';
import type { ExecutionProviderName, ExecutionProviderStatus } from '../../shared/contract';
import { EXECUTION_PROVIDERS } from '../../shared/contract';

const requireCjs = createRequire(import.meta.url);

const PLATFORM_ONLY: Partial<Record<ExecutionProviderName, NodeJS.Platform>> = { directml: 'win32', coreml: 'darwin' };

export function listExecutionProviders(): ExecutionProviderStatus[] {
  let backends: { name: string; bundled: boolean }[] = [];
  let loadError: string | undefined;
  try {
    const ort = requireCjs('onnxruntime-node') as { listSupportedBackends?: () => { name: string; bundled: boolean }[] };
    backends = ort.listSupportedBackends?.() ?? [{ name: 'cpu', bundled: true }];
  } catch (e) {
    loadError = `onnxruntime-node failed to load: ${e instanceof Error ? e.message : String(e)}`;
  }
  return EXECUTION_PROVIDERS.map((name) => {
    const found = backends.find((b) => b.name === name);
    const only = PLATFORM_ONLY[name];
    let reason: string | undefined;
    if (loadError) reason = loadError;
    else if (only && process.platform !== only) reason = `only on ${only}`;
    else if (!found) reason = 'not in this build of onnxruntime-node';
    else if (!found.bundled) reason = name === 'cuda' ? 'not installed: see README, "GPU inference (CUDA)"' : 'not installed';
    return reason ? { name, bundled: found?.bundled ?? false, reason } : { name, bundled: true };
  });
}
