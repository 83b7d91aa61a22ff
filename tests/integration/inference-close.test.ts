// Closing the inference engine while it loads a model: close() waits for the load (bounded)
// instead of terminating the worker inside onnxruntime's session creation, and nothing that
// waited for the load (the backend's `ready`) is left waiting forever. The real starter model,
// loaded by the real worker at the backend's start.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { ENGINE_CLOSED } from '../../src/main/inference/engine';
import { ROOT } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.json');
const missing = existsSync(STARTER) ? '' : 'the starter model.json is missing';

/** Resolves to 'settled' when `p` settles within `ms`, else 'pending'. */
const within = (p: Promise<unknown>, ms: number) =>
  Promise.race([
    p.then(
      () => 'settled',
      () => 'settled',
    ),
    new Promise((r) => setTimeout(() => r('pending'), ms)),
  ]);

describe.skipIf(missing)(skipTitle('closing the inference engine during a model load', missing), () => {
  const tmp = tempDir();
  let b: Backend | undefined;
  afterEach(() => {
    b?.close();
    b = undefined;
  });

  it('waits for the load in flight, then stops the worker: the model had loaded and `ready` resolves', async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'a'), transport: 'http' });
    // The backend's start has asked the worker for the starter model: the load is in flight now.
    expect((await b.engine.status()).state).toBe('starting');
    const started = performance.now();
    await b.engine.close();
    const closeMs = performance.now() - started;
    expect(await within(b.ready, 2000)).toBe('settled');
    const status = await b.engine.status();
    expect(status, JSON.stringify(status)).toMatchObject({ state: 'ready', model: { modelId: 'lgmsnet-starter' } });
    expect(closeMs).toBeLessThan(10_000);
  }, 30_000);

  it('waits no longer than its bound: a load outlasting it is answered as closed, and nothing waits forever', async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'b'), transport: 'http' });
    expect((await b.engine.status()).state).toBe('starting');
    const started = performance.now();
    await b.engine.close({ loadWaitMs: 1 });
    expect(performance.now() - started).toBeLessThan(2000);
    expect(await within(b.ready, 2000)).toBe('settled');
    const status = await b.engine.status();
    expect(status.state).toBe('unavailable');
    expect(status.message).toContain(ENGINE_CLOSED);
  }, 30_000);
});
