// Writes a synthetic ultrasound cine as one real multi-frame DICOM file (dcmjs): Ultrasound
// Multi-frame Image Storage, 8-bit RGB (PS3.3 C.8.5.6), each frame a generated breast phantom
// drifting sideways, with a coloured annotation strip so the three samples differ.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { writePart10 } from '../../src/main/export/write-part10';
import { generatePhantom } from '../../src/main/demo';

const US_MULTIFRAME = '1.2.840.10008.5.1.4.1.1.3.1';

export interface UsCineOptions {
  frames: number;
  columns: number;
  rows: number;
  seed?: number;
}

/** Writes `cine.dcm` into dir; returns its path. */
export function writeUsCine(dir: string, o: UsCineOptions): string {
  const seed = o.seed ?? 77;
  // The phantom generator wants multiples of 32: generate one a little larger and crop.
  const gw = Math.ceil(o.columns / 32) * 32;
  const gh = Math.ceil(o.rows / 32) * 32;
  const base = generatePhantom({ seed, index: 0, width: gw + 64, height: gh });
  const frameBytes = o.columns * o.rows * 3;
  const pixels = new Uint8Array(frameBytes * o.frames);
  for (let f = 0; f < o.frames; f++) {
    const shift = Math.round((f / Math.max(1, o.frames - 1)) * 63);
    for (let y = 0; y < o.rows; y++) {
      for (let x = 0; x < o.columns; x++) {
        const v = base.image[y * base.width + x + shift]!;
        const k = f * frameBytes + (y * o.columns + x) * 3;
        const strip = y < 24 && x < 200;
        pixels[k] = strip ? 230 : v;
        pixels[k + 1] = strip ? 200 : v;
        pixels[k + 2] = strip ? 40 : v;
      }
    }
  }
  const sop = `2.25.77${seed}000000000000003.1`;
  const dataset = {
    SOPClassUID: US_MULTIFRAME,
    SOPInstanceUID: sop,
    StudyDate: '20260103',
    StudyTime: '091500',
    Modality: 'US',
    PatientName: 'TEST^CINE',
    PatientID: `CINE-${seed}`,
    StudyInstanceUID: `2.25.77${seed}000000000000001`,
    SeriesInstanceUID: `2.25.77${seed}000000000000002`,
    SeriesNumber: 1,
    InstanceNumber: 1,
    NumberOfFrames: String(o.frames),
    FrameTime: 33.3,
    SamplesPerPixel: 3,
    PhotometricInterpretation: 'RGB',
    PlanarConfiguration: 0,
    Rows: o.rows,
    Columns: o.columns,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OB' },
  };
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, 'cine.dcm');
  writeFileSync(file, writePart10(dataset));
  return file;
}
