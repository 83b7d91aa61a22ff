// The whole loop on this CPU (issue 12's acceptance): generated shifted-domain studies imported
// and segmented by the starter → the ground truth stored as the radiologist's labels → a small
// fine-tune → a candidate registered with parent and candidate Dice on the same frozen
// validation set → promote → the series waiting for review are segmented again and their items
// show the new version's predictions → roll back →
// predictions from the old one again.
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import { tempDir } from '../helpers/temp';
import { importLabelledStudies } from '../helpers/training-data';
import { skipTitle } from '../helpers/skip';

const trainer = await probeTrainer(pythonCandidates(''));

describe.skipIf(!trainer.available)(
  skipTitle(
    `fine-tuning loop${trainer.available ? ` (${trainer.python})` : ''}`,
    trainer.available ? '' : `no Python with torch: ${trainer.reason}`,
  ),
  () => {
    const tmp = tempDir();
    let b: Backend;
    beforeAll(async () => {
      process.env.OMP_NUM_THREADS = '2';
      b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
      await b.ready;
      await b.services.settings.update({ ttaFlips: 0 });
    }, 120_000);
    afterAll(() => {
      b?.close();
      tmp.cleanup();
    });

    it('import → predict → label → fine-tune → gate → promote → predict with the new version → roll back', async () => {
      const { imageIds } = await importLabelledStudies(b, tmp.dir, {
        patients: 3,
        imagesPerSeries: 2,
        seed: 404,
        domain: 'shifted',
        validationPatients: 1,
      });
      // Segmented automatically after the import, by the starter.
      await expect
        .poll(async () => (await b.services.jobs.list({ kind: 'inference' })).filter((j) => j.status === 'done').length, {
          timeout: 180_000,
          interval: 500,
        })
        .toBe(3);
      const starter = b.registry.active()!;
      expect(starter.manifest.id).toBe('lgmsnet-starter');
      for (const imageId of imageIds)
        expect((await b.services.inference.prediction({ imageId }))?.modelVersionId).toBe(starter.id);

      const run = await b.training.waitFor((await b.services.training.start({ maxSteps: 2 })).id);
      expect(run.status).toBe('done');
      const candidateId = run.candidateVersionId!;
      expect(run.gate!.n).toBe(2); // one validation patient × 2 images
      expect(run.gate!.cases.every((c) => c.parentDice > 0 && Number.isFinite(c.candidateDice))).toBe(true);
      const candidate = (await b.services.models.list()).find((v) => v.id === candidateId)!;
      expect(candidate.parent).toBe('lgmsnet-starter');

      // Promote: inference switches without a restart; a new segmentation is the candidate's.
      await b.services.models.activate({ id: candidateId });
      expect((await b.services.inference.status()).model?.id).toBe(candidateId);
      const seriesId = b.db.prepare('SELECT series_id FROM images WHERE id = ?').pluck().get(imageIds[0]) as number;
      // The validation series already shows the candidate's prediction (the gate segmented it with
      // the candidate); the two training series still wait for review with the starter's.
      // Re-segmenting them (offered after a promote) gives each the candidate's prediction.
      const waiting = await b.services.review.queue({ queue: 'review', order: 'fifo' });
      expect(waiting.map((i) => i.modelVersionId).sort()).toEqual([starter.id, starter.id, candidateId].sort());
      const listed = await b.services.inference.segmentReviewQueue({ dryRun: true });
      expect({ series: listed.seriesIds.length, jobs: listed.jobIds.length }).toEqual({ series: 2, jobs: 0 });
      const queued = await b.services.inference.segmentReviewQueue({});
      expect(queued.seriesIds).toEqual(listed.seriesIds);
      for (const jobId of queued.jobIds) expect(await b.engine.waitForJob(jobId)).toBe('done');
      const after = await b.services.review.queue({ queue: 'review' });
      expect(after.map((i) => i.modelVersionId)).toEqual([candidateId, candidateId, candidateId]);
      expect((await b.services.inference.segmentReviewQueue({ dryRun: true })).seriesIds).toEqual([]);
      for (const imageId of imageIds)
        expect((await b.services.inference.prediction({ imageId }))?.modelVersionId).toBe(candidateId);
      expect((await b.services.system.getInfo()).trainer.available).toBe(true);

      // Roll back: the starter is active again and its predictions are the ones shown.
      await b.services.models.activate({ id: starter.id });
      expect((await b.services.inference.status()).model?.modelId).toBe('lgmsnet-starter');
      const again = await b.services.inference.segmentSeries({ seriesId });
      expect(await b.engine.waitForJob(again.jobId)).toBe('done');
      expect((await b.services.inference.prediction({ imageId: imageIds[0]! }))?.modelVersionId).toBe(starter.id);
    }, 900_000);
  },
);
