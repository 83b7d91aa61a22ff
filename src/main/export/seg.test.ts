/* eslint-disable @typescript-eslint/no-explicit-any -- dcmjs naturalized data sets are untyped; the test reads them by keyword. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { unpackFrames } from './bits';
import { newUid } from './write-part10';
import { buildSeg, dicomLab, type SegSource } from './seg';
import { readSeg } from './seg-read';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: { readFile(b: ArrayBuffer): { dict: object } };
    DicomMetaDictionary: { naturalizeDataset(d: object): Record<string, any> };
  };
};

function parse(bytes: Uint8Array): Record<string, any> {
  return dcmjs.data.DicomMetaDictionary.naturalizeDataset(dcmjs.data.DicomMessage.readFile(bytes.slice().buffer).dict);
}

// A 3 × 5 two-slice volume: 15 pixels per frame, so no frame after the first starts on a byte.
const source: SegSource = {
  patientStudy: { PatientName: 'TEST^SEG', PatientID: 'P1', StudyInstanceUID: '2.25.1' },
  seriesInstanceUid: '2.25.2',
  frameOfReferenceUid: '2.25.3',
  rows: 3,
  columns: 5,
  orientation: [1, 0, 0, 0, 1, 0],
  pixelSpacing: [0.5, 0.5],
  sliceThickness: 2,
  images: [
    { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '2.25.10', frameNumber: null, position: [0, 0, 0] },
    { sopClassUid: '1.2.840.10008.5.1.4.1.1.2', sopInstanceUid: '2.25.11', frameNumber: null, position: [0, 0, 2] },
  ],
};
const options = () => ({
  sopInstanceUid: newUid(),
  seriesInstanceUid: newUid(),
  seriesNumber: 1,
  seriesDescription: 'test',
  contentCreatorName: 'A',
  softwareVersion: '1',
  at: new Date(0),
});
const segments = [
  { number: 1, label: 'lesion', algorithmType: 'AUTOMATIC' as const, algorithm: { name: 'LGMSNet', version: 'starter 1.0.0' } },
  { number: 2, label: 'cyst', algorithmType: 'AUTOMATIC' as const, algorithm: { name: 'LGMSNet', version: 'starter 1.0.0' } },
  // Named by the model but found nowhere: an empty segment.
  {
    number: 3,
    label: 'calcification',
    algorithmType: 'AUTOMATIC' as const,
    algorithm: { name: 'LGMSNet', version: 'starter 1.0.0' },
  },
];

describe('buildSeg', () => {
  const maps = [Uint8Array.from({ length: 15 }, (_, i) => (i % 4 === 0 ? 1 : i % 5 === 0 ? 2 : 0)), new Uint8Array(15)];
  const bytes = buildSeg(source, maps, segments, options());
  const ds = parse(bytes);

  it('writes one frame per segment × image, empty frames and the empty segment included', () => {
    expect(ds.NumberOfFrames).toBe(6);
    const frames = unpackFrames(new Uint8Array(ds.PixelData[0]), 6, 15);
    expect(frames[0]).toEqual(Uint8Array.from(maps[0]!, (v) => (v === 1 ? 1 : 0)));
    expect(frames[2]).toEqual(Uint8Array.from(maps[0]!, (v) => (v === 2 ? 1 : 0)));
    for (const f of [1, 3, 4, 5]) expect(frames[f]!.every((v) => v === 0)).toBe(true);
  });

  it('identifies the segment in every per-frame group and never in the shared group', () => {
    const shared = ds.SharedFunctionalGroupsSequence[0] ?? ds.SharedFunctionalGroupsSequence;
    expect(shared.SegmentIdentificationSequence).toBeUndefined();
    const perFrame = ds.PerFrameFunctionalGroupsSequence as Record<string, any>[];
    expect(perFrame.map((g) => g.SegmentIdentificationSequence[0].ReferencedSegmentNumber)).toEqual([1, 1, 2, 2, 3, 3]);
    expect(perFrame.map((g) => g.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID)).toEqual([
      '2.25.10',
      '2.25.11',
      '2.25.10',
      '2.25.11',
      '2.25.10',
      '2.25.11',
    ]);
    expect(perFrame.map((g) => g.FrameContentSequence[0].DimensionIndexValues)).toEqual([
      [1, 1],
      [1, 2],
      [2, 1],
      [2, 2],
      [3, 1],
      [3, 2],
    ]);
  });

  it('keeps the model name and version in the algorithm identification', () => {
    const s = ds.SegmentSequence[0];
    expect(s.SegmentAlgorithmType).toBe('AUTOMATIC');
    expect(s.SegmentationAlgorithmIdentificationSequence[0].AlgorithmVersion).toBe('starter 1.0.0');
  });

  it('reads back to the same label maps', () => {
    const back = readSeg(bytes);
    expect(back.maps.get('2.25.10')).toEqual(maps[0]);
    expect(back.maps.get('2.25.11')).toEqual(maps[1]);
    expect(back.segments.map((s) => s.label)).toEqual(['lesion', 'cyst', 'calcification']);
  });

  it('names the frames of a multi-frame source by Referenced Frame Number', () => {
    const multi = { ...source, images: source.images.map((im, i) => ({ ...im, sopInstanceUid: '2.25.20', frameNumber: i + 1 })) };
    const back = readSeg(buildSeg(multi, maps, segments, options()));
    expect([...back.maps.keys()].sort()).toEqual(['2.25.20#1', '2.25.20#2']);
    expect(back.maps.get('2.25.20#1')).toEqual(maps[0]);
  });

  it('refuses label values no segment names, and maps of the wrong size', () => {
    expect(() => buildSeg(source, [Uint8Array.of(...new Array(14).fill(0), 4), new Uint8Array(15)], segments, options())).toThrow(
      /value 4/,
    );
    expect(() => buildSeg(source, [new Uint8Array(14), new Uint8Array(15)], segments, options())).toThrow(RangeError);
  });

  it('gives every export new UIDs', () => {
    expect(parse(buildSeg(source, maps, segments, options())).SOPInstanceUID).not.toBe(ds.SOPInstanceUID);
  });
});

describe('dicomLab', () => {
  it('scales CIELab of sRGB colours to DICOM 0…65535 (PS3.3 C.10.7.1.1)', () => {
    // White: L* 100, a* = b* = 0 → 65535, 128/255 of the range; black: L* 0.
    expect(dicomLab('#ffffff')).toEqual([65535, 32896, 32896]);
    expect(dicomLab('#000000')).toEqual([0, 32896, 32896]);
    // Pure sRGB red: L* 53.24, a* 80.09, b* 67.20 (CIE 15, D65).
    const [l, a, b] = dicomLab('#ff0000');
    expect(l / 655.35).toBeCloseTo(53.24, 1);
    expect((a * 255) / 65535 - 128).toBeCloseTo(80.09, 0);
    expect((b * 255) / 65535 - 128).toBeCloseTo(67.2, 0);
  });
});
