// Settings → Fine-tuning on a Slurm cluster (issue 26), in Debian's Chromium against the built
// headless server: off by default (the switch waits for a shared folder), the fields typed while
// off are kept and saved when it is switched on, a change while on is saved at once, and off
// returns fine-tuning to this workstation (slurmCluster null). axe-core finds nothing serious.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Settings } from '../../src/shared/contract';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe('Settings: fine-tuning on a Slurm cluster', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const cluster = async () => (await pageApi(page)<Settings>('settings', 'get')).slurmCluster;

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(app.url);
    await page.keyboard.press('Alt+5');
    await page.locator('input[name=slurmEnabled]').waitFor();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('is off until switched on with a shared folder; typed fields are kept, saved, and cleared by switching off', async () => {
    const enabled = page.locator('input[name=slurmEnabled]');
    expect(await cluster()).toBeNull();
    expect(await enabled.isChecked()).toBe(false);
    expect(await enabled.isDisabled()).toBe(true); // no shared folder yet
    await page.locator('input[name=slurmSharedFolder]').fill('/mnt/cluster/lgms');
    await page.locator('input[name=slurmSharedFolder]').press('Tab');
    await page.locator('input[name=slurmGres]').fill('gpu:1');
    await page.locator('input[name=slurmGres]').press('Tab');
    await page.locator('input[name=slurmSubmitCommand]').fill('ssh  login1');
    await page.locator('input[name=slurmSubmitCommand]').press('Tab');
    expect(await cluster()).toBeNull(); // kept, not saved, while off
    await enabled.check();
    await expect.poll(cluster).toEqual({
      sharedFolder: '/mnt/cluster/lgms',
      clusterFolder: '',
      python: 'python3',
      partition: '',
      gres: 'gpu:1',
      timeLimitMinutes: 0,
      submitCommand: ['ssh', 'login1'],
    });
    await page.locator('input[name=slurmPartition]').fill('gpu');
    await page.locator('input[name=slurmPartition]').press('Tab');
    await expect.poll(async () => (await cluster())?.partition).toBe('gpu');

    expect(await axeViolations(page)).toEqual([]);

    await enabled.uncheck();
    await expect.poll(cluster).toBeNull();
    expect(await page.locator('input[name=slurmPartition]').inputValue()).toBe('gpu'); // still typed for next time
  }, 60_000);
});
