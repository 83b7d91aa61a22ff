// The review loop as a radiologist drives it, decisions by keyboard only, in Debian's Chromium
// against the built headless server with the starter model's real predictions of six demo
// series: accept two, edit and submit two (brush strokes; exact label maps read back from the
// SQLite file), reject one → correct it from the correction queue, skip one; the audit rows,
// the labels' provenance and the worklist states; a reload mid-review returns to the same case;
// a SIGKILL of the backend right after a submit loses no submitted label; A on a series with a
// drawn draft stores what the viewer shows (an edited label), and the viewer says when a draft is
// not the stored label (issue 21, item 1).
import Database from 'better-sqlite3';
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntry, PredictionView, ReviewItem, SeriesLabels } from '../../src/shared/contract';
import { dice } from '../../src/shared/imaging/postprocess';
import { decodeRle } from '../../src/shared/imaging/rle';
import { imageToScreen, launchChromium, pageApi } from '../helpers/browser';
import { capsule } from '../helpers/capsule';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const MODEL = existsSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx'));

describe.skipIf(!MODEL)(
  skipTitle('review loop in Chromium, keyboard only', MODEL ? '' : 'the starter model.onnx is missing'),
  () => {
    const tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    let app: ServedApp;
    let browser: Browser;
    let page: Page;
    let order: number[] = [];
    const problems: string[] = [];
    const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);

    /** The current label maps of a series, straight from the SQLite file. */
    function storedLabels(seriesId: number): Map<number, Uint8Array> {
      const db = new Database(path.join(dataDir, 'lgms.sqlite'), { readonly: true });
      try {
        const rows = db
          .prepare(
            'SELECT l.image_id AS imageId, l.mask, i.rows * i.columns AS n FROM labels l JOIN images i ON i.id = l.image_id WHERE l.series_id = ? AND l.superseded_at IS NULL',
          )
          .all(seriesId) as { imageId: number; mask: Buffer; n: number }[];
        return new Map(rows.map((r) => [r.imageId, decodeRle(r.mask, r.n)]));
      } finally {
        db.close();
      }
    }

    async function predictionMaps(seriesId: number): Promise<{ imageId: number; mask: Uint8Array }[]> {
      const ids = (await call<{ images: { imageId: number }[] }>('viewer', 'series', { seriesId })).images.map((i) => i.imageId);
      return Promise.all(
        ids.map(async (imageId) => {
          const p = (await call<PredictionView>('inference', 'prediction', { imageId }))!;
          return { imageId, mask: decodeRle(p.mask, p.rows * p.columns) };
        }),
      );
    }

    /** Waits until the action bar shows `seriesId` with every slice loaded. */
    async function showing(seriesId: number) {
      await expect
        .poll(() => page.getByTestId('review-actions').getAttribute('data-series'), { timeout: 20_000 })
        .toBe(String(seriesId));
      await expect.poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 20_000 }).toBe('3');
    }

    async function mode(m: string) {
      await expect.poll(() => page.getByTestId('review-actions').getAttribute('data-mode'), { timeout: 10_000 }).toBe(m);
    }

    const screen = (x: number, y: number) => imageToScreen(page, x, y);

    /** E, 1:1, brush, one stroke on the middle slice, Ctrl+Enter; returns the stroke's pixels. */
    async function editAndSubmit(from: readonly [number, number], to: readonly [number, number]): Promise<Set<number>> {
      await page.keyboard.press('e');
      await mode('edit');
      await page.keyboard.press('a'); // while editing, A is the viewer's 1:1 again
      await page.keyboard.press('b');
      const a = await screen(...from);
      const b = await screen(...to);
      await page.mouse.move(a.x, a.y);
      await page.mouse.down();
      await page.mouse.move(b.x, b.y, { steps: 10 });
      await page.mouse.up();
      await page.mouse.move(5, 5);
      await page.keyboard.press('Control+Enter');
      return capsule(...from, ...to, 5); // the brush is 10 px across
    }

    beforeAll(async () => {
      [app, browser] = await Promise.all([serveApp(dataDir), launchChromium()]);
      page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
      page.on('pageerror', (e) => problems.push(e.message));
      await page.goto(app.url);
      await call('settings', 'update', { userName: 'Dr Keys' });
      const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 6, imagesPerSeries: 3, domain: 'base' });
      for (let t = Date.now(); Date.now() - t < 150_000; await new Promise((r) => setTimeout(r, 500))) {
        const jobs = await call<{ kind: string; status: string }[]>('jobs', 'list', {});
        const imported =
          jobs.some((j) => j.kind === 'import' && j.status === 'done') &&
          (await call<{ status: string }>('jobs', 'get', { id: jobId })).status === 'done';
        const inference = jobs.filter((j) => j.kind === 'inference');
        if (imported && inference.length === 6 && inference.every((j) => j.status === 'done')) break;
      }
      order = (await call<ReviewItem[]>('review', 'queue', { queue: 'review' })).map((i) => i.seriesId);
    }, 200_000);

    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      tmp.cleanup();
    });

    it('accepts two, edits and submits two, with a reload in between that returns to the same case', async () => {
      expect(order).toHaveLength(6);
      await page.keyboard.press('Alt+2');
      await showing(order[0]!);
      expect(page.url()).toContain(`#/review/review/${order[0]}`);

      for (const k of [0, 1]) {
        const predicted = await predictionMaps(order[k]!);
        await page.keyboard.press('a');
        await showing(order[k + 1]!);
        const stored = storedLabels(order[k]!);
        for (const p of predicted) expect(stored.get(p.imageId)).toEqual(p.mask);
      }
      const accepted = await call<SeriesLabels>('review', 'labels', { seriesId: order[0] });
      expect(accepted.labels.map((l) => l.origin)).toEqual(['accepted', 'accepted', 'accepted']);

      for (const [k, stroke] of [
        [
          2,
          [
            [40, 60],
            [90, 60],
          ],
        ],
        [
          3,
          [
            [30, 200],
            [80, 180],
          ],
        ],
      ] as const) {
        const predicted = await predictionMaps(order[k]!);
        const painted = await editAndSubmit(stroke[0], stroke[1]);
        await showing(order[k + 1]!);
        const stored = storedLabels(order[k]!);
        const middle = predicted[1]!;
        const expected = middle.mask.slice();
        for (const i of painted) expected[i] = 1;
        expect(stored.get(middle.imageId)).toEqual(expected);
        for (const p of [predicted[0]!, predicted[2]!]) expect(stored.get(p.imageId)).toEqual(p.mask);
        const labels = (await call<SeriesLabels>('review', 'labels', { seriesId: order[k] })).labels;
        const changed = [...painted].filter((i) => middle.mask[i] === 0).length;
        expect(labels[1]).toMatchObject({ origin: 'edited', author: 'Dr Keys', pixelsChanged: changed });
        expect(labels[1]!.editDice).toBeCloseTo(dice(middle.mask, expected), 12);
        expect([labels[0]!.origin, labels[2]!.origin]).toEqual(['accepted', 'accepted']);
        if (k === 2) {
          // Mid-review: a reload comes back to the open case.
          await page.reload();
          await showing(order[3]!);
        }
      }
    }, 120_000);

    it('rejects one with a reason, skips one, then corrects the rejected one from the correction queue', async () => {
      await page.keyboard.press('r');
      await page.getByTestId('reject-reason').waitFor();
      await page.keyboard.type('lesion missed');
      await page.keyboard.press('Enter');
      await showing(order[5]!);
      await page.keyboard.press('s');
      // The skipped case is the only one left: it comes back.
      await expect
        .poll(async () => (await call<ReviewItem[]>('review', 'queue', { queue: 'review' }))[0]?.skippedAt ?? null)
        .not.toBeNull();
      await page.keyboard.press('Shift+2');
      await showing(order[4]!);
      expect(page.url()).toContain(`#/review/correction/${order[4]}`);
      const predicted = await predictionMaps(order[4]!);
      const painted = await editAndSubmit([150, 150], [200, 170]);
      await expect.poll(() => call<ReviewItem[]>('review', 'queue', { queue: 'correction' })).toEqual([]);
      const stored = storedLabels(order[4]!);
      const expected = predicted[1]!.mask.slice();
      for (const i of painted) expected[i] = 1;
      expect(stored.get(predicted[1]!.imageId)).toEqual(expected);
    }, 60_000);

    it('records every decision in the audit log and shows each state in the worklist', async () => {
      const audit = (await call<AuditEntry[]>('review', 'audit', { action: 'review' })).reverse();
      expect(audit.map((e) => [e.action, e.seriesId])).toEqual([
        ['review.accept', order[0]],
        ['review.accept', order[1]],
        ['review.submit', order[2]],
        ['review.submit', order[3]],
        ['review.reject', order[4]],
        ['review.skip', order[5]],
        ['review.submit', order[4]],
      ]);
      for (const e of audit) expect(e).toMatchObject({ actor: 'Dr Keys', modelVersionId: expect.any(Number) });
      expect(audit[4]!.detail).toMatchObject({ from: 'to-review', to: 'in-correction', reason: 'lesion missed' });
      expect(audit[2]!.detail).toMatchObject({ labels: { count: 3, origins: { edited: 1, accepted: 2 } } });
      const states = await call<Record<number, string>>('review', 'states', { seriesIds: order });
      expect(order.map((id) => states[id])).toEqual(['labelled', 'labelled', 'labelled', 'labelled', 'labelled', 'to-review']);
      // The worklist says the same on the series card.
      await page.keyboard.press('Shift+3');
      await expect.poll(() => page.getByTestId('audit').locator('tbody tr').count()).toBe(7);
      await page.keyboard.press('Alt+1');
      const { studyId } = await call<{ studyId: number }>('viewer', 'series', { seriesId: order[5] });
      const list = await call<{ rows: { studyId: number; patientId: string }[] }>('worklist', 'list', {});
      await page.locator('tr.study', { hasText: list.rows.find((r) => r.studyId === studyId)!.patientId }).click();
      await expect.poll(() => page.getByTestId('review-state').first().getAttribute('data-state')).toBe('to-review');
      // A labelled series can be left out of training from its card; its labels stay.
      const labelledStudy = (await call<{ studyId: number }>('viewer', 'series', { seriesId: order[0] })).studyId;
      await page.locator('tr.study', { hasText: list.rows.find((r) => r.studyId === labelledStudy)!.patientId }).click();
      await expect.poll(() => page.getByTestId('review-state').first().getAttribute('data-state')).toBe('labelled');
      await page.getByTestId('toggle-exclusion').click();
      await expect
        .poll(async () => (await call<SeriesLabels>('review', 'labels', { seriesId: order[0] })).labels.map((l) => l.excluded))
        .toEqual([true, true, true]);
      expect(await page.getByTestId('toggle-exclusion').textContent()).toBe('Include in training');
      expect(problems).toEqual([]);
    }, 60_000);

    it('loses no submitted label when the backend is killed right after a submit', async () => {
      await page.keyboard.press('Alt+2');
      await page.keyboard.press('Shift+1');
      await showing(order[5]!);
      const middle = (await predictionMaps(order[5]!))[1]!.imageId;
      const painted = await editAndSubmit([100, 100], [140, 100]);
      // The reply has come: the queue is empty. Kill the backend at once.
      await expect.poll(() => page.getByTestId('review').textContent()).toMatch(/No prediction is waiting/);
      app.child.kill('SIGKILL');
      await new Promise((r) => app.child.once('exit', r));
      const stored = storedLabels(order[5]!);
      expect(stored.size).toBe(3);
      expect([...painted].every((i) => stored.get(middle)![i] === 1)).toBe(true);
      app = await serveApp(dataDir);
      await page.goto(app.url);
      const states = await call<Record<number, string>>('review', 'states', { seriesIds: order });
      expect(order.map((id) => states[id])).toEqual(Array(6).fill('labelled'));
    }, 60_000);

    it('A on a series with a drawn draft stores what the viewer shows, not the bare prediction; a later draft is flagged', async () => {
      const seriesId = order[5]!;
      await call('review', 'reopen', { seriesId });
      // The restarted backend answers predictions once its engine has loaded the model.
      let predicted: { imageId: number; mask: Uint8Array }[] = [];
      await expect
        .poll(async () => (predicted = await predictionMaps(seriesId).catch(() => [])).length, { timeout: 30_000 })
        .toBe(3);
      const middle = predicted[1]!;
      /** Worklist → study → Open, as a reader does (the viewer opens on the middle slice). */
      async function openFromWorklist() {
        await page.keyboard.press('Alt+1');
        const { studyId } = await call<{ studyId: number }>('viewer', 'series', { seriesId });
        const list = await call<{ rows: { studyId: number; patientId: string }[] }>('worklist', 'list', {});
        const row = page.locator('tr.study', { hasText: list.rows.find((r) => r.studyId === studyId)!.patientId });
        if (!(await row.getAttribute('class'))?.includes('open')) await row.click();
        await page.getByTestId('open-series').first().click();
        await expect.poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 20_000 }).toBe('3');
        await page.mouse.move(5, 5);
      }
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
        return capsule(...from, ...to, 5);
      }

      // Drawn in the viewer without the prediction: the draft is saved; nothing is stored yet.
      await openFromWorklist();
      const painted = await stroke([60, 120], [120, 120]);
      expect(await page.getByTestId('draft-differs').count()).toBe(0);
      // The Review view's queue holds this one case: A.
      await page.keyboard.press('Alt+2');
      await page.keyboard.press('Shift+1');
      await showing(seriesId);
      await page.keyboard.press('a');
      await expect
        .poll(() => page.getByTestId('review').textContent())
        .toMatch(/Your draft is the label: 3 slice labels saved \(edit Dice/);
      const expected = new Uint8Array(middle.mask.length);
      for (const i of painted) expected[i] = 1;
      const stored = storedLabels(seriesId);
      expect(stored.get(middle.imageId)).toEqual(expected);
      expect(stored.get(middle.imageId)).not.toEqual(middle.mask);
      const labels = (await call<SeriesLabels>('review', 'labels', { seriesId })).labels;
      expect(labels[1]).toMatchObject({ origin: 'edited', author: 'Dr Keys' });
      expect(labels[1]!.editDice).toBeCloseTo(dice(middle.mask, expected), 12);
      const [audit] = await call<AuditEntry[]>('review', 'audit', { seriesId });
      expect(audit).toMatchObject({ action: 'review.submit', detail: { key: 'accept', fromDraft: true } });

      // A stroke on the labelled series later: the viewer says its draft is not the stored label.
      await openFromWorklist();
      expect(await page.getByTestId('draft-differs').count()).toBe(0);
      await stroke([150, 150], [190, 150]);
      await expect.poll(() => page.getByTestId('draft-differs').isVisible()).toBe(true);
      expect(await page.getByTestId('draft-differs').textContent()).toBe('Draft differs from the stored label');
    }, 60_000);
  },
);
