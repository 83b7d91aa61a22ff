// Accessibility of the worklist, viewer, settings and models views (issue 15, item 10), checked
// by axe-core (a well-kept checker, injected into the page) in Debian's Chromium against the built
// headless server: no serious or critical violation (accessible names, contrast in the dark
// theme by WCAG 2 AA, labels, roles), and a focus order that follows the layout.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface Violation {
  id: string;
  impact: string | null;
  help: string;
  nodes: { target: string[]; failureSummary?: string }[];
}

describe('accessibility (axe-core)', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;

  /** Serious and critical violations on the page as it is, one line each with where. */
  async function audit(): Promise<string[]> {
    // Evaluated through the debugging protocol, which the page's CSP does not govern.
    await page.evaluate(AXE);
    const violations = (await page.evaluate(async () => {
      const axe = (window as unknown as { axe: { run(ctx: unknown, o: unknown): Promise<{ violations: unknown[] }> } }).axe;
      return (
        await axe.run(document, {
          runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice'] },
        })
      ).violations;
    })) as Violation[];
    return violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map(
        (v) =>
          `${v.id} (${v.impact}): ${v.help} — ${v.nodes
            .map((n) => n.target.join(' '))
            .slice(0, 5)
            .join(', ')}`,
      );
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(app.url);
    const call = pageApi(page);
    const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 2, imagesPerSeries: 3, domain: 'base' });
    for (let t = Date.now(); Date.now() - t < 60_000; await new Promise((r) => setTimeout(r, 250))) {
      if ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status === 'done') break;
    }
    await page.reload();
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('worklist (with a study open and its series shown): no serious or critical violation', async () => {
    await expect.poll(() => page.locator('tr.study').count()).toBe(2);
    await page.locator('tr.study').first().click();
    await expect.poll(() => page.getByTestId('series-card').count()).toBe(1);
    await expect.poll(() => page.getByTestId('row-thumbnail').count(), { timeout: 20_000 }).toBe(2);
    expect(await audit()).toEqual([]);
  });

  it('viewer: no serious or critical violation, and Tab walks toolbar → side panel → slice bar as laid out', async () => {
    await page.getByTestId('open-series').first().click();
    await expect.poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 30_000 }).toBe('3');
    expect(await audit()).toEqual([]);
    // Focus order: the regions in the order a reader sees them (toolbar on top, then the image's
    // side panel, then the slice bar below the image), never jumping back.
    await page.locator('.toolbar .back').focus();
    const regions: string[] = [];
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      const region = await page.evaluate(() => {
        const el = document.activeElement;
        return el?.closest('.toolbar')
          ? 'toolbar'
          : el?.closest('.slicebar')
            ? 'slicebar'
            : el?.closest('.panel')
              ? 'panel'
              : 'other';
      });
      if (regions.at(-1) !== region) regions.push(region);
    }
    expect(regions.slice(0, 3)).toEqual(['toolbar', 'panel', 'slicebar']);
    expect(await page.locator('[tabindex]:not([tabindex="0"]):not([tabindex="-1"])').count()).toBe(0);
  });

  it('settings: no serious or critical violation', async () => {
    await page.keyboard.press('Alt+5');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Settings');
    expect(await audit()).toEqual([]);
  });

  it('models: no serious or critical violation', async () => {
    await page.keyboard.press('Alt+4');
    await expect.poll(() => page.locator('h1').textContent()).toMatch(/Models/);
    expect(await audit()).toEqual([]);
  });
});
