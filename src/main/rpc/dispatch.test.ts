import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import type { Services } from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import { createBackend } from '../backend';
import { createDispatch } from './dispatch';

describe('dispatch', () => {
  const tmp = tempDir();
  const backend = createBackend({ dataDir: tmp.dir, transport: 'http', inference: false });
  afterEach(() => undefined);

  it('refuses unknown services and methods, including prototype names', async () => {
    for (const [s, m] of [
      ['nope', 'get'],
      ['settings', 'nope'],
      ['settings', 'constructor'],
      ['__proto__', 'get'],
      [42, 'get'],
    ]) {
      const r = await backend.dispatch(s, m, undefined);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe('not-found');
    }
  });

  it('validates input against the contract before calling the service', async () => {
    const r = await backend.dispatch('system', 'getInfo', { unexpected: true });
    expect(r.ok).toBe(false);
    if (!r.ok) {
      expect(r.error.code).toBe('invalid-input');
      expect(r.error.details).toBeInstanceOf(Array);
    }
  });

  it('turns a ServiceError into its code and anything else into internal', async () => {
    const logs: string[] = [];
    const services = {
      ...backend.services,
      settings: {
        get: async () => {
          throw new ServiceError('unavailable', 'no disk');
        },
        update: async () => {
          throw new TypeError('bug');
        },
        reset: async () => backend.services.settings.reset(),
      },
    } satisfies Services;
    const dispatch = createDispatch(services, (m) => logs.push(m));
    expect(await dispatch('settings', 'get', undefined)).toEqual({
      ok: false,
      error: { code: 'unavailable', message: 'no disk' },
    });
    expect(await dispatch('settings', 'update', {})).toEqual({ ok: false, error: { code: 'internal', message: 'bug' } });
    expect(logs.join()).toContain('TypeError: bug');
    backend.close();
    tmp.cleanup();
  });
});
