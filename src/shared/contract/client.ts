// Builds the renderer's `Api` from any transport: one Proxy, no hand-written wrapper per method,
// so a method added to the contract is callable everywhere at once.
import { fail, type Result } from '../result';
import { contract, isServiceName, type Api, type EventName } from './index';

export interface Transport {
  /** Electron IPC, the headless server, or a direct call inside the backend's process (CLI, tests). */
  readonly kind: 'electron' | 'http' | 'in-process';
  invoke(service: string, method: string, input: unknown): Promise<Result<unknown>>;
  /** Receives every backend event; returns an unsubscribe function. */
  subscribe(listener: (event: EventName, payload: unknown) => void): () => void;
}

export function createApiClient(transport: Transport): Api {
  const listeners = new Map<EventName, Set<(payload: never) => void>>();
  let unsubscribe: (() => void) | undefined;

  function on(event: EventName, listener: (payload: never) => void): () => void {
    unsubscribe ??= transport.subscribe((name, payload) => {
      for (const l of listeners.get(name) ?? []) l(payload as never);
    });
    let set = listeners.get(event);
    if (!set) listeners.set(event, (set = new Set()));
    set.add(listener);
    return () => set.delete(listener);
  }

  const services = new Map<string, object>();
  return new Proxy({ on } as unknown as Api, {
    get(target, prop) {
      if (prop === 'on') return on;
      if (!isServiceName(prop)) return Reflect.get(target, prop);
      let proxy = services.get(prop);
      if (!proxy) {
        const methods = contract[prop];
        proxy = new Proxy(
          {},
          {
            get(_t, method) {
              if (typeof method !== 'string' || !Object.hasOwn(methods, method)) return undefined;
              return (input?: unknown) => transport.invoke(prop, method, input).catch((e: unknown) => fail('io', describe(e)));
            },
          },
        );
        services.set(prop, proxy);
      }
      return proxy;
    },
  });
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** Unwraps a Result, throwing its error message: for places where failure is a bug. */
export function unwrap<T>(result: Result<T>): T {
  if (result.ok) return result.value;
  throw new Error(`${result.error.code}: ${result.error.message}`);
}
