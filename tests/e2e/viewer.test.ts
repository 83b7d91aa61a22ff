// The viewer as a radiologist drives it: Debian's Chromium against the built headless server,
// real imported series (the demo's generated ultrasound DICOM, a generated CT series), the mouse
// and keyboard only. Label maps are checked pixel by pixel where they come back from the
// backend's saved draft, so every assertion also proves the draft was saved.
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DraftView, PredictionView, ViewerFrame, ViewerSeries } from '../../src/shared/contract';
import { interpolateLabels } from '../../src/shared/imaging/interpolate';
import { decodeRle } from '../../src/shared/imaging/rle';
import { imageToScreen, launchChromium, pageApi } from '../helpers/browser';
import { capsule } from '../helpers/capsule';
import { writeCtSeries } from '../helpers/ct-series';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const W = 256; // demo ultrasound slices are 256 × 256
// The shipped model segments the demo series on import; without it the AI actions cannot be shown.
const MODEL = existsSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx'));

function pixelsWith(map: Uint8Array, value: number): Set<number> {
  const out = new Set<number>();
  map.forEach((v, i) => v === value && out.add(i));
  return out;
}

function labelled(map: Uint8Array): number {
  return map.reduce((n, v) => n + (v ? 1 : 0), 0);
}

function rectPixels(x0: number, y0: number, x1: number, y1: number): Set<number> {
  const out = new Set<number>();
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) out.add(y * W + x);
  return out;
}

describe('viewer in Chromium', () => {
  const tmp = tempDir();
  const dataDir = path.join(tmp.dir, 'data');
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  let series: ViewerSeries;
  let other: ViewerSeries;
  const problems: string[] = [];

  // `page` is replaced by later tests: resolve it at each call.
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);

  async function waitForJob(jobId: number) {
    for (let started = Date.now(); Date.now() - started < 60_000; await new Promise((r) => setTimeout(r, 250))) {
      const { status } = await call<{ status: string }>('jobs', 'get', { id: jobId });
      if (status === 'done') return;
      if (status !== 'queued' && status !== 'running') throw new Error(`job ${jobId} ${status}`);
    }
    throw new Error(`job ${jobId} did not finish in 60 s`);
  }

  async function newPage(served: ServedApp): Promise<Page> {
    const p = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    p.on('console', (m) => m.type() === 'error' && problems.push(m.text()));
    p.on('pageerror', (e) => problems.push(e.message));
    await p.goto(served.url);
    return p;
  }

  /** Worklist → study → Open, as a reader does; waits until every slice is loaded. */
  async function openSeries(of: ViewerSeries = series) {
    await page.keyboard.press('Alt+1');
    const row = page.locator('tr.study', { hasText: of.patient.id });
    if (!(await row.getAttribute('class'))?.includes('open')) await row.click(); // the worklist remembers the open study
    await page.getByTestId('open-series').first().click();
    await page.getByTestId('viewer-canvas').waitFor();
    await expect.poll(() => page.getByTestId('overlay-patient').textContent()).toContain(of.patient.id);
    await expect
      .poll(() => page.getByTestId('frames-loaded').getAttribute('data-loaded'), { timeout: 30_000 })
      .toBe(String(of.images.length));
    await page.mouse.move(5, 5); // park the pointer outside the image
  }

  const screen = (x: number, y: number) => imageToScreen(page, x, y);

  async function click(x: number, y: number, options: { shift?: boolean } = {}) {
    const p = await screen(x, y);
    if (options.shift) await page.keyboard.down('Shift');
    await page.mouse.click(p.x, p.y);
    if (options.shift) await page.keyboard.up('Shift');
  }

  async function drag(from: [number, number], to: [number, number], button: 'left' | 'right' = 'left') {
    const a = await screen(...from);
    const b = await screen(...to);
    await page.mouse.move(a.x, a.y);
    await page.mouse.down({ button });
    await page.mouse.move(b.x, b.y, { steps: 10 });
    await page.mouse.up({ button });
  }

  /** The colour on screen at an image point, read back from the viewer's canvas. */
  async function shown(x: number, y: number): Promise<[number, number, number]> {
    const p = await screen(x, y);
    return page.evaluate(
      ([px, py]) => {
        const canvas = document.querySelector('[data-testid=viewer-canvas]') as HTMLCanvasElement;
        const r = canvas.getBoundingClientRect();
        const d = window.devicePixelRatio || 1;
        const [red, green, blue] = canvas.getContext('2d')!.getImageData((px - r.left) * d, (py - r.top) * d, 1, 1).data;
        return [red!, green!, blue!] as [number, number, number];
      },
      [p.x, p.y] as const,
    );
  }
  const reddish = ([r, g]: [number, number, number]) => r > g + 30;

  async function saved() {
    await expect.poll(() => page.getByTestId('draft-status').getAttribute('data-status'), { timeout: 10_000 }).toBe('saved');
  }

  /** The label map of slice `index` as the backend stored it in the draft. */
  async function stored(index: number, of: ViewerSeries = series): Promise<Uint8Array> {
    await saved();
    const draft = await call<DraftView | null>('viewer', 'draft', { seriesId: of.seriesId });
    const image = of.images[index]!;
    const slice = draft?.slices.find((s) => s.imageId === image.imageId);
    return slice ? decodeRle(slice.labels, image.rows * image.columns) : new Uint8Array(image.rows * image.columns);
  }

  async function sliceIndex(): Promise<number> {
    return Number(/Im (\d+)/.exec((await page.getByTestId('overlay-slice').textContent()) ?? '')![1]) - 1;
  }

  async function frame(index: number, of: ViewerSeries = series): Promise<Int32Array> {
    const f = await call<ViewerFrame>('viewer', 'frame', { imageId: of.images[index]!.imageId });
    const bytes = f.data.slice();
    const values =
      f.dtype === 'uint8' ? Uint8Array.from(bytes) : new Int16Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 2);
    return Int32Array.from(values, (v) => v * f.slope + f.intercept);
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(dataDir), launchChromium()]);
    page = await newPage(app);
    const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: 2, imagesPerSeries: 5, domain: 'base' });
    await waitForJob(jobId);
    const ct = path.join(tmp.dir, 'ct');
    writeCtSeries(ct, { count: 12, size: 64, seriesIndex: 3 });
    await waitForJob((await call<{ jobId: number }>('import', 'start', { paths: [ct] })).jobId);
    // The viewer starts at Settings -> Overlay opacity (default 0.45); the colour checks below
    // (reddish: red above green by 30) are made for labels drawn at 0.6.
    await call('settings', 'update', { overlayOpacity: 0.6 });
    await page.reload();
    const studies = await call<{ rows: { studyId: number; patientName: string }[] }>('worklist', 'list', {});
    const demo = studies.rows.filter((r) => !r.patientName.startsWith('TEST^CT'));
    [series, other] = (await Promise.all(
      demo.slice(0, 2).map(async (study) => {
        const [first] = await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study.studyId });
        return call<ViewerSeries>('viewer', 'series', { seriesId: first!.seriesId });
      }),
    )) as [ViewerSeries, ViewerSeries];
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('opens on the middle slice with the overlay text, and sets the window by right-drag and back by key', async () => {
    await openSeries();
    await page.keyboard.press('a'); // 1:1, on whole pixels
    expect(await sliceIndex()).toBe(2);
    expect(await page.getByTestId('overlay-patient').textContent()).toMatch(/DEMO, PHANTOM/);
    const win = page.getByTestId('overlay-window');
    const image = series.images[2]!;
    const c0 = Number(await win.getAttribute('data-center'));
    const w0 = Number(await win.getAttribute('data-width'));
    if (image.windowCenter !== null) expect([c0, w0]).toEqual([image.windowCenter, image.windowWidth]);
    const values = await frame(2);
    const step = Math.max(0.1, (Math.max(...values) - Math.min(...values)) / 1024);
    await drag([100, 100], [100 + 100, 100 + 40], 'right');
    expect(Number(await win.getAttribute('data-width'))).toBeCloseTo(w0 + 100 * step, 1);
    expect(Number(await win.getAttribute('data-center'))).toBeCloseTo(c0 + 40 * step, 1);
    await page.keyboard.press('0');
    expect([Number(await win.getAttribute('data-center')), Number(await win.getAttribute('data-width'))]).toEqual([c0, w0]);
    // No label was made by any of that.
    expect(await page.getByTestId('draft-status').getAttribute('data-status')).toBe('clean');
  });

  it('paints a dab and a stroke with the brush, each one undo step, and undoes and redoes them', async () => {
    await page.keyboard.press('b');
    await page.keyboard.press(']'); // 10 → 12 px: radius 6
    expect(await page.getByTestId('brush-size').textContent()).toBe('12 px');
    expect(reddish(await shown(100.5, 120.5))).toBe(false);
    await click(100, 120);
    expect(reddish(await shown(100.5, 120.5))).toBe(true); // on screen at once
    const dab = capsule(100, 120, 100, 120, 6);
    expect(pixelsWith(await stored(2), 1)).toEqual(dab);
    // Holding H hides every overlay; letting go shows them again.
    await page.keyboard.down('h');
    await expect.poll(async () => reddish(await shown(100.5, 120.5))).toBe(false);
    await page.keyboard.up('h');
    await expect.poll(async () => reddish(await shown(100.5, 120.5))).toBe(true);
    await drag([40, 60], [90, 60]);
    const stroke = new Set([...dab, ...capsule(40, 60, 90, 60, 6)]);
    expect(pixelsWith(await stored(2), 1)).toEqual(stroke);
    await page.keyboard.press('Control+z');
    expect(pixelsWith(await stored(2), 1)).toEqual(dab);
    expect(reddish(await shown(60.5, 60.5))).toBe(false);
    await page.keyboard.press('Control+Shift+Z');
    expect(pixelsWith(await stored(2), 1)).toEqual(stroke);
    await page.keyboard.press('e'); // eraser, same size
    await click(100, 120);
    expect(pixelsWith(await stored(2), 1)).toEqual(capsule(40, 60, 90, 60, 6));
    expect(Number(await page.getByTestId('label-count').getAttribute('data-count'))).toBe(capsule(40, 60, 90, 60, 6).size);
  });

  it('fills a polygon and a lasso triangle exactly, erases a polygon, and flood-fills the hole back', async () => {
    const before = await stored(2);
    await page.keyboard.press('p');
    for (const [x, y] of [
      [140, 30],
      [200, 30],
      [200, 70],
      [140, 70],
    ] as const)
      await click(x, y);
    await page.keyboard.press('Enter');
    const rect = rectPixels(140, 30, 200, 70);
    expect(pixelsWith(await stored(2), 1)).toEqual(new Set([...pixelsWith(before, 1), ...rect]));

    // A triangle closed by double-click: pixels whose centres lie inside, the hypotenuse excluded.
    await click(20, 150);
    await click(80, 150);
    const last = await screen(20, 210);
    await page.mouse.dblclick(last.x, last.y);
    const triangle = new Set<number>();
    for (let y = 150; y < 210; y++) for (let x = 20; x < 80; x++) if (x - 20 + (y - 150) < 59) triangle.add(y * W + x);
    expect(triangle.size).toBe(1770);
    const withTriangle = new Set([...pixelsWith(before, 1), ...rect, ...triangle]);
    expect(pixelsWith(await stored(2), 1)).toEqual(withTriangle);

    await page.keyboard.press('Shift+P');
    for (const [x, y] of [
      [150, 40],
      [170, 40],
      [170, 60],
      [150, 60],
    ] as const)
      await click(x, y);
    await page.keyboard.press('Enter');
    const hole = rectPixels(150, 40, 170, 60);
    expect(pixelsWith(await stored(2), 1)).toEqual(new Set([...withTriangle].filter((i) => !hole.has(i))));

    await page.keyboard.press('g');
    await click(160.5, 50.5);
    expect(pixelsWith(await stored(2), 1)).toEqual(withTriangle);

    // A second label of the task (added while the series is open: the legend follows), then
    // flood on the rectangle with it: that one connected structure changes label, nothing else.
    const task = await call<{ id: number; labels: { value: number }[] }>('tasks', 'addLabel', { id: 1, label: { name: 'Cyst' } });
    expect(task.labels.map((l) => l.value)).toEqual([1, 2]);
    await page.getByTestId('legend-2').waitFor();
    await page.keyboard.press('s');
    expect(await page.getByTestId('legend-2').getAttribute('aria-pressed')).toBe('true');
    await click(145.5, 35.5);
    const map = await stored(2);
    expect(pixelsWith(map, 2)).toEqual(rect);
    expect(pixelsWith(map, 1)).toEqual(new Set([...withTriangle].filter((i) => !rect.has(i))));
    await page.keyboard.press('1'); // the digit picks the legend's first label again
    expect(await page.getByTestId('legend-1').getAttribute('aria-pressed')).toBe('true');
  });

  it('limits the brush to an intensity range', async () => {
    const values = await frame(2);
    await page.keyboard.press('End'); // slice 5: still empty
    expect(await sliceIndex()).toBe(4);
    const last = await frame(4);
    const [low, high] = [Math.min(...last), Math.round((Math.min(...last) + Math.max(...last)) / 2)];
    await page.getByTestId('threshold-low').fill(String(low));
    await page.getByTestId('threshold-high').fill(String(high));
    await page.getByTestId('threshold-high').blur();
    await page.keyboard.press('b');
    await page.keyboard.press('t');
    for (let i = 0; i < 2; i++) await page.keyboard.press(']'); // 12 → 15 → 20 px
    await drag([60, 128], [196, 128]);
    await page.keyboard.press('t');
    const painted = pixelsWith(await stored(4), 1);
    const full = capsule(60, 128, 196, 128, 10);
    expect(painted.size).toBeGreaterThan(0);
    expect(painted.size).toBeLessThan(full.size);
    for (const i of painted) {
      expect(full.has(i)).toBe(true);
      expect(last[i]).toBeGreaterThanOrEqual(low);
      expect(last[i]).toBeLessThanOrEqual(high);
    }
    for (const i of full) if (!painted.has(i)) expect(last[i]! < low || last[i]! > high).toBe(true);
    expect(values.length).toBe(W * W);
  });

  it('copies a label from the previous slice and interpolates the empty slices, each one undo step', async () => {
    await page.keyboard.press('Home');
    await page.keyboard.press('b');
    await click(128, 128); // slice 1: a 20 px disk
    await page.keyboard.press('ArrowDown');
    expect(await sliceIndex()).toBe(1);
    await page.keyboard.press('c');
    expect(await stored(1)).toEqual(await stored(0));
    await page.keyboard.press('Control+z');
    expect(pixelsWith(await stored(1), 1).size).toBe(0);

    await page.keyboard.press('n');
    await expect.poll(() => page.getByTestId('viewer-notice').textContent()).toBe('Interpolated 2 slices');
    const [s0, s2, s4] = [await stored(0), await stored(2), await stored(4)];
    expect(await stored(1)).toEqual(interpolateLabels(s0, s2, W, W, 1)[0]);
    expect(await stored(3)).toEqual(interpolateLabels(s2, s4, W, W, 1)[0]);
    expect(labelled(await stored(1))).toBeGreaterThan(0);
    expect(labelled(await stored(3))).toBeGreaterThan(0);
    await page.keyboard.press('Control+z');
    expect([labelled(await stored(1)), labelled(await stored(3))]).toEqual([0, 0]);
    await page.keyboard.press('Control+Shift+Z');
    expect(labelled(await stored(3))).toBeGreaterThan(0);
  });

  it('restores the draft and its undo history after a page reload', async () => {
    const maps = await Promise.all(series.images.map((_, i) => stored(i)));
    await page.reload();
    await openSeries();
    for (let i = 0; i < maps.length; i++) expect(await stored(i)).toEqual(maps[i]);
    expect(await page.getByRole('button', { name: 'Undo' }).getAttribute('title')).toMatch(/Interpolate/);
    await page.keyboard.press('Control+z');
    expect(pixelsWith(await stored(1), 1).size).toBe(0);
    await page.keyboard.press('Control+Shift+Z');
    expect(await stored(1)).toEqual(maps[1]);
  });

  it('keeps an edit through a backend crash (SIGKILL), with its undo step', async () => {
    await page.keyboard.press('a');
    await page.keyboard.press('b');
    expect(await page.getByTestId('brush-size').textContent()).toBe('10 px'); // the reload reset it
    const clicked = Date.now();
    await click(200, 200); // on the middle slice
    // Saved within about a second (400 ms after the last edit; DraftSync's unit test pins the
    // schedule); the bound here is loose because the machine may be busy.
    await saved();
    expect(Date.now() - clicked).toBeLessThan(3000);
    app.child.kill('SIGKILL');
    await new Promise((r) => app.child.once('exit', r));
    app = await serveApp(dataDir);
    await page.close();
    // The old page lost its server: its event socket, and any request it made between the kill and
    // its close (a busy machine leaves time for one; Chromium logs "Failed to load resource:
    // net::ERR_CONNECTION_REFUSED" without the URL), are refused — expected here, not a problem.
    problems.splice(0, problems.length, ...problems.filter((p) => !/ERR_CONNECTION_REFUSED/.test(p)));
    page = await newPage(app);
    await openSeries();
    const map = await stored(2);
    for (const i of capsule(200, 200, 200, 200, 5)) expect(map[i]).toBe(1);
    expect(await page.getByRole('button', { name: 'Undo' }).getAttribute('title')).toMatch(/Brush/);
    await page.keyboard.press('Control+z');
    expect((await stored(2))[200 * W + 200]).toBe(0);
    await page.keyboard.press('Control+Shift+Z');
  });

  it('shows CT presets, Hounsfield values under the pointer, and scrolls by wheel, keys and slider', async () => {
    await page.keyboard.press('Alt+1');
    await page.locator('tr.study', { hasText: 'TEST, CT 3' }).click();
    await page.getByTestId('open-series').first().click();
    await expect.poll(() => page.getByTestId('slice-position').textContent()).toBe('7 / 12');
    const win = page.getByTestId('overlay-window');
    await expect.poll(() => win.getAttribute('data-width')).toBe('400'); // the file's window
    for (const [key, width, center] of [
      ['2', 1500, -600],
      ['3', 2500, 480],
      ['4', 80, 40],
      ['5', 150, 90],
      ['1', 400, 40],
    ] as const) {
      await page.keyboard.press(key);
      expect([Number(await win.getAttribute('data-width')), Number(await win.getAttribute('data-center'))]).toEqual([
        width,
        center,
      ]);
    }
    expect(await page.locator('.marker.left').textContent()).toBe('R');
    expect(await page.locator('.marker.top').textContent()).toBe('A');
    const canvas = (await page.getByTestId('viewer-canvas').boundingBox())!;
    await page.mouse.move(canvas.x + canvas.width / 2, canvas.y + canvas.height / 2);
    for (let i = 0; i < 3; i++) await page.mouse.wheel(0, 100);
    await expect.poll(() => page.getByTestId('slice-position').textContent()).toBe('10 / 12');
    await page.keyboard.press('PageUp');
    expect(await page.getByTestId('slice-position').textContent()).toBe('1 / 12');
    await page.keyboard.press('PageDown');
    expect(await page.getByTestId('slice-position').textContent()).toBe('11 / 12');
    await page.getByTestId('slice-slider').fill('4');
    expect(await page.getByTestId('slice-position').textContent()).toBe('5 / 12');
    const zoom = await page.getByTestId('overlay-zoom').textContent();
    await page.keyboard.down('Control');
    await page.mouse.wheel(0, -200);
    await page.keyboard.up('Control');
    await expect.poll(() => page.getByTestId('overlay-zoom').textContent()).not.toBe(zoom);
    // The pixel under the pointer: stored value + intercept −1024, in HU.
    const ctSeries = await call<{ rows: { studyId: number; patientName: string }[] }>('worklist', 'list', {});
    const study = ctSeries.rows.find((r) => r.patientName === 'TEST^CT^3')!;
    const [ctFirst] = await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study.studyId });
    const ct = await call<ViewerSeries>('viewer', 'series', { seriesId: ctFirst!.seriesId });
    const f = await call<ViewerFrame>('viewer', 'frame', { imageId: ct.images[4]!.imageId });
    const px = new Int16Array(f.data.slice().buffer);
    const p = await screen(20.5, 10.5);
    await page.mouse.move(p.x, p.y);
    expect(await page.getByTestId('overlay-cursor').textContent()).toContain(`X 20 Y 10 · ${px[10 * 64 + 20]! - 1024} HU`);
    // Pan with the middle button, by exactly the drag.
    const transform = async () =>
      (await page.getByTestId('viewer-canvas').getAttribute('data-transform'))!.split(' ').map(Number);
    const [, panX, panY] = await transform();
    await page.mouse.down({ button: 'middle' });
    await page.mouse.move(p.x + 40, p.y - 25, { steps: 4 });
    await page.mouse.up({ button: 'middle' });
    const [, panX2, panY2] = await transform();
    expect(panX2! - panX!).toBeCloseTo(40, 3);
    expect(panY2! - panY!).toBeCloseTo(-25, 3);
    // Cine plays forward and stops on K.
    await page.keyboard.press('k');
    await expect.poll(() => page.getByTestId('slice-position').textContent(), { timeout: 3000 }).not.toBe('5 / 12');
    await page.keyboard.press('k');
    const stopped = await page.getByTestId('slice-position').textContent();
    await page.waitForTimeout(300);
    expect(await page.getByTestId('slice-position').textContent()).toBe(stopped);
    await page.keyboard.press('?');
    await expect.poll(() => page.getByTestId('viewer-help').textContent()).toMatch(/Ctrl\+Z.*Undo/s);
    await page.keyboard.press('Escape');
    expect(await page.getByTestId('viewer-help').count()).toBe(0);
    expect(await page.locator('[data-tool=brush]').getAttribute('title')).toBe('Brush (B)');
  });

  it.skipIf(!MODEL)(
    skipTitle(
      'loads the prediction into one slice or all as one undo step, and shows the uncertainty',
      MODEL ? '' : 'the starter model.onnx is missing',
    ),
    async () => {
      const statuses = async () =>
        (await call<{ status: string }[]>('worklist', 'series', { studyId: other.studyId })).map((x) => x.status);
      await expect.poll(statuses, { timeout: 60_000 }).toEqual(['segmented']);
      // After the restart above, the engine loads the model in the background.
      await expect
        .poll(async () => (await call<{ state: string }>('inference', 'status')).state, { timeout: 30_000 })
        .toBe('ready');
      await openSeries(other);
      await page.keyboard.press('Home');
      const predicted = await Promise.all(
        other.images.map(async (image) => {
          const p = (await call<PredictionView | null>('inference', 'prediction', { imageId: image.imageId }))!;
          return decodeRle(p.mask, image.rows * image.columns);
        }),
      );
      // Loading is asynchronous: its notice comes once the label changed (and the draft is pending).
      const notice = page.getByTestId('viewer-notice');
      await page.keyboard.press('l');
      await expect.poll(() => notice.textContent()).toBe('Loaded the prediction into 1 slice');
      expect(await stored(0, other)).toEqual(predicted[0]);
      await page.keyboard.press('Control+z');
      expect(labelled(await stored(0, other))).toBe(0);
      await page.keyboard.press('Shift+L');
      await expect
        .poll(() => notice.textContent())
        .toBe(`Loaded the prediction into ${predicted.filter((m) => labelled(m) > 0).length} slices`);
      for (let i = 0; i < other.images.length; i++) expect(await stored(i, other)).toEqual(predicted[i]);
      expect(await page.getByRole('button', { name: 'Undo' }).getAttribute('title')).toMatch(/Load prediction \(all slices\)/);
      await page.keyboard.press('Control+z');
      for (let i = 0; i < other.images.length; i++) expect(labelled(await stored(i, other))).toBe(0);
      const picture = () =>
        page.evaluate(() => {
          const c = document.querySelector('[data-testid=viewer-canvas]') as HTMLCanvasElement;
          return Array.from(c.getContext('2d')!.getImageData(0, 0, c.width, c.height).data).reduce(
            (h, v, i) => (h + v * ((i % 97) + 1)) % 1_000_000_007,
            0,
          );
        });
      const before = await picture();
      await page.keyboard.press('u');
      await expect.poll(picture).not.toBe(before);
      await page.keyboard.press('u');
    },
  );

  it('saves a screenshot of a lesion segmented with a threshold-limited flood fill', async () => {
    await openSeries(other);
    await page.keyboard.press('f');
    const index = await sliceIndex();
    const values = await frame(index, other);
    // Seed: the darkest 15 × 15 neighbourhood away from the edges (the lesion of the phantom).
    let seed = { x: 128, y: 128, mean: Infinity };
    for (let y = 60; y < W - 40; y += 4)
      for (let x = 40; x < W - 40; x += 4) {
        let sum = 0;
        for (let dy = -7; dy <= 7; dy++) for (let dx = -7; dx <= 7; dx++) sum += values[(y + dy) * W + x + dx]!;
        if (sum / 225 < seed.mean) seed = { x, y, mean: sum / 225 };
      }
    await page.getByTestId('threshold-low').fill(String(Math.min(...values)));
    await page.getByTestId('threshold-high').fill(String(Math.round(seed.mean * 1.8 + 10)));
    await page.getByTestId('threshold-high').blur();
    await page.keyboard.press('g');
    await page.keyboard.press('t');
    await click(seed.x + 0.5, seed.y + 0.5);
    await page.keyboard.press('t');
    const lesion = pixelsWith(await stored(index, other), 1);
    expect(lesion.size).toBeGreaterThan(200);
    const p = await screen(seed.x + 40, seed.y - 30);
    await page.mouse.move(p.x, p.y);
    await expect.poll(() => page.getByTestId('viewer-notice').count(), { timeout: 5000 }).toBe(0);
    const shots = path.join(ROOT, '.tmp', 'screenshots');
    mkdirSync(shots, { recursive: true });
    await page.screenshot({ path: path.join(shots, 'viewer.png') });
    if (MODEL) {
      await page.keyboard.press('u'); // the model's uncertainty as a heat map
      await page.waitForTimeout(200);
      await page.screenshot({ path: path.join(shots, 'viewer-uncertainty.png') });
      await page.keyboard.press('u');
    }
    expect(problems, problems.join('\n')).toEqual([]);
  });
});
