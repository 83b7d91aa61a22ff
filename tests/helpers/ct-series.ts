// Writes a synthetic CT series as real DICOM files (dcmjs), for import tests and benchmarks:
// signed 16-bit pixels with a rescale intercept, positions along z, files named in shuffled
// order so the importer must sort by geometry.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writePart10 } from '../../src/main/export/write-part10';

export interface CtSeriesOptions {
  count: number;
  size?: number;
  /** Distinguishes series: UIDs and pixel content depend on it. */
  seriesIndex?: number;
  studyUid?: string;
  patientId?: string;
}

export interface WrittenSeries {
  seriesUid: string;
  studyUid: string;
  files: string[];
  /** Stored value of pixel (row 10, col 20) of the slice at each z index (display order). */
  probe: number[];
}

const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';

export function writeCtSeries(dir: string, o: CtSeriesOptions): WrittenSeries {
  const size = o.size ?? 64;
  const s = o.seriesIndex ?? 1;
  const studyUid = o.studyUid ?? `2.25.9${s}0000000000000000001`;
  const seriesUid = `2.25.9${s}0000000000000000002`;
  mkdirSync(dir, { recursive: true });
  const files: string[] = [];
  const probe: number[] = [];
  // A fixed permutation so names do not follow z.
  const order = Array.from({ length: o.count }, (_, i) => i).sort(
    (a, b) => ((a * 7919) % o.count) - ((b * 7919) % o.count) || a - b,
  );
  for (let z = 0; z < o.count; z++) {
    const pixels = new Int16Array(size * size);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        const r = Math.hypot(x - size / 2, y - size / 2);
        pixels[y * size + x] = (r < size * 0.4 ? 1000 + 40 : 0) + ((x * 3 + y * 5 + z * 11 + s * 13) % 200);
      }
    probe.push(pixels[10 * size + 20]!);
    const sop = `${seriesUid}.${z + 1}`;
    const dataset = {
      SOPClassUID: CT_IMAGE_STORAGE,
      SOPInstanceUID: sop,
      StudyDate: '20260102',
      StudyTime: '101500',
      Modality: 'CT',
      PatientName: `TEST^CT^${s}`,
      PatientID: o.patientId ?? `CT-${s}`,
      StudyInstanceUID: studyUid,
      SeriesInstanceUID: seriesUid,
      SeriesNumber: s,
      // Instance numbers run backwards to z: sorting must use the geometry, not the number.
      InstanceNumber: o.count - z,
      ImagePositionPatient: [-100, -100, z * 2.5],
      ImageOrientationPatient: [1, 0, 0, 0, 1, 0],
      PixelSpacing: [0.7, 0.7],
      SliceThickness: 2.5,
      SamplesPerPixel: 1,
      PhotometricInterpretation: 'MONOCHROME2',
      Rows: size,
      Columns: size,
      BitsAllocated: 16,
      BitsStored: 16,
      HighBit: 15,
      PixelRepresentation: 1,
      RescaleIntercept: -1024,
      RescaleSlope: 1,
      WindowCenter: 40,
      WindowWidth: 400,
      PixelData: pixels.buffer,
      _vrMap: { PixelData: 'OW' },
    };
    const file = path.join(dir, `IM${String(order[z]).padStart(5, '0')}`);
    writeFileSync(file, writePart10(dataset));
    files.push(file);
  }
  return { seriesUid, studyUid, files, probe };
}
