// Tasks as a reader meets them (issue 22), in Debian's Chromium against the built headless
// server, through the UI only: create a task with three labels in the Tasks view (a code picked
// from the SNOMED CT list, a name the list knows, a free-text name with a local code), open a
// thyroid phantom series in the viewer, pick two labels with the digit keys and paint each,
// submit the drawing from the bar above the viewer; with 8 labelled images of 2 series, train the
// first model from the Training view (4 steps, the Steps field), read each label's Dice in the
// Models view, promote after the question, export a DICOM SEG from the worklist's Export dialog
// and read its segments' names and codes with pydicom; retire a label. axe-core finds no serious
// violation on the Tasks view, the viewer with its legend, the Training view with the first-model
// button and the Models view with the per-label gate. The API only sets up what the acceptance
// does not name: the phantoms' import and the ground truth of the slices not painted here (saved
// as the reader's drafts, submitted in the UI).
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generatePhantom, writeDemoStudies, type DemoDicomFile } from '../../src/main/demo';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import type { DraftView, Task, TrainingRun, ViewerSeries, WorklistPage, SeriesSummary } from '../../src/shared/contract';
import { FIRST_MODEL_MAX_STEPS } from '../../src/shared/contract/training';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { splitFor } from '../../src/shared/review/split';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

// Where to save the README's pictures of the Tasks view and the legend (unset: none are taken).
const SHOTS = process.env.LGMS_SCREENSHOTS;
const trainer = await probeTrainer(pythonCandidates(''));
/** Two thyroid phantom patients of 4 images: this seed puts the first in training, the second in validation. */
const SEED = 2201;
const IMAGES = 4;
/** The ground truth's structures (1 lobe, 2 trachea, 3 carotid artery, 4 jugular vein) as the task's labels. */
const TRUTH_TO_LABEL = [0, 1, 2, 3, 0];
/** Each segment of a SEG as pydicom reads it: label, type code and its scheme. */
const PYDICOM_SEGMENTS = `
import json, sys, pydicom
ds = pydicom.dcmread(sys.argv[1])
print(json.dumps([[int(s.SegmentNumber), str(s.SegmentLabel), str(s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator),
  str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue)] for s in ds.SegmentSequence]))`;

describe('tasks in Chromium, through the UI', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  let files: DemoDicomFile[] = [];
  /** The two phantom series (training patient first), each image with its ground truth as the task's label map. */
  const series: { seriesId: number; patientId: string; images: { imageId: number; truth: Uint8Array }[] }[] = [];
  const problems: string[] = [];
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);
  const audit = () => axeViolations(page);
  const neck = async () => (await call<Task[]>('tasks', 'list')).find((t) => t.name === 'Neck structures')!;

  async function shot(name: string) {
    if (!SHOTS) return;
    mkdirSync(SHOTS, { recursive: true });
    await page.screenshot({ path: path.join(SHOTS, `${name}.png`) });
  }

  /** Shows a patient's study in the worklist with its series cards (a click on an open study closes it). */
  async function showStudy(patientId: string) {
    await page.keyboard.press('Alt+1');
    const row = page.locator('tr.study', { hasText: patientId });
    if ((await row.getByTestId('study-open').getAttribute('aria-expanded')) !== 'true') await row.click();
    await expect.poll(() => row.getByTestId('study-open').getAttribute('aria-expanded')).toBe('true');
  }

  /** Opens a patient's series from the worklist, as a reader does, and waits for every slice. */
  async function openFromWorklist(patientId: string) {
    await showStudy(patientId);
    await page.getByTestId('open-series').first().click();
    await expect
      .poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 30_000 })
      .toBe(String(IMAGES));
  }

  /** Clicks the bar's Submit and waits for what it stored. */
  async function submitDrawing(slices: number) {
    await page.getByTestId('submit-drawing').click();
    await expect
      .poll(() => page.getByTestId('drawing-message').textContent(), { timeout: 20_000 })
      .toBe(`Submitted: ${slices} slice labels saved as labels of “Neck structures”`);
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    page.on('pageerror', (e) => problems.push(e.message));
    await page.goto(app.url);
    // The starter segments every US series it imports: without test-time flips it takes less of the 2 cores.
    await call('settings', 'update', { ttaFlips: 0, userName: 'Dr Neck' });
    const dir = path.join(tmp.dir, 'thyroid');
    files = await writeDemoStudies(dir, { patients: 2, imagesPerSeries: IMAGES, seed: SEED, size: 128, anatomy: 'thyroid' });
    const { jobId } = await call<{ jobId: number }>('import', 'start', { paths: [dir] });
    let job = { status: 'queued', error: null as string | null };
    for (
      let t = Date.now();
      Date.now() - t < 60_000 && /queued|running/.test(job.status);
      await new Promise((r) => setTimeout(r, 250))
    )
      job = await call<typeof job>('jobs', 'get', { id: jobId });
    if (job.status !== 'done') throw new Error(`the phantoms' import is ${job.status}: ${job.error ?? ''}`);
    const rows = (await call<WorklistPage>('worklist', 'list', { pageSize: 100 })).rows;
    for (const patientId of [...new Set(files.map((f) => f.patientId))]) {
      const row = rows.find((r) => r.patientId === patientId)!;
      const [s] = await call<SeriesSummary[]>('worklist', 'series', { studyId: row.studyId });
      const view = await call<ViewerSeries>('viewer', 'series', { seriesId: s!.seriesId });
      const images = view.images.map((im) => {
        const f = files.find((x) => x.patientId === patientId && x.instanceNumber === im.instanceNumber)!;
        const truth = generatePhantom({
          seed: SEED,
          index: f.index,
          domain: 'base',
          anatomy: 'thyroid',
          width: 128,
          height: 128,
        }).labelMap!.map((v) => TRUTH_TO_LABEL[v]!);
        return { imageId: im.imageId, truth };
      });
      series.push({ seriesId: s!.seriesId, patientId, images });
    }
    // The frozen split this test relies on: one training and one validation patient.
    const splits = series.map((s) => splitFor(`patient:id:${s.patientId}`)).join(' ');
    if (splits !== 'training validation') throw new Error(`seed ${SEED} splits the patients ${splits}`);
    await page.reload();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('creates a three-label task in the Tasks view: a catalogue code, a name the catalogue knows, a local code', async () => {
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
    await page.getByTestId('new-label-3').fill('Carotid artery'); // free text: the list says "Common carotid artery"
    expect(await audit()).toEqual([]);
    await page.getByTestId('create-task').click();

    await expect.poll(async () => (await call<Task[]>('tasks', 'list')).length).toBe(2);
    const task = await neck();
    expect(task.domain.modalities).toEqual(['US']);
    expect(task.labels.map((l) => [l.value, l.name, l.type.scheme, l.type.value])).toEqual([
      [1, 'Thyroid', 'SCT', '69748006'],
      [2, 'Trachea', 'SCT', '44567001'], // a name the catalogue knows gets its code
      [3, 'Carotid artery', '99LGMS', 'L3'], // a name the catalogue does not know: a local code
    ]);
    // The new task is the one the viewer paints, and the editor says so.
    await expect.poll(() => page.getByText('The viewer paints this task').count()).toBe(1);
    expect(await audit()).toEqual([]);
    await shot('tasks');
  });

  it('paints two labels picked with the digit keys on one slice and submits the drawing from the bar above the viewer', async () => {
    const task = await neck();
    const [a] = series;
    // The reader's drawing of the other three slices (the phantom's ground truth), saved as the draft the viewer opens.
    await call('viewer', 'saveDraft', {
      seriesId: a!.seriesId,
      taskId: task.id,
      baseRevision: 0,
      slices: a!.images.slice(1).map((im) => ({ imageId: im.imageId, labels: encodeRle(im.truth) })),
      history: null,
    });
    await openFromWorklist(a!.patientId);
    await expect.poll(() => page.getByTestId('viewer-task').inputValue()).toBe(String(task.id));
    expect(await page.getByTestId('legend').textContent()).toMatch(/Thyroid.*Trachea.*Carotid artery/s);
    await page.keyboard.press('Home');
    await expect.poll(() => page.getByTestId('overlay-slice').textContent()).toBe(`Im 1 / ${IMAGES}`);
    expect(await page.getByTestId('drawing-actions').textContent()).toMatch(/draft of “Neck structures”.*\(3 slices drawn\)/s);
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
    // The slice's label counts name the task's labels; the draft is the task's own.
    expect(await page.getByTestId('label-count').textContent()).toMatch(/Thyroid: \d+ px.*Trachea: \d+ px/s);
    const draft = (await call<DraftView | null>('viewer', 'draft', { seriesId: a!.seriesId, taskId: task.id }))!;
    const painted = a!.images[0]!;
    expect(new Set(decodeRle(draft.slices.find((s) => s.imageId === painted.imageId)!.labels, 128 * 128))).toEqual(
      new Set([0, 1, 2]),
    );
    expect(await call<DraftView | null>('viewer', 'draft', { seriesId: a!.seriesId })).toBeNull();
    expect(await audit()).toEqual([]);
    await shot('legend');

    await submitDrawing(IMAGES);
    const stored = await call<{ labels: { imageId: number; origin: string; author: string }[] }>('review', 'labels', {
      seriesId: a!.seriesId,
      taskId: task.id,
    });
    expect(stored.labels.map((l) => [l.imageId, l.origin, l.author])).toEqual(
      a!.images.map((im) => [im.imageId, 'drawn', 'Dr Neck']),
    );
    // The stored draft is gone, and the viewer, open on the same slice, has none either.
    expect(await call<DraftView | null>('viewer', 'draft', { seriesId: a!.seriesId, taskId: task.id })).toBeNull();
    await expect.poll(() => page.getByTestId('overlay-slice').textContent()).toBe(`Im 1 / ${IMAGES}`);
    expect(await page.getByTestId('submit-drawing').isDisabled()).toBe(true);

    // The second series: its four slices drawn (saved as the draft before it is opened), submitted with Ctrl+Enter.
    const b = series[1]!;
    await call('viewer', 'saveDraft', {
      seriesId: b.seriesId,
      taskId: task.id,
      baseRevision: 0,
      slices: b.images.map((im) => ({ imageId: im.imageId, labels: encodeRle(im.truth) })),
      history: null,
    });
    await openFromWorklist(b.patientId);
    await page.getByTestId('viewer-canvas').click({ position: { x: 5, y: 5 } });
    await page.keyboard.press('Control+Enter');
    await expect
      .poll(() => page.getByTestId('drawing-message').textContent(), { timeout: 20_000 })
      .toBe(`Submitted: ${IMAGES} slice labels saved as labels of “Neck structures”`);
    expect(problems).toEqual([]);
  }, 60_000);

  it.skipIf(!trainer.available)(
    skipTitle(
      'trains the first model from the Training view; Models shows each label’s Dice; promote asks; the Export dialog writes a SEG naming the labels',
      trainer.available ? '' : `no Python with torch: ${trainer.reason}`,
    ),
    async () => {
      const task = await neck();
      await page.keyboard.press('Alt+3');
      await expect.poll(() => page.getByTestId('training-task').inputValue()).toBe(String(task.id));
      await expect
        .poll(() => page.getByTestId('first-model').textContent(), { timeout: 20_000 })
        .toMatch(
          /no model yet.*8 labelled images from 2 series \(4 training,\s*4 validation\)\.\s*Enough to train the first model/s,
        );
      const button = page.getByRole('button', { name: /^Train the first model/ });
      await expect.poll(() => button.isEnabled(), { timeout: 30_000 }).toBe(true);
      expect(await audit()).toEqual([]);
      // A first model offers its own steps (bounded by ten minutes), not a fine-tune's 60.
      expect(await page.locator('input[name=maxSteps]').inputValue()).toBe(String(FIRST_MODEL_MAX_STEPS));
      // 4 steps: the run is short (the Steps field is the reader's own).
      await page.locator('input[name=maxSteps]').fill('4');
      await button.click();
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
      expect(run!.hyperparameters.maxSteps).toBe(4);

      await page.keyboard.press('Alt+4');
      await expect.poll(() => page.getByTestId('models-task').inputValue()).toBe(String(task.id));
      const gate = page.getByTestId('first-model-gate');
      await expect.poll(() => gate.count(), { timeout: 20_000 }).toBe(1);
      const rows = await gate
        .getByTestId('label-dice')
        .evaluateAll((trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td'), (td) => td.textContent!.trim())));
      expect(rows.map((r) => r[0])).toEqual(['Thyroid', 'Trachea', 'Carotid artery']);
      for (const r of rows) expect(r[1]).toMatch(/^\d+\.\d%$/);
      expect(await audit()).toEqual([]);
      await gate.scrollIntoViewIfNeeded();
      await shot('first-model');
      const candidate = page.locator(`[data-testid=model-row][data-version-id="${run!.candidateVersionId}"]`);
      // The comparison shown is the candidate's: its Promote is there.
      await page
        .getByRole('button', { name: /^Promote/ })
        .first()
        .click();
      await page
        .getByRole('button', { name: /^Promote$|^Promote anyway$/ })
        .last()
        .click();
      await expect.poll(() => candidate.getAttribute('data-status'), { timeout: 30_000 }).toBe('active');

      // The SEG of the painted series, from the worklist's Export dialog: the task's labels, named and coded.
      await showStudy(series[0]!.patientId);
      await page.getByTestId('export-series').first().click();
      const dialog = page.getByTestId('export-dialog');
      expect(await dialog.getByLabel('Task whose labels are exported').inputValue()).toBe(String(task.id));
      expect(await dialog.getByLabel('Export format').inputValue()).toBe('seg');
      const out = path.join(tmp.dir, 'seg-out');
      await dialog.getByLabel('Export folder').fill(out);
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
        .toMatch(/1 file\(s\) from reviewed labels/);
      await page.keyboard.press('Escape');
      const seg = readdirSync(out, { recursive: true, encoding: 'utf8' }).find((f) => f.endsWith('.dcm'))!;
      const segments = JSON.parse(
        execFileSync('/usr/bin/python3', ['-c', PYDICOM_SEGMENTS, path.join(out, seg)], { encoding: 'utf8' }),
      );
      expect(segments).toEqual([
        [1, 'Thyroid', 'SCT', '69748006'],
        [2, 'Trachea', 'SCT', '44567001'],
        [3, 'Carotid artery', '99LGMS', 'L3'],
      ]);
      expect(problems).toEqual([]);
    },
    600_000,
  );

  it('retires a label after asking: the value stays reserved and the legend drops it', async () => {
    const task = await neck();
    await page.keyboard.press('Alt+6');
    await page.getByTestId(`task-${task.id}`).click();
    await page.getByTestId('retire-3').click();
    await page.getByRole('button', { name: 'Retire', exact: true }).click();
    await expect.poll(async () => (await call<Task>('tasks', 'get', { id: task.id })).labels[2]!.retiredAt).not.toBeNull();
    await page.getByTestId('add-label-name').fill('Strap muscle');
    await page.getByTestId('add-label').click();
    await expect
      .poll(async () => (await call<Task>('tasks', 'get', { id: task.id })).labels.map((l) => [l.value, l.type.scheme]))
      .toEqual([
        [1, 'SCT'],
        [2, 'SCT'],
        [3, '99LGMS'],
        [4, '99LGMS'],
      ]);
    expect(await audit()).toEqual([]);
    await openFromWorklist(series[0]!.patientId);
    await expect.poll(() => page.getByTestId('legend').textContent()).toMatch(/Strap muscle/);
    expect(await page.getByTestId('legend').textContent()).not.toMatch(/Carotid artery/);
    expect(problems).toEqual([]);
  });
});
