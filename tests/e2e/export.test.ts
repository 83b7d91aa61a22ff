/// <reference lib="dom" />
// Exporting and PACS settings as a radiologist uses them in the browser: export a demo series
// (segmented by the shipped model) as PNG masks from the worklist's Export dialog; add a PACS
// with a password and see that the password is never shown again.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe('export and PACS settings in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it("exports a segmented series as PNG masks, saying the model's prediction was used", async () => {
    await page.getByRole('button', { name: 'Load demo studies' }).click();
    await expect.poll(() => page.getByTestId('import-report').textContent(), { timeout: 90_000 }).toMatch(/done — \d+ imported/);
    await page.locator('tr.study').first().click();
    const card = page.getByTestId('series-card').first();
    await expect.poll(() => card.textContent(), { timeout: 120_000 }).toMatch(/segmented/);
    await card.getByTestId('export-series').click();
    const dialog = page.getByTestId('export-dialog');
    await dialog.getByLabel('Export format').selectOption('png');
    const out = path.join(tmp.dir, 'out');
    await dialog.getByLabel('Export folder').fill(out);
    await dialog.getByRole('button', { name: 'Export', exact: true }).click();
    await expect
      .poll(
        () =>
          dialog
            .getByRole('alert')
            .textContent()
            .catch(() => ''),
        { timeout: 30_000 },
      )
      .toMatch(/no labels/);
    await dialog.getByText("Use the model's prediction").click();
    await dialog.getByRole('button', { name: 'Export', exact: true }).click();
    await expect
      .poll(
        () =>
          dialog
            .getByTestId('export-result')
            .textContent()
            .catch(() => ''),
        { timeout: 60_000 },
      )
      .toMatch(/file\(s\) from the model's prediction/);
    const [folder] = readdirSync(out);
    // The slices, and the sidecar naming the task's label values (issue 22).
    expect(readdirSync(path.join(out, folder!)).every((f) => /^slice_\d{4}\.png$/.test(f) || f === 'labels.json')).toBe(true);
    expect(readdirSync(path.join(out, folder!))).toContain('labels.json');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByTestId('export-dialog').count()).toBe(0);
  }, 300_000);

  it('adds a PACS with a password that is stored but never shown again', async () => {
    await page.getByRole('button', { name: /^Settings/ }).click();
    const section = page.getByTestId('pacs-settings');
    await section.getByLabel('PACS name').fill('Hospital PACS');
    await section.getByLabel('DICOMweb URL').fill('http://127.0.0.1:9/dicom-web');
    await section.getByLabel('Sign-in').selectOption('basic');
    await section.getByLabel('User name').fill('reader');
    await section.getByLabel('Password').fill('s3cret-pw');
    await section.getByRole('button', { name: 'Add PACS' }).click();
    await expect
      .poll(() => section.textContent())
      .toMatch(/Hospital PACS.*basic as reader.*secret stored protected by file permissions only/s);
    await section.getByRole('button', { name: 'Edit' }).click();
    expect(await section.getByLabel('Password').inputValue()).toBe('');
    expect(await page.content()).not.toContain('s3cret-pw');
  });
});
