// The app as a radiologist opens it in a browser against `npm run serve`: Debian's Chromium,
// the real built renderer, the real backend in a fresh data folder.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from '../helpers/browser';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe('headless app in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(tmp.dir), launchChromium()]);
  });
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('fills the status bar from the backend, persists a setting across a reload, and shows no CSP violation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const problems: string[] = [];
    page.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    page.on('pageerror', (e) => problems.push(e.message));

    await page.goto(app.url);
    expect(new URL(page.url()).search).toBe(''); // the token left the address bar
    await expect.poll(() => page.getByTestId('status-version').textContent()).toMatch(/LGMS Workstation \d+\.\d+\.\d+/);
    expect(await page.getByTestId('status-provider').textContent()).toMatch(/Inference: CPU/);
    // The trainer probe runs in the background and settles to a definite answer.
    await expect
      .poll(() => page.getByTestId('status-trainer').textContent(), { timeout: 60_000 })
      .toMatch(/Trainer: (PyTorch|not available)/);

    await page.keyboard.press('Alt+5');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Settings');
    await page.locator('select[name=reviewOrder]').selectOption('fifo');
    await page.locator('input[name=userName]').fill('Dr. Playwright');
    await page.locator('input[name=userName]').press('Tab');
    await expect.poll(() => page.locator('.saved').textContent()).toBe('Saved');
    const shots = path.join(ROOT, '.tmp', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'settings.png') });

    await page.reload();
    await page.getByRole('button', { name: /Settings/ }).click();
    await expect.poll(() => page.locator('select[name=reviewOrder]').inputValue()).toBe('fifo');
    expect(await page.locator('input[name=userName]').inputValue()).toBe('Dr. Playwright');
    expect(problems).toEqual([]);
    await page.close();
  }, 90_000); // the trainer probe imports PyTorch: 14 s alone, over 30 s beside another e2e file

  it('shows the server refusing a browser that lacks the token', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const response = await page.goto(app.origin + '/');
    expect(response?.status()).toBe(401);
    expect(await page.textContent('body')).toMatch(/Unauthorized/);
    await context.close();
  });
});
