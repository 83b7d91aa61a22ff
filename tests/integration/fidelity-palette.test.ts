// Issue 14, kind 2: PALETTE COLOR goes through its lookup tables, whole or segmented, 8- or 16-bit,
// as pydicom's apply_color_lut does (case 04); a palette without usable tables is refused.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { decodeDicom } from '../../src/main/imaging/dicom';
import { FrameLoader } from '../../src/main/imaging/frames';
import { ContentStore } from '../../src/main/store/content-store';
import { makeCase } from '../helpers/cases';
import { tempDir } from '../helpers/temp';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** pydicom's apply_color_lut of a file, high bytes (16-bit tables) as a flat RGB list. */
function pydicomRgb8(file: string): number[] {
  const script = [
    'import sys, json, pydicom',
    'from pydicom.pixel_data_handlers.util import apply_color_lut',
    'd = pydicom.dcmread(sys.argv[1])',
    'rgb = apply_color_lut(d.pixel_array, d)',
    'bits = d.RedPaletteColorLookupTableDescriptor[2]',
    'print(json.dumps([int(v) >> 8 if bits == 16 else int(v) for v in rgb.reshape(-1)]))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, file], { encoding: 'utf8' })) as number[];
}

/** Rewrites case 04's palette: segmented 16-bit tables, or 8-bit tables, or none at all. */
function variant(dir: string, kind: 'segmented' | 'eight-bit' | 'no-tables'): string {
  const out = path.join(dir, `${kind}.dcm`);
  const script = [
    'import sys, numpy as np, pydicom',
    'd = pydicom.dcmread(sys.argv[1]); kind = sys.argv[3]',
    'd.SOPInstanceUID = d.SOPInstanceUID + "." + str(len(kind)); d.SeriesInstanceUID = d.SeriesInstanceUID + "." + str(len(kind))',
    'for c in ("Red", "Green", "Blue"): delattr(d, c + "PaletteColorLookupTableData")',
    'if kind == "segmented":',
    // Red: discrete 0, then a linear ramp to 65535 over 255 entries; green: 128 discrete entries, then an indirect copy of them; blue: 256 discrete.
    '    red = np.array([0, 1, 0, 1, 255, 65535], np.uint16)',
    '    green = np.array([0, 128] + [65535 - 257 * i for i in range(128)] + [2, 1, 0, 0], np.uint16)',
    '    blue = np.array([0, 256] + [((7 * i) % 256) * 257 for i in range(256)], np.uint16)',
    '    for c, t in (("Red", red), ("Green", green), ("Blue", blue)):',
    '        setattr(d, "Segmented" + c + "PaletteColorLookupTableData", t.tobytes()); d["Segmented" + c + "PaletteColorLookupTableData"].VR = "OW"',
    'elif kind == "eight-bit":',
    '    i = np.arange(256)',
    '    for c, t in (("Red", i), ("Green", 255 - i), ("Blue", (7 * i) % 256)):',
    '        setattr(d, c + "PaletteColorLookupTableDescriptor", [256, 0, 8]); setattr(d, c + "PaletteColorLookupTableData", t.astype(np.uint8).tobytes()); d[c + "PaletteColorLookupTableData"].VR = "OW"',
    'd.save_as(sys.argv[2])',
  ].join('\n');
  execFileSync('/usr/bin/python3', ['-c', script, path.join(dir, 'palette.dcm'), out, kind]);
  return out;
}

describe('PALETTE COLOR', () => {
  const tmp = tempDir();
  let dir: string;
  let b: Backend;
  beforeAll(() => {
    dir = makeCase('04-palette-color');
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  });
  afterAll(() => {
    b.close();
    rmSync(dir, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('imports case 04 as an RGB image whose pixels are the palette colours', async () => {
    const file = path.join(dir, 'palette.dcm');
    const started = await b.services.import.start({ paths: [file] });
    await b.importer.wait(started.jobId);
    const report = await b.services.import.report({ jobId: started.jobId });
    expect(report.counts).toMatchObject({ imported: 1, failed: 0 });
    const row = b.db.prepare('SELECT id, samples_per_pixel, photometric FROM images').get() as {
      id: number;
      samples_per_pixel: number;
      photometric: string;
    };
    expect(row).toMatchObject({ samples_per_pixel: 3, photometric: 'RGB' });
    const frame = await new FrameLoader(b.db, new ContentStore(path.join(tmp.dir, 'data', 'store'))).load(row.id);
    const px = [...frame.pixels];
    // expected.md: index 88 at (1,2) → RGB8 [88, 167, 104]; index 0 → [0, 255, 0].
    const at = (r: number, c: number) => px.slice((r * 6 + c) * 3, (r * 6 + c) * 3 + 3);
    expect(at(1, 2)).toEqual([88, 167, 104]);
    expect(at(0, 0)).toEqual([0, 255, 0]);
    expect(px).toEqual(pydicomRgb8(file));
  });

  it('expands segmented 16-bit tables (discrete, linear, indirect) and reads 8-bit tables, as pydicom', async () => {
    for (const kind of ['segmented', 'eight-bit'] as const) {
      const file = variant(dir, kind);
      const outcome = await decodeDicom(readFileSync(file));
      if (outcome.status !== 'decoded') throw new Error(`${kind}: ${outcome.status}`);
      const frame = outcome.image.frames[0]!;
      expect(frame.samplesPerPixel, kind).toBe(3);
      expect([...frame.pixels], kind).toEqual(pydicomRgb8(file));
    }
  });

  it('refuses a palette image without its tables, in words from the closed set', async () => {
    const file = variant(dir, 'no-tables');
    const started = await b.services.import.start({ paths: [file] });
    await b.importer.wait(started.jobId);
    const report = await b.services.import.report({ jobId: started.jobId });
    expect(report.problems).toEqual([
      {
        path: file,
        status: 'failed',
        reason: 'a pixel format the workstation cannot show (PALETTE COLOR lookup tables missing or damaged)',
      },
    ]);
  });
});
