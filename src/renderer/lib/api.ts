// The renderer's single API object. It picks the transport at start: the preload's bridge in
// Electron, HTTP + WebSocket in a browser against the headless server.
import type { LgmsBridge } from '../../shared/contract/bridge';
import { createApiClient, type Transport } from '../../shared/contract/client';
import { createHttpTransport } from './http-transport';

declare global {
  interface Window {
    lgms?: LgmsBridge;
  }
}

function pickTransport(): Transport {
  const bridge = window.lgms;
  if (bridge) return { kind: 'electron', invoke: bridge.invoke, subscribe: bridge.subscribe };
  return createHttpTransport();
}

export const transport = pickTransport();
export const api = createApiClient(transport);
