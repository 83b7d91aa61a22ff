import { describe, expect, it } from 'vitest';
import type { EventName } from './index';
import { createApiClient, type Transport } from './client';

function fakeTransport() {
  const calls: unknown[][] = [];
  let emit: ((e: EventName, p: unknown) => void) | undefined;
  const transport: Transport = {
    kind: 'http',
    invoke: async (...args) => {
      calls.push(args);
      return { ok: true, value: args[1] };
    },
    subscribe: (listener) => {
      emit = listener;
      return () => (emit = undefined);
    },
  };
  return { transport, calls, emit: (e: EventName, p: unknown) => emit?.(e, p) };
}

describe('createApiClient', () => {
  it('routes every contract method to the transport by name', async () => {
    const t = fakeTransport();
    const api = createApiClient(t.transport);
    expect(await api.settings.update({ ttaFlips: 0 })).toEqual({ ok: true, value: 'update' });
    expect(await api.system.getInfo()).toEqual({ ok: true, value: 'getInfo' });
    expect(t.calls).toEqual([
      ['settings', 'update', { ttaFlips: 0 }],
      ['system', 'getInfo', undefined],
    ]);
  });

  it('exposes no method the contract does not declare', () => {
    const api = createApiClient(fakeTransport().transport) as unknown as Record<string, Record<string, unknown>>;
    expect(api.settings!.dropDatabase).toBeUndefined();
    expect(api.nothing).toBeUndefined();
  });

  it('turns a transport failure into an io error instead of throwing', async () => {
    const api = createApiClient({
      kind: 'http',
      invoke: () => Promise.reject(new Error('socket closed')),
      subscribe: () => () => {},
    });
    expect(await api.settings.get()).toEqual({ ok: false, error: { code: 'io', message: 'socket closed' } });
  });

  it('delivers events only to listeners of that event, until they unsubscribe', () => {
    const t = fakeTransport();
    const api = createApiClient(t.transport);
    const got: unknown[] = [];
    const off = api.on('onDidChangeSettings', (s) => got.push(s));
    t.emit('onDidChangeTrainer', { available: true });
    t.emit('onDidChangeSettings', { ttaFlips: 2 });
    off();
    t.emit('onDidChangeSettings', { ttaFlips: 4 });
    expect(got).toEqual([{ ttaFlips: 2 }]);
  });
});
