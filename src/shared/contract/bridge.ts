// The one object the Electron preload exposes to the renderer as `window.lgms`.
import type { Result } from '../result';
import type { EventName } from './index';

export const IPC_INVOKE = 'lgms:invoke';
export const IPC_EVENT = 'lgms:event';

export interface LgmsBridge {
  invoke(service: string, method: string, input: unknown): Promise<Result<unknown>>;
  subscribe(listener: (event: EventName, payload: unknown) => void): () => void;
}
