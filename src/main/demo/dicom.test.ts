import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { demoUid, phantomToDicom, readDicom, US_IMAGE_STORAGE, type DicomIds } from './dicom';
import { generatePhantom } from './phantom';
import { skipTitle } from '../../../tests/helpers/skip';

const ids: DicomIds = {
  patientName: 'DEMO^PHANTOM^0001',
  patientId: 'DEMO-1-0001',
  studyInstanceUid: demoUid('test', 'study'),
  seriesInstanceUid: demoUid('test', 'series'),
  sopInstanceUid: demoUid('test', 'image'),
  studyDate: '20240312',
  studyTime: '101500',
  contentTime: '101521',
  accessionNumber: 'DEMO000010001',
  studyId: '1',
  studyDescription: 'Demo breast US',
  seriesDescription: 'Demo breast US (base domain)',
  seriesNumber: 1,
  instanceNumber: 7,
  laterality: 'L',
};

const tmp = mkdtempSync(path.join(tmpdir(), 'lgms-dicom-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

/** First value of a natural dcmjs attribute. */
const first = (v: unknown): unknown => (Array.isArray(v) ? v[0] : v);

const has = (bin: string): boolean => spawnSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' }).status === 0;

describe('demoUid', () => {
  it('gives valid, deterministic, distinct 2.25 UIDs', () => {
    const a = demoUid(1, 'base', 'study', 0);
    expect(a).toBe(demoUid(1, 'base', 'study', 0));
    expect(a).not.toBe(demoUid(1, 'shifted', 'study', 0));
    for (let i = 0; i < 200; i++) {
      const uid = demoUid('x', i);
      expect(uid).toMatch(/^2\.25\.(0|[1-9][0-9]*)$/);
      expect(uid.length).toBeLessThanOrEqual(64);
    }
  });
});

describe('phantomToDicom', () => {
  for (const domain of ['base', 'shifted'] as const) {
    it(`writes a ${domain}-domain image that dcmjs reads back with the same tags and pixels`, () => {
      const p = generatePhantom({ seed: 11, index: 2, domain });
      const bytes = phantomToDicom(p, ids);
      expect(String.fromCharCode(...bytes.subarray(128, 132))).toBe('DICM');
      const ds = readDicom(bytes);
      const meta = ds._meta as Record<string, { Value: unknown[] }>;
      expect(meta.TransferSyntaxUID?.Value[0]).toBe('1.2.840.10008.1.2.1');
      expect(meta.MediaStorageSOPClassUID?.Value[0]).toBe(US_IMAGE_STORAGE);
      expect(meta.MediaStorageSOPInstanceUID?.Value[0]).toBe(ids.sopInstanceUid);
      expect(ds.SOPClassUID).toBe(US_IMAGE_STORAGE);
      expect(ds.SOPInstanceUID).toBe(ids.sopInstanceUid);
      expect(ds.StudyInstanceUID).toBe(ids.studyInstanceUid);
      expect(ds.SeriesInstanceUID).toBe(ids.seriesInstanceUid);
      expect(ds.Modality).toBe('US');
      expect(ds.Manufacturer).toBe('LGMS Demo Phantom');
      expect(first(ds.PatientName)).toEqual({ Alphabetic: 'DEMO^PHANTOM^0001' });
      expect(ds.PatientID).toBe('DEMO-1-0001');
      expect(ds.StudyDate).toBe('20240312');
      expect(ds.SeriesDescription).toBe('Demo breast US (base domain)');
      expect(ds.InstanceNumber).toBe(7);
      expect([ds.Rows, ds.Columns]).toEqual([p.height, p.width]);
      expect([ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation, ds.SamplesPerPixel]).toEqual([8, 8, 7, 0, 1]);
      expect(ds.PhotometricInterpretation).toBe('MONOCHROME2');
      const spacing = ds.PixelSpacing as number[];
      expect(spacing[0]).toBeCloseTo(p.meta.pixelSpacingMm[0], 5);
      expect(spacing[1]).toBeCloseTo(p.meta.pixelSpacingMm[1], 5);
      const region = first(ds.SequenceOfUltrasoundRegions) as Record<string, unknown>;
      expect(region.PhysicalDeltaX).toBeCloseTo(p.meta.pixelSpacingMm[1] / 10, 9);
      const pixels = new Uint8Array(first(ds.PixelData) as ArrayBuffer);
      expect(pixels.length).toBe(p.width * p.height);
      expect(Buffer.from(pixels).equals(Buffer.from(p.image))).toBe(true);
    });
  }

  it('writes the same bytes for the same input', () => {
    const p = generatePhantom({ seed: 11, index: 2 });
    expect(Buffer.from(phantomToDicom(p, ids)).equals(Buffer.from(phantomToDicom(p, ids)))).toBe(true);
  });

  const noDcmtk = has('dcmdump') && has('dcm2pnm') ? '' : 'dcmtk is not installed (apt-get install dcmtk)';
  it.skipIf(noDcmtk)(skipTitle('is read by dcmtk: same tags, same pixels', noDcmtk), () => {
    const p = generatePhantom({ seed: 12, index: 0, domain: 'shifted' });
    const file = path.join(tmp, 'dcmtk.dcm');
    writeFileSync(file, phantomToDicom(p, ids));
    const dump = spawnSync('dcmdump', [file], { encoding: 'utf8' });
    expect(dump.status).toBe(0);
    expect(dump.stdout).toContain('=UltrasoundImageStorage');
    expect(dump.stdout).toContain('[DEMO^PHANTOM^0001]');
    expect(dump.stdout).toContain('=LittleEndianExplicit');
    // dcm2pnm renders the stored pixels through dcmtk's own decoder; no VOI window is applied
    // unless asked, so an 8-bit MONOCHROME2 image comes out unchanged.
    const pgm = path.join(tmp, 'dcmtk.pgm');
    const r = spawnSync('dcm2pnm', ['--write-raw-pnm', '--no-windowing', file, pgm], { encoding: 'utf8' });
    expect(r.status).toBe(0);
    const bytes = readFileSync(pgm);
    const header = `P5\n${p.width} ${p.height}\n255\n`;
    expect(bytes.subarray(0, header.length).toString('latin1')).toBe(header);
    expect(bytes.subarray(header.length).equals(Buffer.from(p.image))).toBe(true);
  });

  const noDciodvfy = has('dciodvfy') ? '' : 'dciodvfy is not installed (apt-get install dicom3tools)';
  it.skipIf(noDciodvfy)(skipTitle('passes dciodvfy without errors', noDciodvfy), () => {
    for (const [domain, anatomy] of [
      ['base', 'breast'],
      ['shifted', 'breast'],
      ['base', 'thyroid'],
    ] as const) {
      const file = path.join(tmp, `${domain}-${anatomy}.dcm`);
      writeFileSync(file, phantomToDicom(generatePhantom({ seed: 13, index: 1, domain, anatomy }), ids));
      const r = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
      const report = `${r.stdout}\n${r.stderr}`;
      const errors = report.split('\n').filter((l) => /^Error/.test(l));
      expect(errors).toEqual([]);
      // The only expected warning: Pixel Spacing is not part of the US Image IOD (the workstation
      // reads it as a fallback to the ultrasound region calibration, which is also written).
      const warnings = report.split('\n').filter((l) => /^Warning/.test(l) && !/Pixel Spacing|Standard Extended/.test(l));
      expect(warnings).toEqual([]);
    }
  });
});
