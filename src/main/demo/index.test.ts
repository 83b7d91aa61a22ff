import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli, UsageError } from './cli';
import { readPng8 } from '../../../tests/helpers/png';
import { generatePhantom, readDicom, writeDemoStudies, writePngPairs } from './index';

let dir = '';
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'lgms-demo-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => path.relative(root, path.join(e.parentPath, e.name)))
    .sort();
}

describe('writePngPairs', () => {
  it('writes images, 0/255 masks and dataset.json that match the generator', async () => {
    const r = await writePngPairs(dir, { count: 3, seed: 8, domain: 'shifted', size: 128 });
    expect(await listFiles(dir)).toEqual(['dataset.json', ...r.items.map((i) => i.image), ...r.items.map((i) => i.mask)].sort());
    const json = JSON.parse(await readFile(path.join(dir, 'dataset.json'), 'utf8'));
    expect(json).toMatchObject({
      seed: 8,
      domain: 'shifted',
      width: 128,
      height: 128,
      count: 3,
      maskValues: { '255': 'lesion' },
    });
    expect(json.items).toHaveLength(3);
    for (const item of r.items) {
      const p = generatePhantom({ seed: 8, index: item.index, domain: 'shifted', width: 128, height: 128 });
      const image = readPng8(await readFile(path.join(dir, item.image)));
      const mask = readPng8(await readFile(path.join(dir, item.mask)));
      expect(Buffer.from(image.data).equals(Buffer.from(p.image))).toBe(true);
      expect(new Set(mask.data)).toEqual(new Set([0, 255]));
      expect(Buffer.from(mask.data.map((v) => v / 255)).equals(Buffer.from(p.mask))).toBe(true);
      expect(item.areaPx).toBe(p.meta.lesion.areaPx);
    }
  });
});

describe('writeDemoStudies', () => {
  it('writes one study with one series per patient and returns the files', async () => {
    const files = await writeDemoStudies(dir, { patients: 2, imagesPerSeries: 3, seed: 5, domain: 'base' });
    expect(files).toHaveLength(6);
    expect((await listFiles(dir)).map((f) => path.join(dir, f))).toEqual(files.map((f) => f.path).sort());
    const studies = new Set(files.map((f) => f.studyInstanceUid));
    const series = new Set(files.map((f) => f.seriesInstanceUid));
    expect([studies.size, series.size, new Set(files.map((f) => f.sopInstanceUid)).size]).toEqual([2, 2, 6]);
    for (const f of files) {
      const ds = readDicom(await readFile(f.path));
      expect(ds.PatientID).toBe(f.patientId);
      expect(ds.StudyInstanceUID).toBe(f.studyInstanceUid);
      expect(ds.SeriesInstanceUID).toBe(f.seriesInstanceUid);
      expect(ds.SOPInstanceUID).toBe(f.sopInstanceUid);
      expect(ds.InstanceNumber).toBe(f.instanceNumber);
      const pixels = new Uint8Array((ds.PixelData as ArrayBuffer[])[0] ?? new ArrayBuffer(0));
      expect(Buffer.from(pixels).equals(Buffer.from(generatePhantom({ seed: 5, index: f.index }).image))).toBe(true);
    }
    expect(files[0]?.patientName).toBe('DEMO^PHANTOM^0001');
  });

  it('keeps one organ per patient when anatomy is mixed', async () => {
    const files = await writeDemoStudies(dir, {
      patients: 6,
      imagesPerSeries: 2,
      seed: 1,
      domain: 'base',
      size: 64,
      anatomy: 'mixed',
    });
    const parts = new Map<string, Set<unknown>>();
    for (const f of files) {
      const ds = readDicom(await readFile(f.path));
      parts.set(f.seriesInstanceUid, (parts.get(f.seriesInstanceUid) ?? new Set()).add(ds.BodyPartExamined));
    }
    expect([...parts.values()].every((s) => s.size === 1)).toBe(true);
    expect(new Set([...parts.values()].flatMap((s) => [...s]))).toEqual(new Set(['BREAST', 'THYROID']));
  });

  it('is reproducible byte for byte', async () => {
    const a = await writeDemoStudies(path.join(dir, 'a'), { patients: 1, imagesPerSeries: 2, seed: 5, domain: 'shifted' });
    const b = await writeDemoStudies(path.join(dir, 'b'), { patients: 1, imagesPerSeries: 2, seed: 5, domain: 'shifted' });
    for (let i = 0; i < a.length; i++) {
      expect((await readFile(a[i]?.path ?? '')).equals(await readFile(b[i]?.path ?? ''))).toBe(true);
    }
  });
});

describe('cli', () => {
  it('writes pairs and DICOM and prints one line', async () => {
    const pairs = await runCli([
      'pairs',
      '--out',
      path.join(dir, 'p'),
      '--count',
      '2',
      '--seed',
      '1',
      '--domain',
      'base',
      '--size',
      '64',
    ]);
    expect(pairs).toMatch(/^wrote 2 base image\/mask pairs \(64×64, seed 1\)/);
    const dicom = await runCli([
      'dicom',
      '--out',
      path.join(dir, 'd'),
      '--patients',
      '1',
      '--images',
      '2',
      '--seed',
      '1',
      '--domain',
      'shifted',
    ]);
    expect(dicom).toMatch(/^wrote 2 shifted DICOM images in 1 studies/);
    expect(pairs.includes('\n') || dicom.includes('\n')).toBe(false);
  });

  it('explains bad arguments', async () => {
    await expect(runCli(['pairs', '--out', dir, '--count', '2', '--seed', '1', '--domain', 'other'])).rejects.toThrow(UsageError);
    await expect(runCli(['pairs', '--out', dir, '--count', 'x', '--seed', '1'])).rejects.toThrow(/integer/);
    await expect(runCli(['frobnicate'])).rejects.toThrow(/unknown command/);
  });
});
