// The frozen split is patient-level and stable: the same labels submitted in any order, with the
// backend restarted between decisions, give the same training/validation split; a split once
// stored never moves; both studies of a patient land on the same side.
import { cpSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies } from '../../src/main/demo';
import { decodeRle, encodeRle } from '../../src/shared/imaging/rle';
import { splitFor } from '../../src/shared/review/split';
import { ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { missingPath, skipTitle } from '../helpers/skip';

const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.json');
const PATIENTS = 6;

type SplitRow = { split_key: string; split: string };

describe.skipIf(missingPath(STARTER))(
  skipTitle('frozen patient-level split (real model predictions of demo studies)', missingPath(STARTER)),
  () => {
    const tmp = tempDir();
    const seed = path.join(tmp.dir, 'seed');
    let series: { id: number; patientId: string }[] = [];

    beforeAll(async () => {
      const b = createBackend({ dataDir: seed, transport: 'http' });
      await b.ready;
      // Every patient has two studies (two scanners), one image each.
      for (const domain of ['base', 'shifted'] as const) {
        await writeDemoStudies(path.join(tmp.dir, 'demo', domain), {
          patients: PATIENTS,
          imagesPerSeries: 1,
          seed: 4101,
          domain,
        });
      }
      const started = await b.services.import.start({ paths: [path.join(tmp.dir, 'demo')] });
      expect((await b.importer.wait(started.jobId)).status).toBe('done');
      for (const job of await b.services.jobs.list({ kind: 'inference' })) expect(await b.engine.waitForJob(job.id)).toBe('done');
      series = b.db
        .prepare(
          'SELECT se.id, p.patient_id AS patientId FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id ORDER BY se.id',
        )
        .all() as { id: number; patientId: string }[];
      // The inference worker holds its own connection: stop it before the folder is copied.
      await b.engine.close();
      b.close();
    }, 180_000);
    afterAll(() => tmp.cleanup());

    /** Decides every series in `order` (alternately accept and edit-submit) on a copy of the seed data, restarting every two decisions. */
    async function labelInOrder(name: string, order: number[], before?: (b: Backend) => void): Promise<SplitRow[]> {
      const dir = path.join(tmp.dir, name);
      cpSync(seed, dir, { recursive: true });
      const open = () => createBackend({ dataDir: dir, transport: 'http', inference: false });
      let b = open();
      before?.(b);
      for (const [n, seriesId] of order.entries()) {
        if (n % 2 === 0) {
          await b.services.review.accept({ seriesId });
        } else {
          const imageId = b.db.prepare('SELECT id FROM images WHERE series_id = ?').pluck().get(seriesId) as number;
          // The engine is not started here: name the version the item reviews.
          const modelVersionId = (await b.services.review.item({ seriesId })).modelVersionId!;
          const p = (await b.services.inference.prediction({ imageId, modelVersionId }))!;
          const map = decodeRle(p.mask, p.rows * p.columns);
          map[0] = 1;
          await b.services.viewer.saveDraft({
            seriesId,
            baseRevision: 0,
            slices: [{ imageId, labels: encodeRle(map) }],
            history: null,
          });
          await b.services.review.submit({ seriesId });
        }
        if (n % 2 === 1) {
          b.close();
          b = open();
        }
      }
      const rows = b.db.prepare('SELECT split_key, split FROM splits ORDER BY split_key').all() as SplitRow[];
      // No patient's images on both sides: every current label's patient has exactly one split.
      const sides = b.db
        .prepare(
          `SELECT p.patient_id AS patientId, count(DISTINCT sp.split) AS sides FROM labels l JOIN series se ON se.id = l.series_id
         JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id
         JOIN splits sp ON sp.split_key = 'patient:' || p.patient_key WHERE l.superseded_at IS NULL GROUP BY p.id`,
        )
        .all() as { patientId: string; sides: number }[];
      expect(sides).toHaveLength(new Set(order.map((id) => series.find((x) => x.id === id)!.patientId)).size);
      for (const s of sides) expect(s.sides).toBe(1);
      b.close();
      return rows;
    }

    it('gives the same split in any submission order, across restarts', async () => {
      expect(series).toHaveLength(2 * PATIENTS);
      const ids = series.map((s) => s.id);
      const forward = await labelInOrder('forward', ids);
      const backward = await labelInOrder('backward', [...ids].reverse());
      // A fixed shuffle: every other series, then the rest.
      const shuffled = await labelInOrder('shuffled', [
        ...ids.filter((_, i) => i % 2 === 1),
        ...ids.filter((_, i) => i % 2 === 0),
      ]);
      expect(forward).toHaveLength(PATIENTS);
      expect(backward).toEqual(forward);
      expect(shuffled).toEqual(forward);
      for (const row of forward) {
        expect(row.split_key).toMatch(/^patient:/);
        expect(row.split).toBe(splitFor(row.split_key));
      }
    }, 120_000);

    it('never moves a split once stored, even where the rule would now say otherwise', async () => {
      const key = await (async () => {
        const b = createBackend({ dataDir: seed, transport: 'http', inference: false });
        const k = (await b.services.review.labels({ seriesId: series[0]!.id })).splitKey;
        b.close();
        return k;
      })();
      const opposite = splitFor(key) === 'training' ? 'validation' : 'training';
      const rows = await labelInOrder('frozen', [series[0]!.id], (b) =>
        b.db.prepare('INSERT INTO splits (split_key, split) VALUES (?, ?)').run(key, opposite),
      );
      expect(rows).toContainEqual({ split_key: key, split: opposite });
    }, 60_000);
  },
);
