// Benchmark: what the headless transport costs the viewer and the import, against the built
// headless server in headless Chromium (issue #10). On a generated 512×512 int16 CT series
// (real DICOM, imported):
//  1. one frame, backend → pixels on a canvas: the renderer's own transport, frame decoding and
//     image layer (tests/bench/page/frame-path.ts, bundled with esbuild), one frame at a time;
//     median and p90 over the series' frames;
//  2. the whole series in the viewer: from opening it to every frame loaded (the viewer's own
//     prefetch, as tests/bench/viewer.ts reports it);
//  3. dropping a folder of files on the import panel — half of it 1 MiB files, half one large
//     file (a volume, a multi-frame object) — the server's peak resident memory (VmHWM, reset
//     just before the drop) against its resident memory before it.
// Run: npm run build && npx tsx tests/bench/transport.ts [--slices 120] [--drop-mb 50]
// (esbuild, which bundles the page script, comes with vite and tsx.)
import { build } from 'esbuild';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';
import type { ViewerSeries } from '../../src/shared/contract';
import { CHROMIUM, pageApi } from '../helpers/browser';
import { writeCtSeries } from '../helpers/ct-series';
import { ROOT, serveApp } from '../helpers/serve';

const args = process.argv.slice(2);
const num = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const SLICES = num('slices', 120);
const DROP_MB = num('drop-mb', 50);
const SIZE = 512;

function stats(values: number[]): string {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  return `median ${q(0.5).toFixed(2)} ms, p90 ${q(0.9).toFixed(2)} ms, max ${s.at(-1)!.toFixed(2)} ms (n=${s.length})`;
}

/** A status line of /proc/<pid>/status in MiB. */
function procMiB(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : NaN;
}

const work = path.join(ROOT, '.tmp', 'bench', `transport-ct-${SLICES}-${SIZE}`);
const dataDir = path.join(ROOT, '.tmp', 'bench', 'transport-data');
rmSync(dataDir, { recursive: true, force: true });
rmSync(work, { recursive: true, force: true });
mkdirSync(work, { recursive: true });
writeCtSeries(work, { count: SLICES, size: SIZE, seriesIndex: 5 });

const bundle = await build({
  entryPoints: [path.join(ROOT, 'tests/bench/page/frame-path.ts')],
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: 'chrome120',
  write: false,
});
const pageScript = bundle.outputFiles[0]!.text;

const app = await serveApp(dataDir);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript('window.__name = (f) => f');
  await page.goto(app.url);
  const call = pageApi(page);
  await call('settings', 'update', { autoSegmentOnImport: false });
  const { jobId } = await call<{ jobId: number }>('import', 'start', { paths: [work] });
  while ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status !== 'done')
    await new Promise((r) => setTimeout(r, 300));
  const [study] = (await call<{ rows: { studyId: number }[] }>('worklist', 'list', {})).rows;
  const [first] = await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study!.studyId });
  const series = await call<ViewerSeries>('viewer', 'series', { seriesId: first!.seriesId });
  const ids = series.images.map((i) => i.imageId);

  // 1. One frame at a time through the renderer's own code.
  await page.evaluate(pageScript); // CDP evaluation: the app's CSP forbids inline scripts
  type FramePath = (ids: number[]) => Promise<Record<'total' | 'call' | 'decode' | 'draw', number[]>>;
  await page.evaluate((warm) => (window as unknown as { framePath: FramePath }).framePath(warm), ids.slice(0, 4));
  const single = await page.evaluate((all) => (window as unknown as { framePath: FramePath }).framePath(all), ids);

  // 2. The whole series in the viewer.
  await page.reload();
  await page.locator('tr.study').first().click();
  await page.getByTestId('open-series').first().click();
  const loadStart = Date.now();
  await page.waitForFunction(
    (n) => document.querySelector('[data-testid=frames-loaded]')?.getAttribute('data-loaded') === String(n),
    SLICES,
    { timeout: 300_000, polling: 20 },
  );
  const loadSeconds = (Date.now() - loadStart) / 1000;

  // 3. Drop a DROP_MB folder on the import panel; follow the server's peak memory.
  await page.goto(app.url);
  await page.locator('section.import').waitFor();
  const pid = app.child.pid!;
  const rssBefore = procMiB(pid, 'VmRSS');
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const jobsBefore = (await call<{ id: number }[]>('jobs', 'list', { kind: 'import' })).map((j) => j.id);
  const dropStart = Date.now();
  await page.evaluate((mb) => {
    const files: File[] = [];
    const sizes = [mb - Math.floor(mb / 2), ...Array.from({ length: Math.floor(mb / 2) }, () => 1)];
    for (const [i, size] of sizes.entries()) {
      const bytes = new Uint8Array(size * 1024 * 1024);
      for (let j = 0; j < bytes.length; j += 4096) bytes[j] = (i * 31 + j) & 0xff;
      files.push(new File([bytes], `file-${String(i).padStart(3, '0')}.bin`));
    }
    const transfer = new DataTransfer();
    for (const f of files) transfer.items.add(f);
    document
      .querySelector('section.import')!
      .dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
  }, DROP_MB);
  let dropJob: { id: number; status: string } | undefined;
  let uploadPeak = NaN;
  for (;;) {
    dropJob = (await call<{ id: number; status: string }[]>('jobs', 'list', { kind: 'import' })).find(
      (j) => !jobsBefore.includes(j.id),
    );
    // The import job exists once the last chunk is staged: the peak so far is the upload's.
    if (dropJob && Number.isNaN(uploadPeak)) uploadPeak = procMiB(pid, 'VmHWM');
    if (dropJob && ['done', 'failed', 'cancelled'].includes(dropJob.status)) break;
    if (Date.now() - dropStart > 300_000) throw new Error('the dropped files were not imported in 5 minutes');
    await new Promise((r) => setTimeout(r, 200));
  }
  const dropSeconds = (Date.now() - dropStart) / 1000;
  const rssPeak = procMiB(pid, 'VmHWM');

  const load = os
    .loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  process.stdout.write(
    [
      `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores; load average ${load}; Chromium ${browser.version()} headless`,
      `one ${SIZE}×${SIZE} int16 CT frame, viewer.frame → decoded → windowed → on a canvas: ${stats(single.total)}`,
      `  of which the call (request → decoded message): ${stats(single.call)}`,
      `  of which the frame's decoding (to a typed array): ${stats(single.decode)}`,
      `  of which windowing and drawing: ${stats(single.draw)}`,
      `all ${SLICES} frames loaded in the viewer: ${loadSeconds.toFixed(2)} s`,
      `drop ${DROP_MB} MiB folder (one ${DROP_MB - Math.floor(DROP_MB / 2)} MiB file, ${Math.floor(DROP_MB / 2)} × 1 MiB) (upload + import, job ${dropJob.status}, ${dropSeconds.toFixed(1)} s): server RSS ${rssBefore.toFixed(0)} MiB before; peak ${uploadPeak.toFixed(0)} MiB (+${(uploadPeak - rssBefore).toFixed(0)} MiB) by the end of the upload, ${rssPeak.toFixed(0)} MiB (+${(rssPeak - rssBefore).toFixed(0)} MiB) with the import`,
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  await app.stop();
  rmSync(dataDir, { recursive: true, force: true });
  rmSync(work, { recursive: true, force: true });
}
