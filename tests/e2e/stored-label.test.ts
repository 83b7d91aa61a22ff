// What the reader sees is what is stored, in Debian's Chromium against the built headless server
// with the starter model's real predictions of two demo series: a drawing submitted from the bar
// above a series opened from the worklist reopens showing the label just stored (said so on
// screen, per slice the stored pixel counts, no draft written by opening); an edit on another
// slice starts a draft holding the stored label plus the edit; undo stops at the stored label;
// a prediction accepted in the Review view shows when the series is opened from the worklist.
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DraftView, ReviewItem, SeriesLabels } from '../../src/shared/contract';
import { decodeRle } from '../../src/shared/imaging/rle';
import { imageToScreen, launchChromium, pageApi } from '../helpers/browser';
import { capsule } from '../helpers/capsule';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

const MODEL = existsSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx'));
const IMAGES = 3;

describe.skipIf(!MODEL)(
  skipTitle('the stored label in the viewer, in Chromium', MODEL ? '' : 'the starter model.onnx is missing'),
  () => {
    const tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    let app: ServedApp;
    let browser: Browser;
    let page: Page;
    let order: number[] = [];
    const problems: string[] = [];
    const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);

    /** Reads the SQLite file: the current label maps of the series (image id → map), and the draft rows. */
    function stored(seriesId: number): { labels: Map<number, Uint8Array>; drafts: number } {
      const db = new Database(path.join(dataDir, 'lgms.sqlite'), { readonly: true });
      try {
        const rows = db
          .prepare(
            'SELECT l.image_id AS imageId, l.mask, i.rows * i.columns AS n FROM labels l JOIN images i ON i.id = l.image_id WHERE l.series_id = ? AND l.superseded_at IS NULL',
          )
          .all(seriesId) as { imageId: number; mask: Buffer; n: number }[];
        const drafts = db.prepare('SELECT count(*) FROM drafts WHERE series_id = ?').pluck().get(seriesId) as number;
        return { labels: new Map(rows.map((r) => [r.imageId, decodeRle(r.mask, r.n)])), drafts };
      } finally {
        db.close();
      }
    }

    const foreground = (m: Uint8Array | undefined) => (m ? m.reduce((a, v) => a + (v !== 0 ? 1 : 0), 0) : 0);

    async function imageIds(seriesId: number): Promise<number[]> {
      return (await call<{ images: { imageId: number }[] }>('viewer', 'series', { seriesId })).images.map((i) => i.imageId);
    }

    /** Worklist → study → Open, as a reader does (the viewer opens on the middle slice). */
    async function openFromWorklist(seriesId: number) {
      await page.keyboard.press('Alt+1');
      const { studyId } = await call<{ studyId: number }>('viewer', 'series', { seriesId });
      const list = await call<{ rows: { studyId: number; patientId: string }[] }>('worklist', 'list', {});
      const row = page.locator('tr.study', { hasText: list.rows.find((r) => r.studyId === studyId)!.patientId });
      if ((await row.getByTestId('study-open').getAttribute('aria-expanded')) !== 'true') await row.click();
      await expect.poll(() => row.getByTestId('study-open').getAttribute('aria-expanded')).toBe('true');
      await page.getByTestId('open-series').first().click();
      await expect
        .poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 20_000 })
        .toBe(String(IMAGES));
      await page.mouse.move(5, 5);
    }

    const screen = (x: number, y: number) => imageToScreen(page, x, y);

    /** One brush stroke on the slice on screen, waited until the draft is saved; returns its pixels. */
    async function stroke(from: readonly [number, number], to: readonly [number, number]): Promise<Set<number>> {
      await page.keyboard.press('b');
      const a = await screen(...from);
      const b = await screen(...to);
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 10 });
      await page.mouse.up();
      await page.mouse.move(5, 5);
      await expect.poll(() => page.getByTestId('draft-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('saved');
      return capsule(...from, ...to, 5); // the brush is 10 px across
    }

    /** Steps through the slices: each one's labelled pixels, as the viewer counts them, are `expected`'s. */
    async function expectCounts(expected: number[]) {
      await page.keyboard.press('Home');
      for (const [i, n] of expected.entries()) {
        if (i > 0) await page.keyboard.press('ArrowDown');
        await expect.poll(() => page.getByTestId('overlay-slice').textContent()).toBe(`Im ${i + 1} / ${IMAGES}`);
        await expect.poll(() => page.getByTestId('label-count').getAttribute('data-count')).toBe(String(n));
      }
    }

    beforeAll(async () => {
      [app, browser] = await Promise.all([serveApp(dataDir), launchChromium()]);
      page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(app.url);
      await call('settings', 'update', { userName: 'Dr Stored', ttaFlips: 0 });
      const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 2, imagesPerSeries: IMAGES, domain: 'base' });
      for (let t = Date.now(); Date.now() - t < 150_000; await new Promise((r) => setTimeout(r, 500))) {
        const jobs = await call<{ kind: string; status: string }[]>('jobs', 'list', {});
        const imported = (await call<{ status: string }>('jobs', 'get', { id: jobId })).status === 'done';
        const inference = jobs.filter((j) => j.kind === 'inference');
        if (imported && inference.length === 2 && inference.every((j) => j.status === 'done')) break;
      }
      order = (await call<ReviewItem[]>('review', 'queue', { queue: 'review' })).map((i) => i.seriesId);
      await page.reload();
    }, 200_000);

    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      tmp.cleanup();
    });

    it('a drawing submitted from the bar reopens as the stored label; an edit starts a draft from it; undo stops at it', async () => {
      expect(order).toHaveLength(2);
      const seriesId = order[0]!;
      const ids = await imageIds(seriesId);
      await openFromWorklist(seriesId);
      expect(await page.getByTestId('stored-label').count()).toBe(0);
      const painted = await stroke([60, 120], [120, 120]);
      await page.getByTestId('submit-drawing').click();
      await expect
        .poll(() => page.getByTestId('drawing-message').textContent(), { timeout: 20_000 })
        .toMatch(/^Submitted: 3 slice labels saved/);

      // The series reopens showing what was just stored, said so, and nothing is written by opening it.
      await expect.poll(() => page.getByTestId('stored-label').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await page.getByTestId('stored-label').textContent()).toMatch(
        /^\s*Showing the stored label \(.+ by Dr Stored, .+\)\s*$/,
      );
      const first = stored(seriesId);
      const middle = first.labels.get(ids[1]!)!;
      expect(foreground(middle)).toBe(painted.size);
      await expectCounts(ids.map((id) => foreground(first.labels.get(id))));
      expect(first.drafts).toBe(0);
      expect(await page.getByTestId('submit-drawing').isDisabled()).toBe(true);
      expect(await page.getByTestId('draft-differs').count()).toBe(0);

      // A stroke on the first slice: the draft holds the stored middle slice plus the stroke.
      await page.keyboard.press('Home');
      const added = await stroke([150, 60], [190, 60]);
      const draft = (await call<DraftView | null>('viewer', 'draft', { seriesId }))!;
      expect(draft.revision).toBe(1);
      const n = middle.length;
      const maps = new Map(draft.slices.map((s) => [s.imageId, decodeRle(s.labels, n)]));
      expect(maps.get(ids[1]!)).toEqual(middle);
      expect(foreground(maps.get(ids[0]!))).toBe(added.size);
      expect(await page.getByTestId('stored-label').count()).toBe(0);
      await expect.poll(() => page.getByTestId('draft-differs').isVisible(), { timeout: 10_000 }).toBe(true);

      // Undo takes the stroke back and no further: the stored label stays on screen and stored.
      await page.keyboard.press('Control+z');
      await expect.poll(() => page.getByRole('button', { name: 'Undo' }).isDisabled()).toBe(true);
      await expect.poll(() => page.getByTestId('draft-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('saved');
      await expectCounts(ids.map((id) => foreground(first.labels.get(id))));
      const after = stored(seriesId);
      for (const id of ids) expect(after.labels.get(id)).toEqual(first.labels.get(id));
      expect(problems).toEqual([]);
    }, 120_000);

    it('a prediction accepted in the Review view shows when the series is opened from the worklist', async () => {
      const seriesId = order[1]!;
      const ids = await imageIds(seriesId);
      // The Review view's queue holds this one case.
      await page.keyboard.press('Alt+2');
      await page.keyboard.press('Shift+1');
      await expect
        .poll(() => page.getByTestId('review-actions').getAttribute('data-series'), { timeout: 20_000 })
        .toBe(String(seriesId));
      await expect
        .poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 20_000 })
        .toBe(String(IMAGES));
      await page.keyboard.press('a');
      await expect.poll(async () => (await call<SeriesLabels>('review', 'labels', { seriesId })).labels.length).toBe(IMAGES);
      const accepted = stored(seriesId);

      await openFromWorklist(seriesId);
      await expect.poll(() => page.getByTestId('stored-label').isVisible(), { timeout: 10_000 }).toBe(true);
      expect(await page.getByTestId('stored-label').textContent()).toMatch(/Showing the stored label \(accepted by Dr Stored, /);
      await expectCounts(ids.map((id) => foreground(accepted.labels.get(id))));
      expect(ids.some((id) => foreground(accepted.labels.get(id)) > 0)).toBe(true);
      expect(stored(seriesId).drafts).toBe(0);
      expect(problems).toEqual([]);
    }, 90_000);
  },
);
