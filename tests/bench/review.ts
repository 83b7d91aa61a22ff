// Benchmark: from the accept key (A) to the next case's image and prediction drawn, in headless
// Chromium against the built headless server, on demo ultrasound series segmented by the
// starter model. The baseline, measured in the same run on the same cases, is the next key (N):
// the same change of case without a decision, so the ratio is what deciding costs on top.
// "Drawn" is the review action bar's data-drawn attribute: set two animation frames after the
// next case's middle slice and its prediction are both in the viewer (it draws in the first).
// The interval starts at the keydown event's timeStamp inside the page.
// Run: npm run build && npx tsx tests/bench/review.ts [--cases 16]
import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Page } from 'playwright-core';
import type { ReviewItem } from '../../src/shared/contract';
import { CHROMIUM, pageApi } from '../helpers/browser';
import { ROOT, serveApp } from '../helpers/serve';

const args = process.argv.slice(2);
const CASES = args.includes('--cases') ? Number(args[args.indexOf('--cases') + 1]) : 16;

function stats(values: number[]): { median: number; text: string } {
  const s = [...values].sort((a, b) => a - b);
  const q = (p: number) => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  const median = s.length % 2 ? s[s.length >> 1]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  return {
    median,
    text: `median ${median.toFixed(1)} ms, p90 ${q(0.9).toFixed(1)} ms, max ${s.at(-1)!.toFixed(1)} ms (n=${s.length})`,
  };
}

/** Presses `key` and returns ms from its keydown to the action bar naming `next` as drawn. */
async function timeKey(page: Page, key: string, next: number): Promise<number> {
  await page.evaluate(() => delete (window as unknown as { __down?: number }).__down);
  await page.keyboard.press(key);
  return page.evaluate(
    (id) =>
      new Promise<number>((resolve, reject) => {
        const bar = () => document.querySelector('[data-testid=review-actions]');
        const done = () => bar()?.getAttribute('data-drawn') === String(id);
        const finish = () => resolve(performance.now() - (window as unknown as { __down: number }).__down);
        if (done()) return finish();
        const timer = setTimeout(() => reject(new Error(`case ${id} not drawn in 10 s`)), 10_000);
        const observer = new MutationObserver(() => {
          if (!done()) return;
          observer.disconnect();
          clearTimeout(timer);
          finish();
        });
        observer.observe(document.body, { attributes: true, subtree: true, attributeFilter: ['data-drawn'] });
      }),
    next,
  );
}

const dataDir = path.join(ROOT, '.tmp', 'bench', 'review-data');
rmSync(dataDir, { recursive: true, force: true });
const app = await serveApp(dataDir);
const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: ['--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-sync'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.addInitScript('window.__name = (f) => f');
  // Registered before the app's own listeners, which stop the review keys from going further.
  await page.addInitScript("window.addEventListener('keydown', (e) => (window.__down = e.timeStamp), { capture: true })");
  await page.goto(app.url);
  const call = pageApi(page);
  const { jobId } = await call<{ jobId: number }>('demo', 'load', { patients: CASES, imagesPerSeries: 5, domain: 'base' });
  while ((await call<{ status: string }>('jobs', 'get', { id: jobId })).status !== 'done')
    await new Promise((r) => setTimeout(r, 300));
  // Every series segmented before measuring: no inference competes for the two cores.
  for (;;) {
    const jobs = (await call<{ kind: string; status: string }[]>('jobs', 'list', { kind: 'inference' })) ?? [];
    if (jobs.length >= CASES && jobs.every((j) => j.status === 'done')) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  const order = (await call<ReviewItem[]>('review', 'queue', { queue: 'review' })).map((i) => i.seriesId);
  await page.keyboard.press('Alt+2');
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid=review-actions]')?.getAttribute('data-drawn') === String(id),
    order[0],
    { timeout: 30_000 },
  );

  // Baseline: N through the queue (no decision).
  const next: number[] = [];
  for (let k = 1; k < order.length; k++) next.push(await timeKey(page, 'n', order[k]!));
  // Back to the first case, then A on every case.
  await page.keyboard.press('Shift+1');
  await page.waitForFunction(
    (id) => document.querySelector('[data-testid=review-actions]')?.getAttribute('data-drawn') === String(id),
    order[0],
    { timeout: 30_000 },
  );
  const accept: number[] = [];
  for (let k = 1; k < order.length; k++) accept.push(await timeKey(page, 'a', order[k]!));

  const a = stats(accept);
  const n = stats(next);
  process.stdout.write(
    [
      `machine: ${os.cpus()[0]?.model ?? '?'}, ${os.availableParallelism()} cores; load average ${os
        .loadavg()
        .map((l) => l.toFixed(2))
        .join(' ')}; Chromium ${browser.version()} headless, software rendering`,
      `cases: ${order.length} demo US series, 5 slices 256×256 each, starter model predictions`,
      `next key (N) → next case drawn (baseline): ${n.text}`,
      `accept key (A) → next case drawn: ${a.text}`,
      `ratio accept / next (medians): ${(a.median / n.median).toFixed(2)}; target: accept ≤ 300 ms median → ${a.median <= 300 ? 'met' : 'NOT met'}`,
    ].join('\n') + '\n',
  );
} finally {
  await browser.close();
  await app.stop();
}
