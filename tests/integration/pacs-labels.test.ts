// Labels travel as SEG through the PACS (issue 26), between two workstations (two data folders,
// two backends) and a real Orthanc (tests/helpers/orthanc.ts). Workstation A labels a CT series
// in a task set to push: drawn and submitted through the services, the decision queues a SEG
// that reaches the PACS. Workstation B, with the same task, pulls the team's labels: the source
// series comes from the PACS, and the label maps, names, codes, author and frozen split are A's.
// A push while the PACS is down waits, failed with its reason, survives a restart of A's backend
// and goes out once the PACS is back; a SEG whose codes are not the task's is reported, not merged.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { DicomwebClient } from '../../src/main/dicomweb/client';
import { seriesByUid, seriesImages } from '../../src/main/export/queries';
import { labelMap } from '../../src/main/review/labels';
import { CODE_CATALOGUE } from '../../src/shared/model/codes';
import { encodeRle } from '../../src/shared/imaging/rle';
import { splitFor } from '../../src/shared/review/split';
import type { PacsPullReport, Task } from '../../src/shared/contract';
import { requireFixtures, sources } from '../fixtures';
import { orthancUnavailable, startOrthanc, type Orthanc } from '../helpers/orthanc';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const CT = path.join(sources.pydicom, 'test_files', 'dicomdirtests', '98892001', 'CT5N');
const files = (dir: string) => readdirSync(dir).map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
const code = (meaning: string) => CODE_CATALOGUE.find((e) => e.type.meaning === meaning)!;
const ABDOMEN = { modalities: ['CT'], photometric: ['MONOCHROME2' as const], bodyPart: 'abdomen' };

const unavailable = orthancUnavailable() ?? '';

describe.skipIf(unavailable)(skipTitle('labels through the PACS between two workstations', unavailable), () => {
  const tmp = tempDir('lgms-pacs-labels-');
  let orthanc: Orthanc;
  let a: Backend;
  let b: Backend;
  const endpoint = { a: 0, b: 0 };
  const task = { a: 0, b: 0 };
  let seriesUid = '';

  const open = (name: 'a' | 'b') => createBackend({ dataDir: path.join(tmp.dir, name), transport: 'http', inference: false });
  const sameTask = (backend: Backend, labels = ['Liver', 'Spleen']): Promise<Task> =>
    backend.services.tasks.create({
      name: `Abdomen ${labels.join(' ')}`,
      domain: ABDOMEN,
      labels: labels.map((l) => ({ name: l, ...code(l) })),
    });
  /** Draws `maps` as the reader would (a saved draft of the task) and submits it. */
  async function drawAndSubmit(backend: Backend, taskId: number, seriesId: number, maps: Uint8Array[]) {
    const images = seriesImages(backend.db, seriesId);
    const current = await backend.services.viewer.draft({ seriesId, taskId });
    await backend.services.viewer.saveDraft({
      seriesId,
      taskId,
      baseRevision: current?.revision ?? 0,
      slices: images.map((im, i) => ({ imageId: im.id, labels: encodeRle(maps[i]!) })),
      history: null,
    });
    return backend.services.review.submit({ seriesId, taskId });
  }
  /** Each image's current label map of the task, keyed by SOP Instance UID. */
  const mapsBySop = (backend: Backend, taskId: number) => {
    const series = seriesByUid(backend.db, seriesUid)!;
    return new Map(seriesImages(backend.db, series.id).map((im) => [im.sopInstanceUid!, labelMap(backend.db, im.id, taskId)]));
  };
  const drawing = (rows: number, columns: number, shift: number) =>
    Uint8Array.from({ length: rows * columns }, (_, p) => ((p + shift) % 5 === 0 ? 1 : (p + shift) % 7 === 0 ? 2 : 0));

  beforeAll(async () => {
    requireFixtures();
    orthanc = await startOrthanc(path.join(tmp.dir, 'orthanc'));
    // The department's PACS holds the study; workstation A also has it from a CD.
    await new DicomwebClient({ url: orthanc.dicomweb, auth: { kind: 'none' } }).store(files(CT));
    a = open('a');
    b = open('b');
    await a.services.settings.update({ userName: 'Dr Alpha' });
    await b.services.settings.update({ userName: 'Dr Beta' });
    for (const [name, backend] of [['a', a] as const, ['b', b] as const]) {
      endpoint[name] = (
        await backend.services.dicomweb.saveEndpoint({ name: 'PACS', url: orthanc.dicomweb, authKind: 'none' })
      ).id;
      task[name] = (await sameTask(backend)).id;
    }
    const imported = await a.services.import.start({ paths: [CT] });
    expect((await a.importer.wait(imported.jobId)).status).toBe('done');
    seriesUid = (a.db.prepare("SELECT series_uid FROM series WHERE modality = 'CT'").pluck().get() as string) ?? '';
  }, 120_000);
  afterAll(async () => {
    a?.close();
    b?.close();
    await orthanc?.stop();
    tmp.cleanup();
  });

  it("A's submitted labels go to the PACS as a SEG; B pulls them: same label maps, names, codes, author and split", async () => {
    const pushed = await a.services.dicomweb.setTaskPush({ taskId: task.a, endpointId: endpoint.a });
    expect(pushed).toEqual({ taskId: task.a, endpointId: endpoint.a });
    expect((await a.services.tasks.get({ id: task.a })).pacsPushEndpointId).toBe(endpoint.a);
    const series = seriesByUid(a.db, seriesUid)!;
    const images = seriesImages(a.db, series.id);
    const decision = await drawAndSubmit(
      a,
      task.a,
      series.id,
      images.map((im) => drawing(im.rows, im.columns, 0)),
    );
    expect(decision.labels.map((l) => [l.origin, l.author])).toEqual(images.map(() => ['drawn', 'Dr Alpha']));
    await a.dicomweb.pushQueue.drain();
    const [push] = await a.services.dicomweb.pushes({ taskId: task.a });
    expect(push).toMatchObject({ seriesId: series.id, state: 'sent', attempts: 1, lastError: null });
    // On the PACS: a SEG in the source's study.
    const onPacs = await a.services.dicomweb.searchSeries({ endpointId: endpoint.a, studyUid: series.studyUid });
    expect(onPacs.filter((s) => s.modality === 'SEG')).toHaveLength(1);

    // Workstation B has never seen the series: the pull retrieves it with the SEG.
    expect(seriesByUid(b.db, seriesUid)).toBeUndefined();
    const report = await b.services.dicomweb.pullTaskLabels({ taskId: task.b, endpointId: endpoint.b });
    expect(report).toMatchObject({ found: 1, alreadyHere: 0, notOfTask: [], refused: [], seriesRetrieved: 1 });
    expect(report.imported).toHaveLength(1);
    expect(report.imported[0]).toMatchObject({ sopInstanceUid: push!.sopInstanceUid, author: 'Dr Alpha', imagesLabelled: 5 });
    expect(report.imported[0]!.message).toContain('segments 1 "Liver" → Liver, 2 "Spleen" → Spleen');

    const aMaps = mapsBySop(a, task.a);
    const bMaps = mapsBySop(b, task.b);
    expect([...bMaps.keys()].sort()).toEqual([...aMaps.keys()].sort());
    for (const [sop, map] of aMaps) expect(Buffer.from(bMaps.get(sop)!).equals(Buffer.from(map!)), sop).toBe(true);
    // Same names and codes behind the values on both desks.
    const labelsOf = async (backend: Backend, id: number) =>
      (await backend.services.tasks.get({ id })).labels.map((l) => [l.value, l.name, l.category, l.type]);
    expect(await labelsOf(b, task.b)).toEqual(await labelsOf(a, task.a));
    const bSeries = seriesByUid(b.db, seriesUid)!;
    const aLabels = await a.services.review.labels({ seriesId: series.id, taskId: task.a });
    const bLabels = await b.services.review.labels({ seriesId: bSeries.id, taskId: task.b });
    expect(new Set(bLabels.labels.map((l) => `${l.origin} by ${l.author}`))).toEqual(new Set(['imported by Dr Alpha']));
    // The frozen split: the same key and the same side on both workstations, by the same hash.
    expect(bLabels.splitKey).toBe(aLabels.splitKey);
    expect(bLabels.split).toBe(aLabels.split);
    expect(aLabels.split).toBe(splitFor(aLabels.splitKey));

    // Pulled again: nothing new. A's own pull skips the SEG it sent.
    const again = await b.services.dicomweb.pullTaskLabels({ taskId: task.b, endpointId: endpoint.b });
    expect(again).toMatchObject({ found: 1, alreadyHere: 1, imported: [], refused: [] });
    const own = await a.services.dicomweb.pullTaskLabels({ taskId: task.a, endpointId: endpoint.a });
    expect(own).toMatchObject({ found: 1, alreadyHere: 1, imported: [] });
  }, 120_000);

  it('a push while the PACS is down fails with its reason, survives a restart and goes out by itself once the PACS is back', async () => {
    orthanc.killServer();
    const series = seriesByUid(a.db, seriesUid)!;
    const images = seriesImages(a.db, series.id);
    const edited = images.map((im) => drawing(im.rows, im.columns, 3));
    await drawAndSubmit(a, task.a, series.id, edited);
    await a.dicomweb.pushQueue.drain();
    const [failed] = await a.services.dicomweb.pushes({ taskId: task.a });
    expect(failed).toMatchObject({ state: 'failed', attempts: 1 });
    expect(failed!.lastError).toMatch(/PACS at 127\.0\.0\.1:\d+/);
    expect(Date.parse(failed!.nextAttemptAt!)).toBeGreaterThan(Date.now());

    // The workstation restarts while the PACS is still down: the push is still there, waiting.
    a.close();
    a = open('a');
    expect((await a.services.dicomweb.pushes({ taskId: task.a }))[0]).toMatchObject({ id: failed!.id, state: 'failed' });

    // The PACS comes back; the backoff runs out: the queue sends it by itself, without being asked.
    await orthanc.restartServer();
    a.db
      .prepare('UPDATE pacs_pushes SET next_attempt_at = ? WHERE id = ?')
      .run(new Date(Date.now() + 1000).toISOString(), failed!.id);
    a.close();
    a = open('a');
    await expect
      .poll(async () => (await a.services.dicomweb.pushes({ taskId: task.a }))[0], { timeout: 15_000, interval: 250 })
      .toMatchObject({ id: failed!.id, state: 'sent', attempts: 2, lastError: null });
    expect(await a.services.dicomweb.retryPushes({ taskId: task.a })).toEqual({ tried: 0 });

    // B pulls the newer SEG: it replaces the labels B took from the older one.
    const report = await b.services.dicomweb.pullTaskLabels({ taskId: task.b, endpointId: endpoint.b });
    expect(report).toMatchObject({ found: 2, alreadyHere: 1, refused: [], seriesRetrieved: 0 });
    expect(report.imported.map((i) => i.sopInstanceUid)).toEqual([failed!.sopInstanceUid]);
    const bMaps = mapsBySop(b, task.b);
    images.forEach((im, i) =>
      expect(Buffer.from(bMaps.get(im.sopInstanceUid!)!).equals(Buffer.from(edited[i]!)), `image ${i + 1}`).toBe(true),
    );
  }, 120_000);

  it("reports a SEG whose codes are not the task's labels instead of merging it", async () => {
    // A task of other structures: both SEGs on the PACS are someone else's.
    const heart = await sameTask(b, ['Heart']);
    const other = await b.services.dicomweb.pullTaskLabels({ taskId: heart.id, endpointId: endpoint.b });
    expect(other).toMatchObject({ found: 2, imported: [], refused: [] });
    expect(other.notOfTask).toHaveLength(2);
    expect(other.notOfTask[0]!.message).toMatch(/none of its segments is a label of task Abdomen Heart/);
    expect(other.notOfTask[0]!.segments).toEqual([
      expect.stringMatching(/^Liver — Liver \(SCT \d+\)$/),
      expect.stringMatching(/^Spleen — Spleen \(SCT \d+\)$/),
    ]);
    // Pulled again: those two are not downloaded again, until the task's codes change.
    expect(await b.services.dicomweb.pullTaskLabels({ taskId: heart.id, endpointId: endpoint.b })).toMatchObject({
      found: 2,
      notOfTask: [],
      otherTasksSeenBefore: 2,
    });
    await b.services.tasks.addLabel({ id: heart.id, label: { name: 'Kidney', ...code('Kidney') } });
    expect(await b.services.dicomweb.pullTaskLabels({ taskId: heart.id, endpointId: endpoint.b })).toMatchObject({
      notOfTask: [{}, {}],
      otherTasksSeenBefore: 0,
    });
    // A task with one of the two codes: the other segment needs the reader, so nothing is taken.
    // A second pull of the task while one runs is refused, not run twice.
    const liver = await sameTask(b, ['Liver']);
    const [first, second] = await Promise.allSettled([
      b.services.dicomweb.pullTaskLabels({ taskId: liver.id, endpointId: endpoint.b }),
      b.services.dicomweb.pullTaskLabels({ taskId: liver.id, endpointId: endpoint.b }),
    ]);
    expect(second).toMatchObject({
      status: 'rejected',
      reason: { code: 'conflict', message: expect.stringMatching(/being pulled already/) },
    });
    expect(first.status).toBe('fulfilled');
    const partly = (first as PromiseFulfilledResult<PacsPullReport>).value;
    expect(partly).toMatchObject({ found: 2, imported: [], notOfTask: [] });
    expect(partly.refused).toHaveLength(2);
    expect(partly.refused[0]!.message).toMatch(
      /segment 2 "Spleen": its code Spleen \(SCT \d+\) and its name "Spleen" are not labels/,
    );
    const bSeries = seriesByUid(b.db, seriesUid)!;
    for (const id of [heart.id, liver.id])
      expect(b.db.prepare('SELECT count(*) FROM labels WHERE series_id = ? AND task_id = ?').pluck().get(bSeries.id, id)).toBe(0);
  }, 60_000);
});
