// The in-process transport on a real backend: the CLI's and the tests' calls pass the contract's
// schemas, errors come back as data, events arrive through the client, and the folder picker is
// the host's (unsupported without one).
import { afterEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { createBackend, type Backend } from '../backend';

describe('in-process transport', () => {
  let tmp: ReturnType<typeof tempDir> | undefined;
  let backend: Backend | undefined;
  const start = (host?: Parameters<typeof createBackend>[0]['host']) => {
    tmp = tempDir();
    backend = createBackend({ dataDir: tmp.dir, transport: 'http', inference: false, ...(host ? { host } : {}) });
    return backend;
  };
  afterEach(() => {
    backend?.close();
    tmp?.cleanup();
  });

  it('validates at the boundary and answers errors as data', async () => {
    const b = start();
    const bad = await b.api.settings.update({ ttaFlips: 3 as 2 });
    expect(bad).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
    expect(await b.api.settings.update({ ttaFlips: 4 })).toMatchObject({ ok: true, value: { ttaFlips: 4 } });
    expect(await b.api.jobs.get({ id: 12345 })).toMatchObject({ ok: false, error: { code: 'not-found' } });
  });

  it('delivers backend events to the client', async () => {
    const b = start();
    const seen: string[] = [];
    const off = b.api.on('onDidChangeSettings', (s) => seen.push(s.userName));
    await b.api.settings.update({ userName: 'Dr. In-Process' });
    off();
    await b.api.settings.update({ userName: 'after' });
    expect(seen).toEqual(['Dr. In-Process']);
  });

  it('answers the folder picker with unsupported where the host has none, and with its paths where it has', async () => {
    const headless = await start().api.system.pickPaths({ kind: 'folder' });
    expect(headless).toMatchObject({ ok: false, error: { code: 'unsupported' } });
    backend!.close();
    tmp!.cleanup();
    const asked: string[] = [];
    const b = start({ pickPaths: async (kind) => (asked.push(kind), ['/studies/ct']) });
    expect(await b.api.system.pickPaths({ kind: 'files' })).toEqual({ ok: true, value: ['/studies/ct'] });
    expect(await b.api.system.pickPaths({ kind: 'disk' as 'files' })).toMatchObject({
      ok: false,
      error: { code: 'invalid-input' },
    });
    expect(asked).toEqual(['files']);
  });
});
