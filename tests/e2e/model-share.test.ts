// Models view → shared with the department (issue 26), in Debian's Chromium against the built
// headless server of workstation B: workstation A (an in-process backend on its own data folder)
// has published a version and the shipped starter to the shared folder; B sets the folder in Settings, sees A's version
// (not here) beside the shipped starter (here, active), adopts it, and the candidate arrives with
// its comparison panel naming where it came from. B has no labels, so its gate says why it could
// not compare on validation labels, and the reference set is compared. axe-core finds nothing serious.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { copyModelFolder } from '../../src/main/models/transfer';
import type { ModelVersionInfo, SharedVersion, TrainingRun } from '../../src/shared/contract';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter');

describe('Models view: a version shared by another workstation, adopted and gated here', () => {
  const tmp = tempDir();
  const share = path.join(tmp.dir, 'share');
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  let published: SharedVersion;

  beforeAll(async () => {
    mkdirSync(share);
    // Workstation A publishes a version (the starter's weights as its child).
    const a = createBackend({ dataDir: path.join(tmp.dir, 'a'), transport: 'http', inference: false });
    try {
      await a.services.settings.update({ userName: 'Dr A', modelShareFolder: share });
      const dir = copyModelFolder(STARTER, path.join(tmp.dir, 'a-candidate')).dir;
      const m = JSON.parse(readFileSync(path.join(dir, 'model.json'), 'utf8')) as Record<string, unknown>;
      writeFileSync(
        path.join(dir, 'model.json'),
        JSON.stringify({
          ...m,
          id: 'lgmsnet-starter-ft1',
          name: 'LGMSNet (fine-tuned on A)',
          version: '1.0.0+ft1',
          parent: 'lgmsnet-starter',
        }),
      );
      const version = await a.services.models.importVersion({ folder: dir });
      published = await a.services.modelShare.publish({ id: version.id });
      await a.services.modelShare.publish({ id: a.registry.active()!.id }); // the shipped starter: already on B
    } finally {
      a.close();
    }
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'b')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(app.url);
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('lists the shared version, adopts it, and shows where the candidate came from', async () => {
    const call = pageApi(page);
    await page.keyboard.press('Alt+4');
    await page.getByTestId('shared-models').getByText('No shared folder is set').waitFor();
    await page.keyboard.press('Alt+5');
    await page.locator('input[name=modelShareFolder]').fill(share);
    await page.locator('input[name=modelShareFolder]').press('Tab');
    await expect.poll(async () => (await call<{ modelShareFolder: string }>('settings', 'get')).modelShareFolder).toBe(share);

    await page.keyboard.press('Alt+4');
    const row = page.locator(`[data-testid=shared-version][data-hash="${published.contentHash}"]`);
    await row.waitFor();
    expect(await row.getAttribute('data-here')).toBe('no');
    expect(await row.textContent()).toContain('Dr A');
    expect(await page.locator('[data-testid=shared-version][data-here=active]').count()).toBe(1); // the shipped starter

    await row.getByTestId('adopt').click();
    await page.getByTestId('shared-models').getByRole('status').getByText('was copied here as a candidate').waitFor();
    // Here at once as a candidate, its comparison running; the row says when it has finished.
    await expect.poll(() => row.getAttribute('data-here')).toBe('candidate');
    await expect.poll(() => row.getAttribute('data-gate'), { timeout: 120_000 }).toBe('done');
    const versions = await call<ModelVersionInfo[]>('models', 'list');
    const adopted = versions.find((v) => v.modelId === 'lgmsnet-starter-ft1')!;
    expect(adopted.status).toBe('candidate');
    const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.candidateVersionId === adopted.id)!;
    expect(run.adoptedFrom?.publishedBy).toBe('Dr A');
    expect(run.gateError).toContain('no validation labels');
    expect(run.referenceGate?.n).toBe(32);
    await page.getByTestId('adopted-from').getByText('published by Dr A').waitFor();

    expect(await axeViolations(page)).toEqual([]);
  }, 240_000);
});
