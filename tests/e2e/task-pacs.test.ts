// A task's labels through the PACS in the Tasks view (issue 26), in Debian's Chromium against the
// built headless server: the reader ticks "send every submitted label", a submitted label's send
// fails while the PACS cannot be reached and the view says so in words, and a pull says why it
// could not run. A pull against a real Orthanc runs as a job: its progress in words and a button
// that stops it, and its report shown from the job's result. axe-core finds no serious violation.
// (The sends themselves reaching a real Orthanc are tests/integration/pacs-labels.test.ts.)
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomwebClient } from '../../src/main/dicomweb/client';
import type { DraftView, Job, PacsEndpoint, PacsPush, Task, ViewerSeries } from '../../src/shared/contract';
import { encodeRle } from '../../src/shared/imaging/rle';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { orthancUnavailable, startOrthanc, type Orthanc } from '../helpers/orthanc';
import { serveApp, type ServedApp } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

/** A URL on this machine where nothing listens. */
async function closedUrl(): Promise<string> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return `http://127.0.0.1:${port}/dicom-web`;
}

/**
 * A PACS slow to send instances: forwards everything to `target` (Orthanc's root), except that a
 * WADO-RS retrieve of one instance is held, unanswered, while `hold` is set (until the client gives up).
 */
async function slowPacs(target: string): Promise<{ url: string; hold: boolean; close(): Promise<void> }> {
  const proxy = { url: '', hold: false, close: async () => undefined as void };
  const server = http.createServer((req, res) => {
    if (proxy.hold && /\/instances\/[0-9.]+$/.test(new URL(req.url!, target).pathname)) {
      req.on('close', () => res.destroy());
      return;
    }
    const upstream = http.request(new URL(req.url!, target), { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode!, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  proxy.url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/dicom-web`;
  proxy.close = () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
  return proxy;
}

const noOrthanc = orthancUnavailable() ?? '';

describe('a task sending its labels to the PACS, in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);
  let endpoint: PacsEndpoint;

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(app.url);
    const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 1, imagesPerSeries: 2, domain: 'base' });
    for (let t = Date.now(); Date.now() - t < 60_000; await new Promise((r) => setTimeout(r, 250))) {
      if ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status === 'done') break;
    }
    endpoint = await call<PacsEndpoint>('dicomweb', 'saveEndpoint', {
      name: 'Department PACS',
      url: await closedUrl(),
      authKind: 'none',
    });
    await page.reload();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('ticks the send, shows a failed send with its reason, and says why a pull could not run', async () => {
    await page.keyboard.press('Alt+6');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tasks');
    await expect.poll(() => page.getByRole('heading', { name: 'Labels through the PACS' }).count()).toBe(1);
    expect(await page.getByTestId('task-pacs-endpoint').inputValue()).toBe(String(endpoint.id));
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Send every submitted label to the PACS as a DICOM SEG').check();
    await expect
      .poll(async () => (await call<Task>('tasks', 'get', { id: 1 })).pacsPushEndpointId, { timeout: 10_000 })
      .toBe(endpoint.id);

    // The reader draws on the demo series and submits: the send is queued, and fails for now.
    const seriesId = 1;
    const series = await call<ViewerSeries>('viewer', 'series', { seriesId });
    const draft = await call<DraftView | null>('viewer', 'draft', { seriesId, taskId: 1 });
    await call('viewer', 'saveDraft', {
      seriesId,
      taskId: 1,
      baseRevision: draft?.revision ?? 0,
      slices: series.images.map((im) => {
        const map = new Uint8Array(im.rows * im.columns);
        map.fill(1, 0, im.columns * 4);
        return { imageId: im.imageId, labels: encodeRle(map) };
      }),
      history: null,
    });
    await call('review', 'submit', { seriesId, taskId: 1 });
    await expect
      .poll(async () => (await call<PacsPush[]>('dicomweb', 'pushes', { taskId: 1 }))[0]?.state, { timeout: 20_000 })
      .toBe('failed');

    await page.reload();
    await page.keyboard.press('Alt+6');
    await expect
      .poll(() => page.getByTestId('task-pacs-status').textContent())
      .toMatch(/0 sent, 1 waiting, 1 failed and retried/);
    expect(await page.locator('.failed li').textContent()).toMatch(/cannot reach the PACS at 127\.0\.0\.1:\d+ .*\(tried 1×\)/);
    expect(await page.getByTestId('task-pacs-push').isChecked()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    // "Send now" tries at once instead of waiting for the next retry.
    await page.getByRole('button', { name: 'Send now' }).click();
    await expect.poll(() => page.locator('.failed li').textContent()).toMatch(/\(tried 2×\)/);

    await page.getByTestId('task-pacs-pull').click();
    await expect.poll(() => page.getByRole('alert').textContent()).toMatch(/cannot reach the PACS/);
    expect(await axeViolations(page)).toEqual([]);
    expect(problems).toEqual([]);
  }, 90_000);

  it.skipIf(noOrthanc)(
    skipTitle('pulls as a job: its progress in words, a Stop button, and its report from the job', noOrthanc),
    async () => {
      const orthanc: Orthanc = await startOrthanc(path.join(tmp.dir, 'orthanc'));
      const pacs = await slowPacs(orthanc.root);
      try {
        // The PACS holds a SEG of the submitted labels (written by this workstation's export).
        const { jobId } = await call<{ jobId: number }>('export', 'start', {
          seriesIds: [1],
          format: 'seg',
          outDir: path.join(tmp.dir, 'seg'),
        });
        await expect.poll(async () => (await call<Job>('jobs', 'get', { id: jobId })).status, { timeout: 30_000 }).toBe('done');
        const exported = (await call<Job>('jobs', 'get', { id: jobId })).result as { series: { files: string[] }[] };
        const seg = new Uint8Array(readFileSync(exported.series[0]!.files[0]!));
        await new DicomwebClient({ url: orthanc.dicomweb, auth: { kind: 'none' } }).store([seg]);
        await call('dicomweb', 'saveEndpoint', { name: 'Team PACS', url: pacs.url, authKind: 'none' });

        await page.reload();
        await page.keyboard.press('Alt+6');
        await page.getByLabel('Send every submitted label to the PACS as a DICOM SEG').uncheck();
        await page.getByTestId('task-pacs-endpoint').selectOption({ label: 'Team PACS' });
        // The PACS is slow to send the SEG: the pull says where it is and can be stopped.
        pacs.hold = true;
        await page.getByTestId('task-pacs-pull').click();
        await expect
          .poll(() => page.locator('.pacs [role="status"].hint').textContent(), { timeout: 10_000 })
          .toBe('Looking at SEG 1 of 1 on the PACS');
        expect(await page.getByTestId('task-pacs-pull-progress').count()).toBe(1);
        expect(await page.getByTestId('task-pacs-pull').isDisabled()).toBe(true);
        expect(await axeViolations(page)).toEqual([]);
        await page.getByTestId('task-pacs-pull-stop').click();
        await expect
          .poll(() => page.getByTestId('task-pacs-report').textContent(), { timeout: 10_000 })
          .toMatch(/The pull was stopped: what it had taken stays\.[\s\S]*1 SEG not looked at before the pull stopped/);
        expect(await page.getByTestId('task-pacs-pull-progress').count()).toBe(0);
        const [stopped] = await call<Job[]>('jobs', 'list', { kind: 'pull', limit: 1 });
        expect(stopped).toMatchObject({ status: 'cancelled', params: { taskId: 1 } });

        // Pulled again at the PACS's usual pace: the report comes from the finished job.
        pacs.hold = false;
        await page.getByTestId('task-pacs-pull').click();
        await expect
          .poll(() => page.getByTestId('task-pacs-report').textContent(), { timeout: 20_000 })
          .toMatch(/1 SEG on the PACS: 0 taken as labels of this task, 0 already here\./);
        const report = (await page.getByTestId('task-pacs-report').textContent()) ?? '';
        expect(report).toMatch(/Not taken: series .* already has \d+ labels of task .* made on this workstation: they are kept/);
        expect(report).not.toMatch(/stopped/);
        expect(await axeViolations(page)).toEqual([]);
        expect(problems).toEqual([]);
      } finally {
        await pacs.close();
        await orthanc.stop();
      }
    },
    90_000,
  );
});
