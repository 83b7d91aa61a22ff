// The 3D loop end to end on this CPU (issue 25's acceptance), written against SPEC3D
// (/work/wt/SPEC3D.md) and the existing contract: two generated CT phantom volumes (64 × 64 × 32,
// base domain) imported through the real importer → a 3D task labelled on every 4th slice (the
// phantom's own label maps; one patient frozen as training, one as validation) → its first 3D
// model trained from those sparse slices (training.start, a couple of steps) and promoted
// (models.activate) → 3D inference of a whole volume to one stored label map per slice
// (inference.segmentSeries / inference.prediction) → more sparse slices labelled → a fine-tune of
// the 3D model (training.start) whose gate compares candidate and parent on the same frozen
// validation slices → promote → the volume segmented again by the candidate.
//
// Small on purpose (a few training steps): it shows the parts join up, not that the model learns.
// It needs Python with PyTorch for the trainer (the fixtures' set-up installs it).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { CT_LABELS, writeCtPhantomSeries, type CtSeriesResult } from '../../src/main/demo';
import { seriesByUid, seriesImages } from '../../src/main/export/queries';
import { writeTaskLabels } from '../../src/main/import/task-labels';
import { setSeriesSplit } from '../../src/main/review/labels';
import { probeTrainer, pythonCandidates } from '../../src/main/system/trainer-probe';
import type { ModelVersionInfo, Task } from '../../src/shared/contract';
import { decodeRle } from '../../src/shared/imaging/rle';
import { call } from '../helpers/api';
import { readPng8 } from '../helpers/png';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

const SIZE = 64;
const SLICES = 32;
/** The reader labels every K-th slice. */
const K = 4;

const trainer = await probeTrainer(pythonCandidates(''));
const skip = trainer.available ? '' : `no Python with torch: ${trainer.reason}`;

describe('the 3D loop on a CT phantom volume', () => {
  const tmp = tempDir('lgms-volume-loop-');
  let b: Backend;
  let task: Task;
  /** Training patient first, validation patient second. */
  const volumes: { phantom: CtSeriesResult; seriesId: number; imageIds: number[]; truth: Map<number, Uint8Array> }[] = [];

  /** Stores the phantom's label maps of every K-th slice (from `offset`, display order) as the reader's labels. */
  const labelEveryKth = (v: (typeof volumes)[number], offset: number): number[] => {
    const picked = v.imageIds.filter((_, z) => z % K === offset);
    writeTaskLabels(
      b.db,
      task.id,
      v.seriesId,
      picked.map((imageId) => ({ imageId, map: v.truth.get(imageId)! })),
      'drawn',
      'DR^PHANTOM',
    );
    return picked;
  };

  /** Segments every slice of a volume with the task's active version; returns each slice's stored prediction. */
  const segment = async (v: (typeof volumes)[number]) => {
    const { jobId } = await call(b).inference.segmentSeries({ seriesId: v.seriesId, taskId: task.id, ttaFlips: 0 });
    expect(await b.engine.waitForJob(jobId)).toBe('done');
    return Promise.all(v.imageIds.map((imageId) => call(b).inference.prediction({ imageId, taskId: task.id })));
  };

  const version = async (id: number): Promise<ModelVersionInfo> =>
    (await call(b).models.list({ taskId: task.id })).find((m) => m.id === id)!;

  beforeAll(async () => {
    process.env.OMP_NUM_THREADS = '2';
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http' });
    await b.ready;
    task = await call(b).tasks.create({
      name: 'Abdominal organs (phantom)',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      modelKind: '3d',
      labels: CT_LABELS.map((l) => ({ name: l.name, type: l.code })),
    });
    for (const index of [0, 1]) {
      const phantom = await writeCtPhantomSeries({
        seed: 2525,
        index,
        domain: 'base',
        size: SIZE,
        slices: SLICES,
        dicomDir: path.join(tmp.dir, 'ct', 'dicom'),
        groundTruthDir: path.join(tmp.dir, 'ct', 'truth'),
      });
      const { jobId } = await call(b).import.start({ paths: [path.dirname(phantom.files[0]!)] });
      expect((await b.importer.wait(jobId)).status).toBe('done');
      const seriesId = seriesByUid(b.db, phantom.seriesInstanceUid)!.id;
      const images = seriesImages(b.db, seriesId);
      expect(images).toHaveLength(SLICES);
      const gt = JSON.parse(readFileSync(phantom.groundTruthJson, 'utf8')) as {
        slices: { sopInstanceUid: string; labelMap: string }[];
      };
      const bySop = new Map(gt.slices.map((s) => [s.sopInstanceUid, s.labelMap]));
      const truth = new Map(
        images.map((im) => [
          im.id,
          readPng8(readFileSync(path.join(path.dirname(phantom.groundTruthJson), bySop.get(im.sopInstanceUid!)!))).data,
        ]),
      );
      setSeriesSplit(b.db, seriesId, index === 0 ? 'training' : 'validation');
      volumes.push({ phantom, seriesId, imageIds: images.map((im) => im.id), truth });
    }
  }, 300_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  /** The validation volume's labelled slices (image ids), set by the first test. */
  let validationSlices: number[] = [];

  it('labels every 4th slice of two imported phantom volumes: the 3D task can train its first model', async () => {
    const [train, validation] = volumes as [(typeof volumes)[number], (typeof volumes)[number]];
    labelEveryKth(train, 0);
    validationSlices = labelEveryKth(validation, 0);
    expect(await call(b).training.firstModel({ taskId: task.id })).toMatchObject({
      hasModel: false,
      labelledImages: 2 * (SLICES / K),
      series: 2,
      training: SLICES / K,
      validation: SLICES / K,
      ready: true,
    });
  });

  it.skipIf(skip)(
    skipTitle('first 3D model from sparse slices → promote → 3D inference → sparse fine-tune → gate → promote', skip),
    async () => {
      const [train] = volumes as [(typeof volumes)[number], (typeof volumes)[number]];
      expect(validationSlices).toHaveLength(SLICES / K);

      // The first model: 3D, trained on the labelled slices only, at the training series' spacing.
      const first = await b.training.waitFor(
        (await call(b).training.start({ taskId: task.id, init: 'scratch', maxSteps: 2 })).id,
      );
      expect(first.status, first.error ?? '').toBe('done');
      const parent = await version(first.candidateVersionId!);
      expect(parent.kind).toBe('3d');
      expect(parent.patch!.every((v) => v % 32 === 0)).toBe(true);
      expect(parent.spacing![0]).toBeCloseTo(train.phantom.meta.sliceSpacingMm, 3);
      const inPlane = volumes.map((v) => v.phantom.meta.pixelSpacingMm[0]);
      expect(parent.spacing![1]).toBeGreaterThanOrEqual(Math.min(...inPlane) - 1e-3);
      expect(parent.spacing![1]).toBeLessThanOrEqual(Math.max(...inPlane) + 1e-3);
      // Its gate reads each label's Dice on the frozen validation slices, and only those.
      expect(first.firstModelGate!.n).toBe(validationSlices.length);
      expect(first.firstModelGate!.cases.every((c) => validationSlices.includes(c.imageId))).toBe(true);
      await call(b).models.activate({ id: parent.id });

      // 3D inference of the whole training volume: one stored label map per slice, labelled or not.
      const predicted = await segment(train);
      for (const [z, p] of predicted.entries()) {
        expect(p, `slice ${z} has a stored prediction`).not.toBeNull();
        expect(p!.modelVersionId).toBe(parent.id);
        expect([p!.rows, p!.columns]).toEqual([SIZE, SIZE]);
        const map = decodeRle(p!.mask, SIZE * SIZE);
        expect([...new Set(map)].every((v) => v <= CT_LABELS.length)).toBe(true);
      }

      // The reader labels more slices (every K-th, offset by 2): a sparse-slice fine-tune of the 3D model.
      labelEveryKth(train, 2);
      expect((await call(b).training.queue({ taskId: task.id })).newTraining).toBeGreaterThanOrEqual(SLICES / K);
      const tuned = await b.training.waitFor((await call(b).training.start({ taskId: task.id, maxSteps: 2 })).id);
      expect(tuned.status, tuned.error ?? '').toBe('done');
      expect(tuned.parentVersionId).toBe(parent.id);
      const candidate = await version(tuned.candidateVersionId!);
      expect(candidate).toMatchObject({ kind: '3d', parent: parent.modelId, status: 'candidate' });
      expect(candidate.spacing).toEqual(parent.spacing); // a fine-tune keeps the parent's spacing
      // The gate: candidate and parent on the same frozen validation slices.
      expect(tuned.gate, tuned.gateError ?? '').not.toBeNull();
      expect(tuned.gate!.set).toBe('validation');
      expect(tuned.gate!.n).toBe(validationSlices.length);
      expect(tuned.gate!.cases.map((c) => c.imageId).sort()).toEqual([...validationSlices].sort());
      expect(tuned.gate!.cases.every((c) => Number.isFinite(c.candidateDice) && Number.isFinite(c.parentDice))).toBe(true);

      // Promote: the task's inference switches to the candidate without a restart.
      await call(b).models.activate({ id: candidate.id });
      expect((await version(candidate.id)).status).toBe('active');
      expect((await version(parent.id)).status).toBe('archived');
      const again = await segment(train);
      expect(again.every((p) => p?.modelVersionId === candidate.id)).toBe(true);
    },
    1_200_000,
  );
});
