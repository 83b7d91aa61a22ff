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
import type { JobOf, PacsPullReport, Task } from '../../src/shared/contract';
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

  const open = (name: 'a' | 'b' | 'c' | 'd') =>
    createBackend({ dataDir: path.join(tmp.dir, name), transport: 'http', inference: false });
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
  /** Pulls the team's labels of the task as a job, waits for it and returns its report (the job must end done). */
  async function pull(backend: Backend, taskId: number, endpointId: number): Promise<PacsPullReport> {
    const { jobId } = await backend.services.dicomweb.pullTaskLabels({ taskId, endpointId });
    const job = await backend.dicomweb.wait(jobId);
    expect(job, job.error ?? '').toMatchObject({ kind: 'pull', status: 'done', error: null });
    return (job as JobOf<'pull'>).result!;
  }
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
    const report = await pull(b, task.b, endpoint.b);
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
    const again = await pull(b, task.b, endpoint.b);
    expect(again).toMatchObject({ found: 1, alreadyHere: 1, imported: [], refused: [] });
    const own = await pull(a, task.a, endpoint.a);
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
    const report = await pull(b, task.b, endpoint.b);
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
    const other = await pull(b, heart.id, endpoint.b);
    expect(other).toMatchObject({ found: 2, imported: [], refused: [] });
    expect(other.notOfTask).toHaveLength(2);
    expect(other.notOfTask[0]!.message).toMatch(/none of its segments is a label of task Abdomen Heart/);
    expect(other.notOfTask[0]!.segments).toEqual([
      expect.stringMatching(/^Liver — Liver \(SCT \d+\)$/),
      expect.stringMatching(/^Spleen — Spleen \(SCT \d+\)$/),
    ]);
    // Pulled again: those two are not downloaded again, until the task's codes change.
    expect(await pull(b, heart.id, endpoint.b)).toMatchObject({
      found: 2,
      notOfTask: [],
      otherTasksSeenBefore: 2,
    });
    await b.services.tasks.addLabel({ id: heart.id, label: { name: 'Kidney', ...code('Kidney') } });
    expect(await pull(b, heart.id, endpoint.b)).toMatchObject({
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
    const firstJob = await b.dicomweb.wait((first as PromiseFulfilledResult<{ jobId: number }>).value.jobId);
    expect(firstJob.status).toBe('done');
    const partly = (firstJob as JobOf<'pull'>).result!;
    expect(partly).toMatchObject({ found: 2, imported: [], notOfTask: [] });
    expect(partly.refused).toHaveLength(2);
    expect(partly.refused[0]!.message).toMatch(
      /segment 2 "Spleen": its code Spleen \(SCT \d+\) and its name "Spleen" are not labels/,
    );
    const bSeries = seriesByUid(b.db, seriesUid)!;
    for (const id of [heart.id, liver.id])
      expect(b.db.prepare('SELECT count(*) FROM labels WHERE series_id = ? AND task_id = ?').pluck().get(bSeries.id, id)).toBe(0);
  }, 60_000);

  /** A third workstation with the same task, that has never seen the series; every pull job's progress in words. */
  async function newcomer(name: 'c' | 'd') {
    const backend = open(name);
    const ep = (await backend.services.dicomweb.saveEndpoint({ name: 'PACS', url: orthanc.dicomweb, authKind: 'none' })).id;
    const taskId = (await sameTask(backend)).id;
    const progress: string[] = [];
    backend.events.on('onDidChangeJob', (job) => {
      if (job.kind !== 'pull' || !job.progress) return;
      const line = `${job.progress.step} ${job.progress.done}/${job.progress.total}: ${job.progress.phase}`;
      if (progress.at(-1) !== line) progress.push(line);
    });
    return { backend, ep, taskId, progress };
  }

  it("a pull cancelled after the first SEG keeps exactly that SEG's labels and names the SEG it did not get to", async () => {
    // The PACS holds A's two SEGs of the series, the older first (the previous tests).
    const [newer, older] = (await a.services.dicomweb.pushes({ taskId: task.a })).map((p) => p.sopInstanceUid);
    const { backend: c, ep, taskId, progress } = await newcomer('c');
    c.events.on('onDidChangeJob', (job) => {
      // The reader presses Cancel once the first SEG is taken.
      if (job.kind === 'pull' && job.status === 'running' && job.progress?.step === 'taking' && job.progress.done === 1)
        void c.services.jobs.cancel({ id: job.id });
    });
    try {
      const { jobId } = await c.services.dicomweb.pullTaskLabels({ taskId, endpointId: ep });
      const job = (await c.dicomweb.wait(jobId)) as JobOf<'pull'>;
      expect(job).toMatchObject({ status: 'cancelled', params: { taskId, endpointId: ep }, error: null });
      expect(job.title).toBe("Pull the team's labels of task Abdomen Liver Spleen from PACS");
      expect(progress).toEqual([
        'looking 0/2: Looking at SEG 1 of 2 on the PACS',
        'looking 1/2: Looking at SEG 2 of 2 on the PACS',
        'looking 2/2: Looked at the 2 SEGs on the PACS',
        'taking 0/2: Taking the labels of SEG 1 of 2 of this task (by Dr Alpha)',
        'taking 1/2: Taking the labels of SEG 2 of 2 of this task (by Dr Alpha)',
      ]);
      const report = job.result!;
      expect(report).toMatchObject({ found: 2, alreadyHere: 0, refused: [], notOfTask: [], seriesRetrieved: 1 });
      expect(report.imported.map((i) => i.sopInstanceUid)).toEqual([older]);
      expect(report.notLookedAt).toEqual([{ sopInstanceUid: newer, studyInstanceUid: seriesByUid(a.db, seriesUid)!.studyUid }]);
      // Exactly the older SEG's label maps, whole: every image, nothing of the newer one.
      const aImages = seriesImages(a.db, seriesByUid(a.db, seriesUid)!.id);
      const cMaps = mapsBySop(c, taskId);
      expect(cMaps.size).toBe(aImages.length);
      for (const im of aImages)
        expect(
          Buffer.from(cMaps.get(im.sopInstanceUid!)!).equals(Buffer.from(drawing(im.rows, im.columns, 0))),
          im.sopInstanceUid!,
        ).toBe(true);
      expect(
        c.db.prepare("SELECT sop_instance_uid FROM pacs_pulls WHERE task_id = ? AND outcome = 'imported'").pluck().all(taskId),
      ).toEqual([older]);

      // Pulled again: the SEG it did not get to is taken now.
      const rest = await pull(c, taskId, ep);
      expect(rest).toMatchObject({ found: 2, alreadyHere: 1, seriesRetrieved: 0, notLookedAt: [] });
      expect(rest.imported.map((i) => i.sopInstanceUid)).toEqual([newer]);
      const after = mapsBySop(c, taskId);
      for (const im of aImages)
        expect(
          Buffer.from(after.get(im.sopInstanceUid!)!).equals(Buffer.from(drawing(im.rows, im.columns, 3))),
          im.sopInstanceUid!,
        ).toBe(true);
    } finally {
      c.close();
    }
  }, 120_000);

  it('a pull cancelled while the PACS is still listing its SEGs ends cancelled, having looked at none', async () => {
    const pulledBefore = b.db.prepare('SELECT count(*) FROM pacs_pulls').pluck().get();
    const { jobId } = await b.services.dicomweb.pullTaskLabels({ taskId: task.b, endpointId: endpoint.b });
    await b.services.jobs.cancel({ id: jobId });
    expect(await b.dicomweb.wait(jobId)).toMatchObject({ status: 'cancelled', error: null, result: null });
    expect(b.db.prepare('SELECT count(*) FROM pacs_pulls').pluck().get()).toBe(pulledBefore);
  });

  it('a pull whose PACS goes away midway ends failed, in words, with nothing half taken; the job stays failed after a restart', async () => {
    const { backend, ep, taskId, progress } = await newcomer('d');
    let d = backend;
    // The PACS stops answering once the first of the two SEGs has been read.
    const off = d.events.on('onDidChangeJob', (job) => {
      if (job.kind === 'pull' && job.progress?.step === 'looking' && job.progress.done === 1) orthanc.killServer();
    });
    try {
      const { jobId } = await d.services.dicomweb.pullTaskLabels({ taskId, endpointId: ep });
      const job = (await d.dicomweb.wait(jobId)) as JobOf<'pull'>;
      expect(job.status).toBe('failed');
      expect(job.error).toMatch(
        /^The pull stopped: .*PACS at 127\.0\.0\.1:\d+.* — nothing was taken; 2 SEGs not looked at: pull again to take them once the PACS answers\.$/,
      );
      expect(progress.at(-1)).toBe('looking 1/2: Looking at SEG 2 of 2 on the PACS');
      expect(job.result).toMatchObject({ found: 2, imported: [], refused: [], seriesRetrieved: 0 });
      expect(job.result!.notLookedAt).toHaveLength(2);
      expect(d.db.prepare('SELECT count(*) FROM labels WHERE task_id = ?').pluck().get(taskId)).toBe(0);
      expect(d.db.prepare('SELECT count(*) FROM pacs_pulls WHERE task_id = ?').pluck().get(taskId)).toBe(0);
      // The task is free to be pulled again; while the PACS is away that fails at once, in words.
      const again = await d.services.dicomweb.pullTaskLabels({ taskId, endpointId: ep });
      expect(await d.dicomweb.wait(again.jobId)).toMatchObject({
        status: 'failed',
        error: expect.stringMatching(/^The team's labels could not be pulled: .*PACS at 127\.0\.0\.1:\d+/),
        result: null,
      });
      off();
      d.close();
      d = open('d');
      expect(await d.services.jobs.get({ id: jobId })).toMatchObject({ status: 'failed', error: job.error });
    } finally {
      off();
      d.close();
      // Up again for what follows, whether or not the pull got as far as stopping it.
      orthanc.killServer();
      await orthanc.restartServer();
    }
  }, 120_000);
});
