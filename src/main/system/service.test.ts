// The system service's trainer status: a window that asks while the same Python is being probed
// joins that probe instead of starting a second one, and learns its result even when the
// onDidChangeTrainer event went out before it listened; a changed setting probes anew.
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { createBackend } from '../backend';

describe('system.refreshTrainer', () => {
  const tmp = tempDir();
  const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  afterAll(() => {
    b.close();
    tmp.cleanup();
  });

  it('joins a running probe of the same Python, and probes again once the setting changes', async () => {
    await b.services.settings.update({ pythonPath: path.join(tmp.dir, 'no-such-python') });
    const events: unknown[] = [];
    const off = b.events.on('onDidChangeTrainer', (s) => events.push(s));
    const first = b.services.system.refreshTrainer();
    const info = await b.services.system.getInfo(); // a window opening meanwhile
    expect(info.trainer.checking).toBe(true);
    const joined = b.services.system.refreshTrainer();
    const [a, c] = await Promise.all([first, joined]);
    expect(c).toBe(a);
    expect(a.available).toBe(false);
    expect(a.reason).toContain('no-such-python');
    expect(events).toHaveLength(1);
    await b.services.settings.update({ pythonPath: path.join(tmp.dir, 'another-missing-python') });
    const again = await b.services.system.refreshTrainer();
    expect(again.reason).toContain('another-missing-python');
    expect(events).toHaveLength(2);
    off();
  });
});
