// The in-process transport: the CLI and the tests call the backend through the same typed
// client as the renderer (createApiClient), so every call passes the contract's schemas once,
// at the boundary, instead of reaching the concrete services around them.
import type { EventName, Events } from '../../shared/contract';
import type { Transport } from '../../shared/contract/client';
import type { Emitter } from '../../shared/events';
import type { Dispatch } from './dispatch';

export function createInProcessTransport(dispatch: Dispatch, events: Emitter<Events>): Transport {
  return {
    kind: 'in-process',
    invoke: (service, method, input) => dispatch(service, method, input),
    subscribe: (listener) => events.onAny((event, payload) => listener(event as EventName, payload)),
  };
}
