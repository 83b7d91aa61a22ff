// The reader is told when mirroring is off for a task (src/shared/model/laterality.ts), in
// Debian's Chromium against the built headless server: the Training view of a CT task whose
// labels have a side says that left-right mirroring is off and names those labels; the starter
// task (a lesion, no side) says nothing; renaming a label in the Tasks view to give it a side
// shows the note; Settings' test-time augmentation says it uses no flips for such a task.
// axe-core finds no serious violation on the Training view with the note.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/shared/contract';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe('mirroring off for a task whose labels have a side, in Chromium', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  let organs: Task;
  const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);
  const note = () => page.getByTestId('training-laterality');

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(app.url);
    organs = await call<Task>('tasks', 'create', {
      name: 'Abdominal organs',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      labels: [{ name: 'Liver' }, { name: 'Right kidney' }, { name: 'Left kidney' }],
    });
    await page.reload();
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('the Training view says mirroring is off for the CT task, naming its labels with a side, and nothing for the starter task', async () => {
    await page.keyboard.press('Alt+3');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Training');
    await page.getByTestId('training-task').selectOption(String(organs.id));
    await expect.poll(() => note().count()).toBe(1);
    expect(await note().textContent()).toMatch(
      /^Left-right mirroring is off for this task because its labels have a side \(Right kidney, Left kidney\): training does not flip or turn its images, and segmentation does not average flipped images/,
    );
    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('training-task').selectOption('1');
    await expect.poll(() => note().count()).toBe(0);
  }, 60_000);

  it('a label renamed to have a side turns the note on for the starter task', async () => {
    await call('tasks', 'updateLabel', { id: 1, value: 1, name: 'Left breast lesion' });
    await page.reload();
    await page.keyboard.press('Alt+3');
    await page.getByTestId('training-task').selectOption('1');
    await expect.poll(() => note().textContent()).toMatch(/its labels have a side \(Left breast lesion\)/);
  }, 60_000);

  it("Settings' test-time augmentation says it uses no flips for such a task", async () => {
    await page.keyboard.press('Alt+5');
    await page.locator('select[name=ttaFlips]').waitFor();
    const label = page.locator('label', { has: page.locator('select[name=ttaFlips]') });
    expect(await label.textContent()).toMatch(/none for a task whose labels have a side/);
  }, 60_000);
});
