/// <reference lib="dom" />
// The worklist as a radiologist uses it in the browser: load the demo studies, import a folder
// by path, drop files onto the page, read the report, open a study and see its series.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const PYDICOM = '/usr/lib/python3/dist-packages/pydicom/data/test_files';

describe('worklist in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(tmp.dir), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('offers demo studies on an empty worklist and lists them after the import', async () => {
    await page.getByRole('button', { name: 'Load demo studies' }).click();
    await expect.poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 }).toMatch(/done — \d+ imported/);
    await expect.poll(() => page.getByTestId('worklist-total').textContent()).toMatch(/^[1-9]\d* studies$/);
    expect(await page.locator('tr.study').first().textContent()).toContain('DEMO, PHANTOM');
  }, 120_000);

  it('imports a folder by path and shows the files it skipped, with reasons', async () => {
    await page.locator('input[name=importPath]').fill(PYDICOM);
    await page.getByRole('button', { name: 'Import', exact: true }).click();
    const report = page.getByTestId('import-report');
    await expect.poll(() => report.textContent(), { timeout: 60_000 }).toMatch(/Import test_files: done/);
    await report.getByRole('button', { name: /Show the \d+ files not imported/ }).click();
    expect(await report.textContent()).toMatch(/rtplan\.dcm.*RT Plan Storage.*has no pixel data/s);
  });

  it('imports files dropped onto the page (uploaded, since a browser hides their paths)', async () => {
    const bytes = [...readFileSync(path.join(PYDICOM, 'CT_small.dcm'))];
    const dataTransfer = await page.evaluateHandle((data) => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(data)], 'CT_small.dcm', { type: 'application/dicom' }));
      return dt;
    }, bytes);
    await page.dispatchEvent('section[aria-label=Import]', 'drop', { dataTransfer });
    await expect
      .poll(() => page.getByTestId('import-report').textContent(), { timeout: 60_000 })
      .toMatch(/Import CT_small: done — Already in the worklist: the file was imported before/);
  });

  it('filters by patient and opens a study to show its series with a thumbnail', async () => {
    await page.getByLabel('Filter by patient').fill('CompressedSamples^CT1');
    await expect.poll(() => page.locator('tr.study').count()).toBe(1);
    await page.locator('tr.study').first().click();
    const card = page.getByTestId('series-card').first();
    await expect.poll(() => card.locator('img').getAttribute('src'), { timeout: 30_000 }).toMatch(/^data:image\/png;base64,/);
  });
});
