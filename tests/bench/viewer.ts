// Benchmark: the viewer in headless Chromium against the built headless server. A generated
// 512×512 CT series (real DICOM, imported) with a working label on every slice; then
//  1. scrolling: one slice per frame through the series, wheel events on the canvas. "Work" is
//     measured inside the page with performance.now(): the wheel handler, plus everything
//     between a rAF callback registered before the viewer's and one registered after it (the
//     render), ending with a 1-pixel canvas read-back that forces the drawing to be rasterised.
//     With --unthrottled, Chromium runs without vsync or frame-rate limit and the interval
//     between consecutive frames is also reported (it includes style, layout and paint).
//  2. brush dab: real mouse input (CDP); from the pointerdown event's timeStamp to the moment
//     the canvas pixel under the dab shows the label colour, and to the next animation frame.
//  3. with --webgl: the choice of canvas 2D over WebGL, measured: the same slice-change work
//     (window lookup → upload → scaled draw of slice and label → 1-pixel read-back) through a
//     canvas 2D context and through WebGL 2 (here SwiftShader: --disable-gpu), in one page.
// Run: npm run build && npx tsx tests/bench/viewer.ts [--slices 120] [--dabs 40] [--unthrottled] [--webgl]
import { mkdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { ViewerSeries } from '../../src/shared/contract';
import { fillPolygon, paintCapsule } from '../../src/shared/imaging/label-ops';
import { encodeRle } from '../../src/shared/imaging/rle';
import { CHROMIUM, pageApi } from '../helpers/browser';
import { writeCtSeries } from '../helpers/ct-series';
import { ROOT, serveApp } from '../helpers/serve';

const args = process.argv.slice(2);
const num = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const SLICES = num('slices', 120);
const DABS = num('dabs', 40);
const UNTHROTTLED = args.includes('--unthrottled');
const WEBGL = args.includes('--webgl');
const SIZE = 512;

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms (n=${s.length})`;
}

const work = path.join(ROOT, '.tmp', 'bench', `viewer-ct-${SLICES}-${SIZE}`);
const dataDir = path.join(ROOT, '.tmp', 'bench', 'viewer-data');
rmSync(dataDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeCtSeries(work, { count: SLICES, size: SIZE, seriesIndex: 5 });

const app = await serveApp(dataDir);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--no-sandbox',
    '--disable-gpu',
    '--no-first-run',
    '--disable-sync',
    ...(UNTHROTTLED ? ['--disable-gpu-vsync', '--disable-frame-rate-limit'] : []),
  ],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  // tsx keeps function names with a helper that page.evaluate's serialised functions lack.
  await page.addInitScript('window.__name = (f) => f');
  await page.goto(app.url);
  const call = pageApi(page);
  // No segmentation running alongside the measurement: it would compete for the two cores.
  await call('settings', 'update', { autoSegmentOnImport: false });
  const { jobId } = await call<{ jobId: number }>('import', 'start', { paths: [work] });
  while ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status !== 'done')
    await new Promise((r) => setTimeout(r, 300));
  const [study] = (await call<{ rows: { studyId: number }[] }>('worklist', 'list', {})).rows;
  const [first] = await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study!.studyId });
  const series = await call<ViewerSeries>('viewer', 'series', { seriesId: first!.seriesId });

  // An overlay on every slice: a disk and a polygon that change along the series.
  const slices = series.images.map((image, i) => {
    const map = new Uint8Array(SIZE * SIZE);
    const grid = { data: map, width: SIZE, height: SIZE };
    paintCapsule(grid, 256, 256, 256 + (i % 40), 256, 80 + (i % 30), 1);
    fillPolygon(grid, [100, 100, 200, 90, 220, 200, 90, 210], 2);
    return { imageId: image.imageId, labels: encodeRle(map) };
  });
  await call('viewer', 'saveDraft', { seriesId: series.seriesId, baseRevision: 0, slices, history: null });

  await page.reload();
  await page.locator('tr.study').first().click();
  await page.getByTestId('open-series').first().click();
  const loadStart = Date.now();
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid=frames-loaded]')?.getAttribute('data-loaded') === String(n),
    SLICES,
    { timeout: 300_000 },
  );
  const loadSeconds = (Date.now() - loadStart) / 1000;
  await page.keyboard.press('Home');
  await page.waitForTimeout(300);

  const scroll = await scrollBench(page, SLICES * 2);
  const dab = await dabBench(page, DABS);

  const compare = WEBGL ? await webglBench(page) : null;

  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  const canvasSize = await page.getByTestId('viewer-canvas').boundingBox();
  process.stdout.write(
    [
      `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores; load average ${load}; Chromium ${browser.version()} headless, software rendering (--disable-gpu)${UNTHROTTLED ? ', unthrottled frames (no vsync, no frame-rate limit)' : ''}`,
      `series: ${SLICES} CT slices ${SIZE}×${SIZE} int16, label overlay (2 segments, fill + outline) on every slice; viewport ${canvasSize?.width}×${canvasSize?.height} CSS px; all frames loaded in ${loadSeconds.toFixed(1)} s`,
      `scroll, work per slice change (wheel handler + render + raster read-back): ${stats(scroll.work)}`,
      `scroll, render only (between rAF brackets): ${stats(scroll.render)}`,
      ...(UNTHROTTLED ? [`scroll, interval between consecutive frames: ${stats(scroll.intervals)}`] : []),
      `brush dab → label pixels in the canvas: ${stats(dab.canvas)}`,
      `brush dab → next animation frame: ${stats(dab.frame)}`,
      ...(compare
        ? [
            `slice change, canvas 2D pipeline: ${stats(compare.canvas2d)}`,
            `slice change, WebGL 2 pipeline (${compare.renderer}): ${stats(compare.webgl)}`,
          ]
        : []),
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}

async function scrollBench(page: Page, steps: number): Promise<{ work: number[]; render: number[]; intervals: number[] }> {
  return page.evaluate(async (n) => {
    const canvas = document.querySelector('[data-testid=viewer-canvas]') as HTMLCanvasElement;
    const ctx = canvas.getContext('2d')!;
    const rect = canvas.getBoundingClientRect();
    const frame = () => new Promise<number>((r) => requestAnimationFrame(r));
    const work: number[] = [];
    const render: number[] = [];
    const intervals: number[] = [];
    let direction = 1;
    let last = await frame();
    for (let i = 0; i < n; i++) {
      if (i === n / 2) direction = -1;
      let before = 0;
      const opened = new Promise<void>((r) => requestAnimationFrame(() => ((before = performance.now()), r())));
      const t0 = performance.now();
      canvas.dispatchEvent(
        new WheelEvent('wheel', {
          deltaY: 100 * direction,
          bubbles: true,
          cancelable: true,
          clientX: rect.x + 300,
          clientY: rect.y + 300,
        }),
      );
      await Promise.resolve(); // Svelte's effects run: the viewer schedules its frame
      const handled = performance.now() - t0;
      const closed = new Promise<number>((r) =>
        requestAnimationFrame((ts) => {
          ctx.getImageData(rect.width / 2, rect.height / 2, 1, 1);
          const after = performance.now();
          render.push(after - before);
          work.push(handled + after - before);
          intervals.push(ts - last);
          last = ts;
          r(ts);
        }),
      );
      await opened;
      await closed;
    }
    // The first frames include warm-up (lookup tables, caches).
    return { work: work.slice(4), render: render.slice(4), intervals: intervals.slice(4) };
  }, steps);
}

async function dabBench(page: Page, dabs: number): Promise<{ canvas: number[]; frame: number[] }> {
  await page.keyboard.press('f');
  await page.keyboard.press('b');
  await page.keyboard.press('o'); // hide the fill so the dab's colour stands out…
  await page.keyboard.press('o'); // …then show it again: both paths exercised
  await page.evaluate(() => {
    const w = window as unknown as { __dab: { input: number; canvas: number; frame: number }[] };
    w.__dab = [];
    const canvas = document.querySelector('[data-testid=viewer-canvas]') as HTMLCanvasElement;
    const ctx = canvas.getContext('2d')!;
    window.addEventListener('pointerdown', (e) => {
      const rect = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      const [r, g] = ctx.getImageData((e.clientX - rect.left) * dpr, (e.clientY - rect.top) * dpr, 1, 1).data;
      // Grey CT under a red label: red now exceeds green where the dab landed.
      const record = { input: e.timeStamp, canvas: r! > g! + 20 ? performance.now() : NaN, frame: NaN };
      w.__dab.push(record);
      requestAnimationFrame(() => (record.frame = performance.now()));
    });
  });
  const box = (await page.getByTestId('viewer-canvas').boundingBox())!;
  for (let i = 0; i < dabs; i++) {
    // Outside the prepared overlay, a fresh spot each time.
    const x = box.x + box.width / 2 - 300 + (i % 10) * 18;
    const y = box.y + box.height / 2 + 200 + Math.floor(i / 10) * 18;
    await page.mouse.move(x, y);
    await page.mouse.down();
    await page.mouse.up();
    await page.waitForTimeout(60);
  }
  const records = await page.evaluate(
    () => (window as unknown as { __dab: { input: number; canvas: number; frame: number }[] }).__dab,
  );
  const missed = records.filter((r) => Number.isNaN(r.canvas)).length;
  if (missed)
    process.stdout.write(
      `warning: ${missed} of ${records.length} dabs were not visible in the canvas when their event finished\n`,
    );
  return {
    canvas: records.filter((r) => !Number.isNaN(r.canvas)).map((r) => r.canvas - r.input),
    frame: records.map((r) => r.frame - r.input),
  };
}

/** Both drawing back-ends on the same synthetic 512×512 int16 slices and label maps. */
async function webglBench(page: Page): Promise<{ canvas2d: number[]; webgl: number[]; renderer: string }> {
  return page.evaluate(() => {
    const N = 512;
    const W = 968;
    const H = 796;
    const slices = Array.from({ length: 8 }, (_, k) => {
      const px = new Int16Array(N * N);
      const labels = new Uint8Array(N * N);
      for (let i = 0; i < px.length; i++) {
        const x = i % N;
        const y = (i / N) | 0;
        px[i] = ((x * 3 + y * 5 + k * 11) % 200) + (Math.hypot(x - 256, y - 256) < 200 ? 1040 : 0);
        if (Math.hypot(x - 256 - k, y - 256) < 90) labels[i] = 1;
      }
      return { px, labels };
    });
    const lut = new Uint8Array(4096);
    for (let v = 0; v < 4096; v++) lut[v] = Math.max(0, Math.min(255, ((v - 1024 - 40 + 200) / 400) * 255));
    const rgbaLut = new Uint32Array(4096).map((_, v) => (0xff000000 | (lut[v]! * 0x010101)) >>> 0);
    const zoom = H / N;

    // Canvas 2D: what the viewer does.
    const c2 = document.createElement('canvas');
    c2.width = W;
    c2.height = H;
    const ctx = c2.getContext('2d', { alpha: false })!;
    const img = new OffscreenCanvas(N, N);
    const imgCtx = img.getContext('2d')!;
    const imgData = imgCtx.createImageData(N, N);
    const words = new Uint32Array(imgData.data.buffer);
    const lab = new OffscreenCanvas(N, N);
    const labCtx = lab.getContext('2d')!;
    const labData = labCtx.createImageData(N, N);
    const labWords = new Uint32Array(labData.data.buffer);
    const canvas2d: number[] = [];
    for (let f = 0; f < 80; f++) {
      const s = slices[f % slices.length]!;
      const t = performance.now();
      for (let i = 0; i < words.length; i++) words[i] = rgbaLut[s.px[i]!]!;
      imgCtx.putImageData(imgData, 0, 0);
      for (let i = 0; i < labWords.length; i++) labWords[i] = s.labels[i] ? 0xff5a5aff : 0;
      labCtx.putImageData(labData, 0, 0);
      ctx.setTransform(zoom, 0, 0, zoom, (W - N * zoom) / 2, 0);
      ctx.imageSmoothingEnabled = true;
      ctx.drawImage(img, 0, 0);
      ctx.imageSmoothingEnabled = false;
      ctx.globalAlpha = 0.6;
      ctx.drawImage(lab, 0, 0);
      ctx.globalAlpha = 1;
      ctx.getImageData(W / 2, H / 2, 1, 1);
      canvas2d.push(performance.now() - t);
    }

    // WebGL 2: window lookup in JS (as above), slice and labels as R8 textures, one quad.
    const cg = document.createElement('canvas');
    cg.width = W;
    cg.height = H;
    const gl = cg.getContext('webgl2', { antialias: false, preserveDrawingBuffer: false })!;
    const dbg = gl.getExtension('WEBGL_debug_renderer_info');
    const renderer = String(dbg ? gl.getParameter(dbg.UNMASKED_RENDERER_WEBGL) : gl.getParameter(gl.RENDERER));
    const shader = (type: number, src: string) => {
      const sh = gl.createShader(type)!;
      gl.shaderSource(sh, src);
      gl.compileShader(sh);
      return sh;
    };
    const prog = gl.createProgram()!;
    gl.attachShader(
      prog,
      shader(
        gl.VERTEX_SHADER,
        '#version 300 es\nin vec2 p; out vec2 uv; void main(){ uv = vec2(p.x*0.5+0.5, 0.5-p.y*0.5); gl_Position = vec4(p,0,1); }',
      ),
    );
    gl.attachShader(
      prog,
      shader(
        gl.FRAGMENT_SHADER,
        '#version 300 es\nprecision mediump float; in vec2 uv; uniform sampler2D img; uniform sampler2D lab; out vec4 o; void main(){ float g = texture(img, uv).r; float l = texture(lab, uv).r; o = vec4(mix(vec3(g), vec3(1.0,0.35,0.35), l*0.6), 1.0); }',
      ),
    );
    gl.linkProgram(prog);
    gl.useProgram(prog);
    const buf = gl.createBuffer();
    gl.bindBuffer(gl.ARRAY_BUFFER, buf);
    gl.bufferData(gl.ARRAY_BUFFER, new Float32Array([-1, -1, 1, -1, -1, 1, 1, 1]), gl.STATIC_DRAW);
    const loc = gl.getAttribLocation(prog, 'p');
    gl.enableVertexAttribArray(loc);
    gl.vertexAttribPointer(loc, 2, gl.FLOAT, false, 0, 0);
    const texture = (unit: number, filter: number) => {
      const tex = gl.createTexture();
      gl.activeTexture(gl.TEXTURE0 + unit);
      gl.bindTexture(gl.TEXTURE_2D, tex);
      gl.texStorage2D(gl.TEXTURE_2D, 1, gl.R8, N, N);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MIN_FILTER, filter);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_MAG_FILTER, filter);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_S, gl.CLAMP_TO_EDGE);
      gl.texParameteri(gl.TEXTURE_2D, gl.TEXTURE_WRAP_T, gl.CLAMP_TO_EDGE);
    };
    texture(0, gl.LINEAR);
    texture(1, gl.NEAREST);
    gl.uniform1i(gl.getUniformLocation(prog, 'img'), 0);
    gl.uniform1i(gl.getUniformLocation(prog, 'lab'), 1);
    gl.pixelStorei(gl.UNPACK_ALIGNMENT, 1);
    const gray = new Uint8Array(N * N);
    const labels255 = new Uint8Array(N * N);
    const pixel = new Uint8Array(4);
    const webgl: number[] = [];
    gl.viewport((W - N * zoom) / 2, 0, N * zoom, H);
    for (let f = 0; f < 80; f++) {
      const s = slices[f % slices.length]!;
      const t = performance.now();
      for (let i = 0; i < gray.length; i++) gray[i] = lut[s.px[i]!]!;
      for (let i = 0; i < labels255.length; i++) labels255[i] = s.labels[i] ? 255 : 0;
      gl.activeTexture(gl.TEXTURE0);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, N, N, gl.RED, gl.UNSIGNED_BYTE, gray);
      gl.activeTexture(gl.TEXTURE1);
      gl.texSubImage2D(gl.TEXTURE_2D, 0, 0, 0, N, N, gl.RED, gl.UNSIGNED_BYTE, labels255);
      gl.clearColor(0, 0, 0, 1);
      gl.clear(gl.COLOR_BUFFER_BIT);
      gl.drawArrays(gl.TRIANGLE_STRIP, 0, 4);
      gl.readPixels(W / 2, H / 2, 1, 1, gl.RGBA, gl.UNSIGNED_BYTE, pixel);
      webgl.push(performance.now() - t);
    }
    return { canvas2d: canvas2d.slice(5), webgl: webgl.slice(5), renderer };
  });
}
