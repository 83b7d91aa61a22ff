/// <reference lib="dom" />
// The loop's words and keys as a reader meets them (issue 21, items 5, 8 and 9), in Chromium
// against the built headless server: demo studies segmented by the starter, pydicom's CT_small
// beside them. One check per status word — "edited", "labelled", the outside-domain card's
// buttons, "Segmenting on request…", a fresh install's first run — the worklist's keyboard, and
// CT_small shown as unlike the images the model was trained on, first in the review queue.
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/main/db/database';
import { DEFAULT_HYPERPARAMETERS } from '../../src/main/training/service';
import { sources } from '../fixtures';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const CT = path.join(sources.pydicom, 'test_files', 'CT_small.dcm');
const MODEL = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx');
const missing = !existsSync(MODEL) ? 'the starter model is missing' : !existsSync(CT) ? 'run bash tests/fixtures/setup.sh' : '';

interface Job {
  id: number;
  status: string;
}

describe.skipIf(missing !== '')(`the loop's words and keys (${missing || 'demo studies and CT_small'})`, () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);
  async function settle(kind: string): Promise<void> {
    for (let t = Date.now(); ; await new Promise((r) => setTimeout(r, 250))) {
      const jobs = await call<Job[]>('jobs', 'list', { kind });
      if (jobs.length > 0 && jobs.every((j) => j.status !== 'queued' && j.status !== 'running')) return;
      if (Date.now() - t > 90_000) throw new Error(`${kind} jobs did not finish`);
    }
  }
  const row = (text: string) => page.locator('tr.study', { hasText: text });

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(dataDir), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
    await call<{ jobId: number }>('demo', 'load', { patients: 2, imagesPerSeries: 2, domain: 'base' });
    await settle('import');
    await call<{ jobId: number }>('import', 'start', { paths: [CT] });
    await settle('import');
    await settle('inference');
    await page.reload();
  }, 180_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('reaches the first study in no more than 3 Tab presses; ↑/↓ move between studies and Enter opens one', async () => {
    await expect.poll(() => page.locator('tr.study').count()).toBe(3);
    let presses = 0;
    while (presses < 20 && !(await page.evaluate(() => document.activeElement?.closest('tbody tr.study') !== null))) {
      await page.keyboard.press('Tab');
      presses++;
    }
    expect(presses).toBeLessThanOrEqual(3);
    const focusedRow = () =>
      page.evaluate(() =>
        Array.from(document.querySelectorAll('tr.study')).indexOf(document.activeElement!.closest('tr.study')!),
      );
    expect(await focusedRow()).toBe(0);
    await page.keyboard.press('ArrowDown');
    expect(await focusedRow()).toBe(1);
    await page.keyboard.press('ArrowDown');
    await page.keyboard.press('ArrowUp');
    expect(await focusedRow()).toBe(1);
    await page.keyboard.press('Enter');
    await expect.poll(() => page.locator('tr.study').nth(1).getByTestId('study-open').getAttribute('aria-expanded')).toBe('true');
    await expect.poll(() => page.getByTestId('series-card').count()).toBe(1);
    // One Tab stop for the list: Tab leaves it for the opened study's series, not the next study.
    await page.keyboard.press('Tab');
    expect(await page.evaluate(() => document.activeElement?.closest('[data-testid=series-card]') !== null)).toBe(true);
  });

  it('"edited": a study whose series was accepted unchanged does not say edited; "labelled" shows in its row', async () => {
    const queue = await call<{ seriesId: number; patientId: string; modality: string }[]>('review', 'queue', { queue: 'review' });
    const us = queue.find((i) => i.modality === 'US')!;
    await call('review', 'accept', { seriesId: us.seriesId });
    await page.reload();
    const accepted = row(us.patientId);
    await expect.poll(() => accepted.getByTestId('row-state').first().getAttribute('data-state')).toBe('labelled');
    expect(await accepted.getByTestId('row-state').first().textContent()).toBe('1 labelled');
    expect(await accepted.getByTestId('row-edited').count()).toBe(0);
    // The filter's word and the row's word are the same.
    await page.getByTestId('review-state-filter').selectOption('labelled');
    await expect.poll(() => page.locator('tr.study').count()).toBe(1);
    expect(await page.locator('tr.study').getByTestId('row-state').textContent()).toBe('1 labelled');
    await page.getByTestId('review-state-filter').selectOption('');
    await expect.poll(() => page.locator('tr.study').count()).toBe(3);
  });

  it('an outside-domain card offers only "Segment on request…", and "Segmenting on request…" goes when the prediction is there', async () => {
    await row('CompressedSamples').getByTestId('study-open').click();
    const card = page.getByTestId('series-card');
    await expect.poll(() => card.getByTestId('review-state').getAttribute('data-state')).toBe('outside-domain');
    expect(await card.getByRole('button', { name: 'Segment', exact: true }).count()).toBe(0);
    expect(await card.getByRole('button', { name: 'Segment again', exact: true }).count()).toBe(0);
    await card.getByRole('button', { name: 'Segment on request…' }).click();
    await page.getByRole('button', { name: 'Segment anyway' }).click();
    await expect.poll(() => card.getByTestId('review-state').getAttribute('data-state')).toBe('to-review');
    await settle('inference');
    await expect.poll(() => card.getByTestId('segmenting-on-request').count(), { timeout: 30_000 }).toBe(0);
    expect(await card.textContent()).not.toMatch(/Segmenting on request/);
  }, 120_000);

  it('shows CT_small as unlike the images the model was trained on: its card, its row, first in the review queue', async () => {
    const card = page.getByTestId('series-card');
    await expect
      .poll(() => card.getByTestId('series-unlike').textContent(), { timeout: 30_000 })
      .toMatch(/unlike the images this model was trained on/);
    expect(await row('CompressedSamples').getByTestId('row-unlike').count()).toBe(1);
    expect(await page.getByTestId('row-unlike').count()).toBe(1); // the demo phantoms are not
    expect(await axeViolations(page)).toEqual([]);
    // Opened from the worklist (no decision bar), the viewer says it too.
    await card.getByTestId('open-series').click();
    await expect
      .poll(() => page.getByTestId('viewer-unlike').textContent(), { timeout: 20_000 })
      .toMatch(/unlike the images this model was trained on/);
    await page.keyboard.press('Alt+2');
    const first = page.getByTestId('review-queue').locator('li').first();
    await expect
      .poll(() => first.getByTestId('queue-unlike').textContent(), { timeout: 20_000 })
      .toMatch(/unlike the images this model was trained on/);
    expect(await page.getByTestId('queue-unlike').count()).toBe(1);
    await first.getByRole('button').click();
    await expect
      .poll(() => page.getByTestId('review-unlike').textContent(), { timeout: 20_000 })
      .toMatch(/unlike the images this model was trained on/);
    expect(await axeViolations(page)).toEqual([]);
  });

  it('names the reader and the patient and series in the audit view, not ids', async () => {
    await page.keyboard.press('Shift+3');
    const audit = page.getByTestId('audit');
    await expect.poll(() => audit.locator('tbody tr').count(), { timeout: 10_000 }).toBeGreaterThanOrEqual(2);
    const accept = audit.locator('tbody tr', { hasText: 'review.accept' });
    expect(await accept.getByTestId('audit-patient').textContent()).toMatch(/^DEMO, PHANTOM \d{4} \(DEMO-4001-\d{4}\)$/);
    expect(await accept.getByTestId('audit-series').textContent()).toMatch(/^US \d* ?\S/);
    expect(await accept.textContent()).not.toMatch(/no user name set/);
    expect(await axeViolations(page)).toEqual([]);
  });

  it("a fresh install's first run is starting, not waiting for a run before it", async () => {
    // A queued first run, as start() leaves it while Python is found and the labels staged (that
    // lasts seconds on a real machine, too short to catch here): written as the service writes it.
    const db = openDatabase(path.join(dataDir, 'lgms.sqlite'));
    const parent = db.prepare("SELECT id FROM model_versions WHERE status = 'active'").pluck().get() as number;
    db.prepare(
      "INSERT INTO training_runs (status, parent_version_id, hyperparameters, out_dir) VALUES ('queued', ?, ?, 'training/run-1')",
    ).run(parent, JSON.stringify(DEFAULT_HYPERPARAMETERS));
    db.close();
    await page.keyboard.press('Alt+3');
    await expect
      .poll(() => page.getByTestId('current-run-status').textContent(), { timeout: 20_000 })
      .toBe('Starting: preparing the labels');
    expect(await page.getByTestId('current-run').textContent()).not.toMatch(/Waiting for the run before it|run before it ends/);
    expect(await axeViolations(page)).toEqual([]);
  });
});
