// Tasks as a reader meets them (issue 22), in Debian's Chromium against the built headless
// server: create a task with three labels in the Tasks view, paint two of them in the viewer with
// the digit keys, retire one; axe-core finds no serious violation on the new views.
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type {
  DraftView,
  FirstModelStatus,
  SeriesSummary,
  Task,
  TrainingRun,
  ViewerSeries,
  WorklistPage,
} from '../../src/shared/contract';
import { FIRST_MODEL_MAX_STEPS } from '../../src/shared/contract/training';
import { encodeRle } from '../../src/shared/imaging/rle';
import { decodeRle } from '../../src/shared/imaging/rle';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

// Where to save the README's pictures of the Tasks view and the legend (unset: none are taken).
const SHOTS = process.env.LGMS_SCREENSHOTS;

describe('tasks in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const problems: string[] = [];
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);

  const audit = () => axeViolations(page);

  async function shot(name: string) {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(app.url);
    const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 6, imagesPerSeries: 3, domain: 'base' });
    for (let t = Date.now(); Date.now() - t < 60_000; await new Promise((r) => setTimeout(r, 250))) {
      if ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status === 'done') break;
    }
    await page.reload();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('creates a three-label task in the Tasks view, with a catalogue code, a named label and a local code', async () => {
    await page.keyboard.press('Alt+6');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tasks');
    await expect.poll(() => page.getByTestId('task-1').textContent()).toContain('Breast lesion (demo)');
    expect(await audit()).toEqual([]);

    await page.getByTestId('new-task').click();
    await page.getByTestId('task-name').fill('Neck structures');
    await page.getByTestId('task-modalities').fill('US');
    await page.getByTestId('task-modalities').blur();
    await page.getByLabel('Code of label 1').selectOption('SCT:69748006'); // Thyroid: the name follows the code
    await expect.poll(() => page.getByTestId('new-label-1').inputValue()).toBe('Thyroid');
    await page.getByTestId('add-label-row').click();
    await page.getByTestId('new-label-2').fill('Trachea');
    await page.getByTestId('add-label-row').click();
    await page.getByTestId('new-label-3').fill('Strap muscle');
    expect(await audit()).toEqual([]);
    await page.getByTestId('create-task').click();

    await expect.poll(async () => (await call<Task[]>('tasks', 'list')).length).toBe(2);
    const task = (await call<Task[]>('tasks', 'list')).find((t) => t.name === 'Neck structures')!;
    expect(task.domain.modalities).toEqual(['US']);
    expect(task.labels.map((l) => [l.value, l.name, l.type.scheme, l.type.value])).toEqual([
      [1, 'Thyroid', 'SCT', '69748006'],
      [2, 'Trachea', 'SCT', '44567001'], // a name the catalogue knows gets its code
      [3, 'Strap muscle', '99LGMS', 'L3'],
    ]);
    // The new task is the one the viewer paints, and the editor says so.
    await expect.poll(() => page.getByText('The viewer paints this task').count()).toBe(1);
    expect(await audit()).toEqual([]);
    await shot('tasks');
  });

  it('paints two of the labels with the digit keys in the viewer; the legend names them', async () => {
    const task = (await call<Task[]>('tasks', 'list')).find((t) => t.name === 'Neck structures')!;
    await page.keyboard.press('Alt+1');
    await page.locator('tr.study').first().click();
    await page.getByTestId('open-series').first().click();
    await expect.poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 30_000 }).toBe('3');
    await expect.poll(() => page.getByTestId('viewer-task').inputValue()).toBe(String(task.id));
    expect(await page.getByTestId('legend').textContent()).toMatch(/Thyroid.*Trachea.*Strap muscle/s);
    expect(await audit()).toEqual([]);

    const canvas = (await page.getByTestId('viewer-canvas').boundingBox())!;
    const stroke = async (dy: number) => {
      const [x, y] = [canvas.x + canvas.width / 2 - 40, canvas.y + canvas.height / 2 + dy];
      await page.mouse.move(x, y);
      await page.mouse.down();
      await page.mouse.move(x + 80, y, { steps: 8 });
      await page.mouse.up();
    };
    await page.keyboard.press('b');
    await page.keyboard.press('2');
    expect(await page.getByTestId('legend-2').getAttribute('aria-pressed')).toBe('true');
    await stroke(-40);
    await page.keyboard.press('1');
    expect(await page.getByTestId('legend-1').getAttribute('aria-pressed')).toBe('true');
    await stroke(40);
    await expect.poll(() => page.getByTestId('draft-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('saved');

    const series = await call<ViewerSeries>('viewer', 'series', { seriesId: Number(new URL(page.url()).hash.split('/')[3]) });
    const draft = (await call<DraftView | null>('viewer', 'draft', { seriesId: series.seriesId, taskId: task.id }))!;
    const image = series.images.find((i) => draft.slices.some((s) => s.imageId === i.imageId))!;
    const map = decodeRle(draft.slices.find((s) => s.imageId === image.imageId)!.labels, image.rows * image.columns);
    expect(new Set(map)).toEqual(new Set([0, 1, 2]));
    // The draft is the task's own: the starter task's draft of the series stays empty.
    expect(await call<DraftView | null>('viewer', 'draft', { seriesId: series.seriesId })).toBeNull();
    // The slice's label counts name the task's labels.
    expect(await page.getByTestId('label-count').textContent()).toMatch(/Thyroid: \d+ px.*Trachea: \d+ px/s);
    await shot('legend');
  });

  it('retires a label after asking: the value stays reserved and the legend drops it', async () => {
    const task = (await call<Task[]>('tasks', 'list')).find((t) => t.name === 'Neck structures')!;
    await page.keyboard.press('Alt+6');
    await page.getByTestId(`task-${task.id}`).click();
    await page.getByTestId('retire-3').click();
    await page.getByRole('button', { name: 'Retire', exact: true }).click();
    await expect.poll(async () => (await call<Task>('tasks', 'get', { id: task.id })).labels[2]!.retiredAt).not.toBeNull();
    await page.getByTestId('add-label-name').fill('Carotid');
    await page.getByTestId('add-label').click();
    await expect
      .poll(async () => (await call<Task>('tasks', 'get', { id: task.id })).labels.map((l) => l.value))
      .toEqual([1, 2, 3, 4]);
    expect(await audit()).toEqual([]);
    await page.keyboard.press('Alt+2');
    await expect.poll(() => page.getByTestId('legend').textContent()).toMatch(/Carotid/);
    expect(await page.getByTestId('legend').textContent()).not.toMatch(/Strap muscle/);
    expect(problems).toEqual([]);
  });
  it('trains the first model of the task from the Training view; Models shows each label’s Dice; promote asks; the SEG names the labels', async () => {
    const task = (await call<Task[]>('tasks', 'list')).find((t) => t.name === 'Neck structures')!;
    // The reader's drawings of every demo series (two labels each), submitted as the review bar does.
    const rows = (await call<WorklistPage>('worklist', 'list', { pageSize: 100 })).rows;
    for (const row of rows) {
      for (const s of await call<SeriesSummary[]>('worklist', 'series', { studyId: row.studyId })) {
        const view = await call<ViewerSeries>('viewer', 'series', { seriesId: s.seriesId });
        const draft = await call<DraftView | null>('viewer', 'draft', { seriesId: s.seriesId, taskId: task.id });
        const slices = view.images.map((im) => {
          const map = new Uint8Array(im.rows * im.columns);
          for (let y = 60; y < 120; y++) map.fill(1, y * im.columns + 60, y * im.columns + 140);
          for (let y = 150; y < 180; y++) map.fill(2, y * im.columns + 90, y * im.columns + 120);
          return { imageId: im.imageId, labels: encodeRle(map) };
        });
        await call('viewer', 'saveDraft', {
          seriesId: s.seriesId,
          taskId: task.id,
          baseRevision: draft?.revision ?? 0,
          slices,
          history: null,
        });
        await call('review', 'submit', { seriesId: s.seriesId, taskId: task.id });
      }
    }
    const status = await call<FirstModelStatus>('training', 'firstModel', { taskId: task.id });
    expect(status).toMatchObject({ hasModel: false, ready: true });
    expect(status.validation).toBeGreaterThan(0);

    await page.keyboard.press('Alt+3');
    await expect.poll(() => page.getByTestId('training-task').inputValue()).toBe(String(task.id));
    await expect.poll(() => page.getByTestId('first-model').textContent()).toMatch(/no model yet/);
    expect(await audit()).toEqual([]);
    // A first model offers its own steps (bounded by ten minutes), not a fine-tune's 60.
    expect(await page.locator('input[name=maxSteps]').inputValue()).toBe(String(FIRST_MODEL_MAX_STEPS));
    await page.locator('input[name=maxSteps]').fill('6');
    await page.getByTestId('fine-tune').click();
    let run: TrainingRun | undefined;
    await expect
      .poll(
        async () => {
          run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.taskId === task.id);
          return run?.status;
        },
        { timeout: 300_000, interval: 1000 },
      )
      .toMatch(/done|failed/);
    expect(run!.error).toBeNull();
    expect(run!).toMatchObject({ parentVersionId: null, init: 'starter' });
    expect(run!.firstModelGate!.perLabel.map((l) => l.name)).toEqual(expect.arrayContaining(['Thyroid', 'Trachea']));

    await page.keyboard.press('Alt+4');
    await expect.poll(() => page.getByTestId('models-task').inputValue()).toBe(String(task.id));
    await expect.poll(() => page.getByTestId('first-model-gate').count(), { timeout: 20_000 }).toBe(1);
    expect(await page.getByTestId('first-model-gate').textContent()).toMatch(/Thyroid.*Trachea/s);
    expect(await audit()).toEqual([]);
    await page.getByTestId('first-model-gate').scrollIntoViewIfNeeded();
    await shot('first-model');
    await page
      .getByRole('button', { name: /^Promote/ })
      .first()
      .click();
    await page
      .getByRole('button', { name: /^Promote$|^Promote anyway$/ })
      .last()
      .click();
    await expect
      .poll(async () => (await call<Task>('tasks', 'get', { id: task.id })).activeVersionId, { timeout: 30_000 })
      .toBe(run!.candidateVersionId);

    // A SEG of one series names its segments after the task's labels.
    const seriesId = (await call<SeriesSummary[]>('worklist', 'series', { studyId: rows[0]!.studyId }))[0]!.seriesId;
    const out = path.join(tmp.dir, 'seg-out');
    const { jobId } = await call<{ jobId: number }>('export', 'start', {
      seriesIds: [seriesId],
      format: 'seg',
      outDir: out,
      taskId: task.id,
    });
    let files: string[] = [];
    await expect
      .poll(
        async () => {
          const job = await call<{ status: string; result: { outDir: string; series: { files: string[] }[] } | null }>(
            'jobs',
            'get',
            { id: jobId },
          );
          if (job.status === 'done') files = job.result!.series[0]!.files;
          return job.status;
        },
        { timeout: 60_000 },
      )
      .toBe('done');
    const seg = files.find((f) => f.endsWith('.dcm'))!;
    const text = readFileSync(path.isAbsolute(seg) ? seg : path.join(out, seg)).toString('latin1');
    for (const name of ['Thyroid', 'Trachea', 'Carotid']) expect(text).toContain(name);
    expect(problems).toEqual([]);
  }, 600_000);
});
