// One VR table (src/main/imaging/dicom/vr.ts) and one element walker (walker.ts) for every reader
// of DICOM bytes (issue 24): no other source file lists VRs, or reads an explicit VR element's
// 4-byte length itself.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const VR = "'(?:AE|AS|AT|CS|DA|DS|DT|FD|FL|IS|LO|LT|OB|OD|OF|OL|OV|OW|PN|SH|SL|SQ|SS|ST|SV|TM|UC|UI|UL|UN|UR|US|UT|UV)'";

function sources(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => /\.(ts|svelte)$/.test(f) && !f.endsWith('.test.ts'));
}

describe('one VR table and one element walker', () => {
  const files = ['src/main', 'src/shared', 'src/renderer'].flatMap(sources);

  it('lists VRs only in imaging/dicom/vr.ts', () => {
    // Two VR literals side by side ('OB', 'OW' or 'OB OW …') make a list; a single VR in a
    // comparison or a writer's choice does not.
    const list = new RegExp(`${VR}\\s*,\\s*${VR}|'(?:[A-Z]{2} ){3,}`);
    const offenders = files.filter(
      (f) => !f.endsWith(path.join('dicom', 'vr.ts')) && list.test(readFileSync(path.join(root, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });

  it('reads explicit VR element lengths only in imaging/dicom/walker.ts', () => {
    // The 4-byte length of a long-VR element sits at offset + 8 (PS3.5 §7.1.2).
    const longLength = /getUint32\(\s*\w+\s*\+\s*8\s*,/;
    const offenders = files.filter(
      (f) => !f.endsWith(path.join('dicom', 'walker.ts')) && longLength.test(readFileSync(path.join(root, f), 'utf8')),
    );
    expect(offenders).toEqual([]);
  });
});
