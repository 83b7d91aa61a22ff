// The scan's quick DICOMDIR reader (src/main/imaging/dicom/dicomdir.ts) against dcmjs' parse, on every
// public DICOMDIR (pydicom's explicit, implicit, big-endian, reordered, empty and damaged
// ones), case 10's two file sets, and every DICOMDIR cut short at many points: wherever the
// quick reader answers, it lists exactly dcmjs' Referenced File IDs, and it answers for the
// well-formed ones (issue 16: dcmjs took 30–180 ms per 11 KB DICOMDIR).
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { directoryFileIds } from '../../src/main/imaging/dicom/dicomdir';
import { parsedFileIds } from '../../src/main/import/scan';
import { makeCase } from '../helpers/cases';
import { dataDir, requireFixtures } from '../fixtures';

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile() && path.basename(f).toUpperCase().startsWith('DICOMDIR'));
}

/** dcmjs' list, or the message it throws. */
function parsed(bytes: Buffer): string[] | string {
  try {
    return parsedFileIds(bytes);
  } catch (e) {
    return `dcmjs throws: ${(e as Error).message}`;
  }
}

describe('quick DICOMDIR reader vs dcmjs', () => {
  requireFixtures();
  const caseDir = makeCase('10-dicomdir-path-separators');
  afterAll(() => rmSync(caseDir, { recursive: true, force: true }));
  const dicomdirs = [...files(path.join(dataDir, 'pydicom')), ...files(caseDir)];

  it('lists the same Referenced File IDs on every public DICOMDIR and answers for the well-formed ones', () => {
    const answered: string[] = [];
    for (const f of dicomdirs) {
      const bytes = readFileSync(f);
      const quick = directoryFileIds(bytes);
      if (quick === null) continue;
      answered.push(path.relative(dataDir, f));
      expect({ f, ids: quick }).toEqual({ f, ids: parsed(bytes) });
    }
    // pydicom's DICOMDIR, -implicit, -bigEnd, -reordered, -nopatient, -empty.dcm, TINY_ALPHA's and
    // case 10's two; DICOMDIR-nooffset's last record runs past the end of the file: dcmjs reads it.
    expect(answered.length).toBeGreaterThanOrEqual(9);
    expect(answered.some((f) => f.endsWith('DICOMDIR-bigEnd'))).toBe(true);
    expect(answered.some((f) => f.endsWith('DICOMDIR-implicit'))).toBe(true);
    expect(answered.some((f) => f.endsWith('DICOMDIR-nooffset'))).toBe(false);
  });

  it('leaves every cut-short DICOMDIR to dcmjs or agrees with it', () => {
    let cuts = 0;
    for (const f of dicomdirs) {
      const bytes = readFileSync(f);
      for (let end = 132; end < bytes.length; end += 37) {
        const cut = bytes.subarray(0, end);
        const quick = directoryFileIds(cut);
        cuts++;
        if (quick !== null) expect({ f, end, ids: quick }).toEqual({ f, end, ids: parsed(Buffer.from(cut)) });
      }
    }
    expect(cuts).toBeGreaterThan(1000);
  });
});
