import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { call } from '../../../tests/helpers/api';
import { tempDir } from '../../../tests/helpers/temp';
import { DEFAULT_SETTINGS } from '../../shared/contract';
import { createBackend, type Backend } from '../backend';

describe('settings service', () => {
  let tmp: ReturnType<typeof tempDir>;
  let backend: Backend;
  beforeEach(() => {
    tmp = tempDir();
    backend = createBackend({ dataDir: tmp.dir, transport: 'http', inference: false });
  });
  afterEach(() => {
    backend.close();
    tmp.cleanup();
  });

  it('starts from the defaults', async () => {
    expect(await backend.dispatch('settings', 'get', undefined)).toEqual({ ok: true, value: DEFAULT_SETTINGS });
  });

  it('persists an update across a backend restart and emits onDidChangeSettings', async () => {
    const seen: unknown[] = [];
    backend.events.on('onDidChangeSettings', (s) => seen.push(s));
    const result = await backend.dispatch('settings', 'update', { ttaFlips: 4, userName: 'Dr. Ada' });
    expect(result.ok).toBe(true);
    expect(seen).toHaveLength(1);
    backend.close();
    backend = createBackend({ dataDir: tmp.dir, transport: 'http', inference: false });
    const after = await call(backend).settings.get();
    expect(after.ttaFlips).toBe(4);
    expect(after.userName).toBe('Dr. Ada');
    expect(after.reviewOrder).toBe(DEFAULT_SETTINGS.reviewOrder);
  });

  it('rejects values outside the schema and unknown keys, changing nothing', async () => {
    const bad = await backend.dispatch('settings', 'update', { ttaFlips: 3 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.error.code).toBe('invalid-input');
    const unknown = await backend.dispatch('settings', 'update', { favouriteColour: 'blue' });
    expect(unknown.ok).toBe(false);
    expect((await call(backend).settings.get()).ttaFlips).toBe(DEFAULT_SETTINGS.ttaFlips);
  });

  it('falls back to the default for a stored value an older version wrote', async () => {
    backend.db.prepare("INSERT INTO settings (key, value) VALUES ('ttaFlips', '7'), ('userName', '\"Kept\"')").run();
    backend.close();
    backend = createBackend({ dataDir: tmp.dir, transport: 'http', inference: false });
    const s = await call(backend).settings.get();
    expect(s.ttaFlips).toBe(DEFAULT_SETTINGS.ttaFlips);
    expect(s.userName).toBe('Kept');
  });

  it('reset returns to the defaults', async () => {
    await call(backend).settings.update({ overlayOpacity: 0.9 });
    expect(await call(backend).settings.reset()).toEqual(DEFAULT_SETTINGS);
  });
});
