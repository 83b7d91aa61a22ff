// A task's model kind (issue 25), in Debian's Chromium against the built headless server,
// through the UI and the keyboard only: a new task is created as 3D (the kind's radio buttons
// reached with Tab and moved with the arrow keys), the Tasks and Training views say what 3D means
// (sparse slices, volumes of at least 32 slices, slower on a CPU), the kind changes to 2.5D in the
// Training view while the task has no model (a 3D first model starts from scratch: the starter is
// 2D), and the starter task — which has a model — shows its kind locked with the reason. The
// Models view names each version's kind. axe-core finds no serious violation on the new-task
// form, the task editor, the Training view and the Models view.
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Task } from '../../src/shared/contract';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe("a task's model kind, in Chromium through the UI", () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;
  let page: Page;
  const task = async (name: string) => (await pageApi(page)<Task[]>('tasks', 'list')).find((t) => t.name === name);

  /** Presses Tab until the focused element has `testid` (at most 60 presses), as a keyboard user reaches it. */
  async function tabTo(testid: string): Promise<void> {
    for (let i = 0; i < 60; i++) {
      await page.keyboard.press('Tab');
      if ((await page.evaluate(() => document.activeElement?.getAttribute('data-testid') ?? '')) === testid) return;
    }
    throw new Error(`Tab never reached ${testid}`);
  }

  beforeAll(async () => {
    [app, browser] = await Promise.all([serveApp(path.join(tmp.dir, 'data')), launchChromium()]);
    page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(app.url);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('creates a 3D task with the keyboard and says what 3D means', async () => {
    await page.keyboard.press('Alt+6');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Tasks');
    await page.getByTestId('new-task').click();
    await page.getByTestId('task-name').fill('Abdominal organs');
    await page.getByTestId('task-modalities').fill('CT');
    await page.getByTestId('task-modalities').blur();
    await page.getByTestId('new-label-1').fill('Liver');
    // 2D is chosen first; Tab reaches the checked radio, the arrow keys move to 2.5D then 3D.
    expect(await page.getByTestId('new-task-kind-2d').isChecked()).toBe(true);
    await page.getByTestId('task-name').focus();
    await tabTo('new-task-kind-2d');
    await page.keyboard.press('ArrowRight');
    await page.keyboard.press('ArrowRight');
    expect(await page.getByTestId('new-task-kind-3d').isChecked()).toBe(true);
    const means = await page.getByTestId('new-task-kind-means').textContent();
    expect(means).toMatch(/3D:.*label every k-th slice/);
    expect(means).toMatch(/at least 32 slices/);
    expect(means).toMatch(/without a GPU/);
    expect(await page.getByRole('group', { name: 'Model kind' }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('create-task').click();

    await expect.poll(async () => (await task('Abdominal organs'))?.modelKind).toBe('3d');
    // The editor of the new task: 3D chosen, not locked (no model yet).
    await expect.poll(() => page.getByTestId('task-kind-3d').isChecked()).toBe(true);
    expect(await page.getByTestId('task-kind-3d').isDisabled()).toBe(false);
    expect(await page.getByTestId('task-kind-locked').count()).toBe(0);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it('shows the kind in the Training view and changes it there before the first model', async () => {
    await page.keyboard.press('Alt+3');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Training');
    const abdomen = (await task('Abdominal organs'))!;
    await page.getByTestId('training-task').selectOption(String(abdomen.id));
    await expect.poll(() => page.getByTestId('training-kind-3d').isChecked()).toBe(true);
    expect(await page.getByTestId('training-kind-means').textContent()).toMatch(/sparsely labelled slices/);
    // Its first model: the 2D starter's weights cannot start a 3D model, so scratch is chosen.
    await expect.poll(() => page.getByTestId('first-model-3d').count()).toBe(1);
    expect(await page.locator('input[name=init][value=starter]').isDisabled()).toBe(true);
    expect(await page.locator('input[name=init][value=scratch]').isChecked()).toBe(true);
    expect(await axeViolations(page)).toEqual([]);
    await page.getByTestId('training-kind-3d').focus();
    await page.keyboard.press('ArrowLeft');
    await expect.poll(async () => (await task('Abdominal organs'))?.modelKind).toBe('2.5d');
    await expect.poll(() => page.getByTestId('training-kind-means').textContent()).toMatch(/^\s*2\.5D:/);
    await expect.poll(() => page.locator('input[name=init][value=starter]').isChecked()).toBe(true);
    expect(await page.getByTestId('first-model-3d').count()).toBe(0);

    // The starter task has a model: its kind is shown, locked, with the reason.
    await page.getByTestId('training-task').selectOption('1');
    await expect.poll(() => page.getByTestId('training-kind-2d').isChecked()).toBe(true);
    expect(await page.getByTestId('training-kind-3d').isDisabled()).toBe(true);
    expect(await page.getByTestId('training-kind-locked').textContent()).toMatch(
      /has a model version: each fine-tune continues from the active 2D model.*create a new task with the same labels/,
    );
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);

  it("names each version's kind and input in the Models view", async () => {
    await page.keyboard.press('Alt+4');
    await expect.poll(() => page.locator('h1').textContent()).toBe('Models');
    await expect.poll(() => page.getByTestId('model-kind').first().getAttribute('data-kind')).toBe('2d');
    expect(await page.getByTestId('model-kind').first().textContent()).toMatch(/2D.*pixels/);
    expect(await page.getByRole('columnheader', { name: 'Kind and input' }).count()).toBe(1);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});
