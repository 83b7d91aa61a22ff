// Fine-tuning from the app (issue 12) as a radiologist drives it, in Debian's Chromium against the
// built headless server and the real trainer (Python + PyTorch): the retraining queue lists the
// labelled shifted-domain images with their frozen split; a run started from the Training view
// shows its curve growing, a second request waits behind it and is cancelled there, then the
// run is cancelled; a third run (started with the F shortcut) finishes;
// the Models view compares the candidate with its parent with the backend's own gate figures;
// Promote (confirmed) switches inference and the status bar names the new version without a
// reload; Roll back (confirmed) returns to the parent; the candidate is exported as a folder. axe-core checks both views (with a run
// going, and with the comparison shown) for serious or critical violations, as tests/e2e/a11y does.
// Issue 21: the gate says how many validation labels are independent of the parent and names their
// real domain; the Models table shows the comparison's Dice; Promote names both verdicts (and asks
// again when one says worse); a CT imported after the promote, and after the roll back, stays
// outside the fine-tuned version's domain, unsegmented.
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { sources } from '../fixtures';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import type { ModelVersionInfo, TrainingRun } from '../../src/shared/contract';
import { axeViolations } from '../helpers/axe';
import { launchChromium, pageApi } from '../helpers/browser';
import { ROOT, serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { importLabelledStudies } from '../helpers/training-data';
import { skipTitle } from '../helpers/skip';

const trainer = await probeTrainer(pythonCandidates(''));
/** Where screenshots of the views go when set (for a look by eye; nothing checks them). */
const SHOTS = process.env.LGMS_SCREENSHOTS;
const MODEL = existsSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.onnx'));
const CT = path.join(sources.pydicom, 'test_files', 'CT_small.dcm');

describe.skipIf(!trainer.available || !MODEL)(
  skipTitle(
    `fine-tuning in Chromium${trainer.available ? ` (${trainer.python})` : ''}`,
    !trainer.available ? `no Python with torch: ${trainer.reason}` : MODEL ? '' : 'the starter model.onnx is missing',
  ),
  () => {
    const tmp = tempDir();
    const dataDir = path.join(tmp.dir, 'data');
    let app: ServedApp;
    let browser: Browser;
    let page: Page;
    const call = <T>(service: string, method: string, input?: unknown) => pageApi(page)<T>(service, method, input);
    const points = async () => Number((await page.getByTestId('training-curve').getAttribute('data-points')) ?? 0);
    const runStatus = (id: number) => page.locator(`[data-testid=training-run][data-run-id="${id}"]`).getAttribute('data-status');

    /** Serious and critical axe-core violations on the page as it is, one line each with where. */
    async function audit(name: string): Promise<string[]> {
      if (SHOTS) {
        mkdirSync(SHOTS, { recursive: true });
        await page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });
      }
      return axeViolations(page);
    }

    beforeAll(async () => {
      // 3 patients × 3 shifted-domain images with their ground truth as labels: 6 training, 3 validation.
      const b = createBackend({ dataDir, transport: 'http', inference: false });
      try {
        await importLabelledStudies(b, tmp.dir, {
          patients: 3,
          imagesPerSeries: 3,
          seed: 404,
          domain: 'shifted',
          validationPatients: 1,
        });
      } finally {
        b.close();
      }
      [app, browser] = await Promise.all([serveApp(dataDir, { OMP_NUM_THREADS: '2' }), launchChromium()]);
      page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(app.url);
      await call('settings', 'update', { ttaFlips: 0 });
    }, 120_000);

    afterAll(async () => {
      await browser?.close();
      await app?.stop();
      tmp.cleanup();
    });

    it('lists the new labels with their frozen split', async () => {
      await page.keyboard.press('Alt+3');
      await expect.poll(() => page.getByTestId('queue-item').count()).toBe(9);
      expect(await page.getByTestId('new-training').textContent()).toBe('6');
      expect(await page.getByTestId('new-validation').textContent()).toBe('3');
      await expect.poll(() => page.getByTestId('fine-tune').isEnabled(), { timeout: 30_000 }).toBe(true);
    });

    it('starts a run, shows its curve growing, queues a second request and cancels both', async () => {
      await page.locator('input[name=maxSteps]').fill('1000');
      await page.getByTestId('fine-tune').click();
      await expect.poll(() => page.getByTestId('current-run').getAttribute('data-status'), { timeout: 60_000 }).toBe('running');
      await expect.poll(points, { timeout: 120_000 }).toBeGreaterThanOrEqual(1);
      // The running run has taken the labels out of the queue.
      await expect.poll(() => page.getByTestId('new-training').textContent()).toBe('0');
      const first = await points();
      await expect.poll(points, { timeout: 120_000 }).toBeGreaterThan(first);
      // A second request while one trains waits in the queue, and can be cancelled there.
      await page.getByTestId('fine-tune').click();
      await expect.poll(() => page.getByTestId('waiting-run').getAttribute('data-run-id')).toBe('2');
      expect(await audit('training-running')).toEqual([]);
      await page.getByRole('button', { name: 'Cancel waiting run 2' }).click();
      await expect.poll(() => runStatus(2)).toBe('cancelled');
      expect(await page.getByTestId('current-run').getAttribute('data-status')).toBe('running');
      await page.getByRole('button', { name: 'Cancel run' }).click();
      await expect.poll(() => runStatus(1), { timeout: 60_000 }).toBe('cancelled');
      expect(await page.getByTestId('current-run').count()).toBe(0);
      const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.id === 1);
      expect(run!.status).toBe('cancelled');
      expect(run!.candidateVersionId).toBeNull();
      // A cancelled run trained nothing that lasts: its labels are still new.
      expect(await page.getByTestId('new-training').textContent()).toBe('6');
    }, 300_000);

    it('runs again to completion (started with F), and the queue is empty after it', async () => {
      await page.locator('input[name=maxSteps]').fill('3');
      await page.locator('h1').click(); // the keyboard leaves the steps field
      await page.keyboard.press('f');
      await expect.poll(() => runStatus(3), { timeout: 400_000, interval: 1000 }).toBe('done');
      const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.id === 3)!;
      expect(run.error).toBeNull();
      expect(run.gate).not.toBeNull();
      expect(await page.getByTestId('new-training').textContent()).toBe('0');
      expect(await page.getByTestId('queue-item').count()).toBe(0);
      expect(await audit('training-done')).toEqual([]);
    }, 420_000);

    it('compares the candidate with its parent in the Models view with the gate figures', async () => {
      const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.id === 3)!;
      await page
        .locator('[data-testid=training-run][data-run-id="3"]')
        .getByRole('button', { name: 'Compare in Models' })
        .click();
      const compare = page.getByTestId('compare');
      await expect.poll(() => compare.getAttribute('data-version-id')).toBe(String(run.candidateVersionId));
      const row = compare.getByTestId('gate-validation');
      expect(Number(await row.getByTestId('mean-candidate').getAttribute('data-value'))).toBe(run.gate!.meanCandidate);
      expect(Number(await row.getByTestId('mean-parent').getAttribute('data-value'))).toBe(run.gate!.meanParent);
      expect(await row.getByTestId('mean-candidate').textContent()).toBe(`${(run.gate!.meanCandidate * 100).toFixed(1)} %`);
      expect(await row.getByTestId('mean-parent').textContent()).toBe(`${(run.gate!.meanParent * 100).toFixed(1)} %`);
      expect(await compare.getByTestId('gate-reference').count()).toBe(run.referenceGate ? 1 : 0);
      expect(Number(await compare.getByTestId('difference-validation').getAttribute('data-points'))).toBe(run.gate!.n);
      expect(Number(await compare.getByTestId('training-curve').getAttribute('data-points'))).toBeGreaterThanOrEqual(3);
      // The 3 validation labels are drawn (ground truth): independent of the parent, too few for a
      // verdict; the row names their series, not an assumed "new domain".
      expect(run.gate!.independent).toBe(3);
      expect(Number(await row.getByTestId('independent').getAttribute('data-value'))).toBe(3);
      expect(await row.getByTestId('independent').textContent()).toContain('3 of 3 independent of the parent');
      expect(await row.getByRole('rowheader').textContent()).toContain(
        'Frozen validation labels: US Demo breast US (shifted domain) × 3',
      );
      expect(await compare.textContent()).not.toContain('new domain');
      expect(await row.getByTestId('verdict').getAttribute('data-verdict')).toBe('too-few');
      expect(await row.getByTestId('verdict').textContent()).toContain('No verdict: too few labels independent of the parent');
      // The Models table shows the comparison's figure for the candidate, and says which set it is.
      const listed = page
        .locator(`[data-testid=model-row][data-version-id="${run.candidateVersionId}"]`)
        .getByTestId('validation-dice');
      expect(Number(await listed.getAttribute('data-value'))).toBe(run.gate!.meanCandidate);
      expect(await listed.textContent()).toContain(`${(run.gate!.meanCandidate * 100).toFixed(1)} %`);
      expect(await listed.textContent()).toContain("the comparison's");
      expect(await audit('models-compare')).toEqual([]);
    });

    it('promotes the candidate after a confirmation; the status bar names it without a reload; rolls back', async () => {
      const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.id === 3)!;
      const versions = await call<ModelVersionInfo[]>('models', 'list');
      const candidate = versions.find((v) => v.id === run.candidateVersionId)!;
      const parent = versions.find((v) => v.id === run.parentVersionId)!;
      // One training series segmented by the parent waits for review: after the promote the view
      // offers to segment it again with the candidate. (Not a validation series: the gate has
      // already segmented those with the candidate, so their items switch on their own.)
      let seriesId = 0;
      for (const study of (await call<{ rows: { studyId: number }[] }>('worklist', 'list', {})).rows) {
        for (const s of await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study.studyId }))
          if (
            !seriesId &&
            (await call<{ split: string | null }>('review', 'labels', { seriesId: s.seriesId })).split === 'training'
          )
            seriesId = s.seriesId;
      }
      expect(seriesId).toBeGreaterThan(0);
      const first = await call<{ jobId: number }>('inference', 'segmentSeries', { seriesId });
      await expect
        .poll(async () => (await call<{ status: string }>('jobs', 'get', { id: first.jobId })).status, { timeout: 60_000 })
        .toBe('done');
      const waitingItem = async () =>
        (await call<{ seriesId: number; modelVersionId: number }[]>('review', 'queue', { queue: 'review' })).find(
          (i) => i.seriesId === seriesId,
        )?.modelVersionId;
      expect(await waitingItem()).toBe(parent.id);
      await page.getByTestId('promote').click();
      expect((await call<ModelVersionInfo[]>('models', 'list')).find((v) => v.status === 'active')!.id).toBe(parent.id); // asks first
      // The question names both verdicts; a "worse" asks a second, explicit confirmation.
      const question = (await page.getByTestId('promote-confirm').locator('..').getAttribute('aria-label'))!;
      expect(question).toContain(
        'Validation labels: no verdict: too few labels independent of the parent (3 independent images).',
      );
      const words = {
        better: 'better than its parent',
        'no-evidence': 'no evidence of a difference',
        worse: 'worse than its parent',
        'too-few': 'no verdict',
      };
      expect(question).toContain(
        run.referenceGate ? `Reference set: ${words[run.referenceGate.verdict]} (` : 'Reference set: not compared.',
      );
      await page.getByTestId('promote-confirm').click();
      if (run.referenceGate?.verdict === 'worse') {
        await expect.poll(() => page.getByTestId('promote-again').locator('..').textContent()).toContain('On the reference set');
        expect((await call<ModelVersionInfo[]>('models', 'list')).find((v) => v.status === 'active')!.id).toBe(parent.id);
        await page.getByTestId('promote-again').click();
      } else expect(await page.getByTestId('promote-again').count()).toBe(0);
      await expect
        .poll(() => page.getByTestId('status-provider').textContent(), { timeout: 60_000 })
        .toContain(`${candidate.name} ${candidate.version}`);
      expect((await call<ModelVersionInfo[]>('models', 'list')).find((v) => v.status === 'active')!.id).toBe(candidate.id);
      const listed = (await call<{ seriesIds: number[] }>('inference', 'segmentReviewQueue', { dryRun: true })).seriesIds;
      expect(listed).toContain(seriesId);
      const n = listed.length;
      await expect
        .poll(() => page.getByTestId('resegment-offer').textContent())
        .toContain(`${n} series ${n === 1 ? 'waits' : 'wait'} for review`);
      // Promote was clicked in the comparison below: the offer is scrolled into view and its first button focused.
      expect(await page.getByTestId('resegment-offer').isVisible()).toBe(true);
      expect(await page.getByTestId('resegment').evaluate((el) => el === document.activeElement)).toBe(true);
      const box = (await page.getByTestId('resegment-offer').boundingBox())!;
      expect(box.y).toBeGreaterThanOrEqual(0);
      expect(box.y + box.height).toBeLessThanOrEqual(900);
      expect(await audit('models-resegment-offer')).toEqual([]);
      await page.getByTestId('resegment').click();
      await expect
        .poll(() => page.getByTestId('resegment-done').textContent())
        .toContain(`${n} series queued for segmentation with ${candidate.name} ${candidate.version}`);
      await expect.poll(waitingItem, { timeout: 60_000 }).toBe(candidate.id);
      const items = async () =>
        (await call<{ modelVersionId: number }[]>('review', 'queue', { queue: 'review' })).map((i) => i.modelVersionId);
      await expect.poll(async () => (await items()).every((v) => v === candidate.id), { timeout: 60_000 }).toBe(true);
      // The fine-tuned version ships no learning curve: the recipe's, shipped with its parent, is drawn.
      const shipped = JSON.parse(
        readFileSync(path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'learning-curve.json'), 'utf8'),
      ) as { points: unknown[] };
      await expect.poll(() => page.getByTestId('learning-curve').getAttribute('data-points')).toBe(String(shipped.points.length));
      expect(Number(await page.getByTestId('learning-curve-chart').getAttribute('data-points'))).toBe(shipped.points.length);
      // A head CT imported while the fine-tuned version is active stays outside its (inherited) domain.
      const inferenceJobs = async () => (await call<unknown[]>('jobs', 'list', { kind: 'inference', limit: 500 })).length;
      const jobsBefore = await inferenceJobs();
      const { jobId } = await call<{ jobId: number }>('import', 'start', { paths: [CT] });
      await expect
        .poll(async () => (await call<{ status: string }>('jobs', 'get', { id: jobId })).status, { timeout: 60_000 })
        .toBe('done');
      let ct = 0;
      for (const study of (await call<{ rows: { studyId: number; modalities: string }[] }>('worklist', 'list', {})).rows)
        if (study.modalities === 'CT')
          ct = (await call<{ seriesId: number }[]>('worklist', 'series', { studyId: study.studyId }))[0]!.seriesId;
      expect(ct).toBeGreaterThan(0);
      const outside = async () => {
        await new Promise((r) => setTimeout(r, 1000)); // an auto-segmentation would have been queued by now
        expect(await inferenceJobs()).toBe(jobsBefore);
        expect((await call<Record<number, string>>('review', 'states', { seriesIds: [ct] }))[ct]).toBe('outside-domain');
      };
      await outside();
      const back = page.locator(`[data-testid=model-row][data-version-id="${parent.id}"]`);
      await back.getByTestId('rollback').click();
      await back.getByTestId('rollback-confirm').click();
      await expect
        .poll(() => page.getByTestId('status-provider').textContent(), { timeout: 60_000 })
        .toContain(`${parent.name} ${parent.version}`);
      expect((await call<ModelVersionInfo[]>('models', 'list')).find((v) => v.status === 'active')!.id).toBe(parent.id);
      await outside();
    }, 120_000);

    it('exports the candidate as a folder, and refuses to import a version already registered, in words', async () => {
      const run = (await call<TrainingRun[]>('training', 'list')).find((r) => r.id === 3)!;
      const candidate = (await call<ModelVersionInfo[]>('models', 'list')).find((v) => v.id === run.candidateVersionId)!;
      const folder = path.join(tmp.dir, 'exported', candidate.modelId);
      const transfer = page.getByTestId('model-transfer');
      await transfer.getByRole('combobox', { name: 'Version' }).selectOption(String(candidate.id));
      await transfer.locator('input[name=modelFolder]').fill(folder);
      await transfer.getByRole('button', { name: 'Export version' }).click();
      await expect.poll(() => transfer.getByRole('status').textContent()).toContain(`was copied to ${folder}`);
      expect(readdirSync(folder).sort()).toEqual(['model.json', 'model.onnx', 'split.json', 'weights.pt']);
      const manifest = JSON.parse(readFileSync(path.join(folder, 'model.json'), 'utf8')) as {
        id: string;
        domain?: { modalities: string[] };
      };
      expect(manifest.id).toBe(candidate.modelId);
      expect(manifest.domain?.modalities).toEqual(['US']); // the parent's, written when the candidate was registered
      await transfer.getByRole('button', { name: 'Import from folder' }).click();
      await expect.poll(() => transfer.getByRole('alert').textContent()).toContain('already registered');
      expect(await call<ModelVersionInfo[]>('models', 'list')).toHaveLength(2);
    });

    it('Settings: fine-tuning automatically is off, then on after 16 (never fewer than 4), then off', async () => {
      const setting = async () => (await call<{ autoFineTuneAfter: number }>('settings', 'get')).autoFineTuneAfter;
      await page.keyboard.press('Alt+5');
      const box = page.locator('input[name=autoFineTune]');
      expect(await box.isChecked()).toBe(false);
      expect(await setting()).toBe(0);
      await box.check();
      await expect.poll(setting).toBe(16);
      await page.locator('input[name=autoFineTuneAfter]').fill('2');
      await page.locator('input[name=autoFineTuneAfter]').press('Enter');
      await expect.poll(setting).toBe(4);
      await box.uncheck();
      await expect.poll(setting).toBe(0);
    });
  },
);

// Without a working Python the Training view says so and what to install, and offers no run.
describe('the Training view without a trainer', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let browser: Browser;

  beforeAll(async () => {
    [app, browser] = await Promise.all([
      serveApp(path.join(tmp.dir, 'data'), { LGMS_PYTHON: path.join(tmp.dir, 'no-such-python') }),
      launchChromium(),
    ]);
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await app?.stop();
    tmp.cleanup();
  });

  it('says fine-tuning is not available and what to install; Fine-tune now is disabled', async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(app.url);
    await page.keyboard.press('Alt+3');
    const status = page.getByTestId('training-trainer');
    await expect.poll(() => status.textContent(), { timeout: 30_000 }).toContain('Fine-tuning is not available on this machine');
    expect(await status.textContent()).toMatch(/Fine-tuning needs Python 3 with PyTorch/);
    expect(await page.getByTestId('fine-tune').isDisabled()).toBe(true);
    await page.keyboard.press('f'); // the shortcut starts nothing either
    expect(await pageApi(page)<unknown[]>('training', 'list')).toEqual([]);
    expect(await axeViolations(page)).toEqual([]);
  }, 60_000);
});
