// detectFormat on hand-made headers, then on the real fixture files (tests/fixtures/setup.sh)
// where they are present: magic bytes decide, the name only when the bytes say nothing.
import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { detectFile, detectFormat, gunzipPrefix } from './detect';
import { missingPath, skipTitle } from '../../../tests/helpers/skip';

const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../tests/fixtures/data');

function niftiHeader(size: 348 | 540, littleEndian = true): Uint8Array {
  const b = new Uint8Array(size + 4);
  const view = new DataView(b.buffer);
  view.setInt32(0, size, littleEndian);
  if (size === 348) b.set(Buffer.from('n+1\0', 'latin1'), 344);
  else b.set(Buffer.from('n+2\0\r\n\x1a\n', 'latin1'), 4);
  return b;
}

function part10(sopClass: string): Uint8Array {
  const b = Buffer.alloc(256);
  b.write('DICM', 128, 'latin1');
  b.write('\x02\x00\x02\x00UI\x16\x00' + sopClass.padEnd(22, '\0'), 132, 'latin1');
  return b;
}

describe('detectFormat on synthetic headers', () => {
  it('recognises each magic', () => {
    expect(detectFormat('x', part10('1.2.840.10008.5.1.4.1.1.2'))).toBe('dicom');
    expect(detectFormat('x', part10('1.2.840.10008.1.3.10'))).toBe('dicomdir');
    // A longer UID that merely starts like the DICOMDIR class is not one.
    expect(detectFormat('x', part10('1.2.840.10008.1.3.101'))).toBe('dicom');
    expect(detectFormat('x', niftiHeader(348))).toBe('nifti');
    expect(detectFormat('x', niftiHeader(348, false))).toBe('nifti');
    expect(detectFormat('x', niftiHeader(540))).toBe('nifti');
    expect(detectFormat('x', gzipSync(niftiHeader(348)).subarray(0, 200))).toBe('nifti');
    // A label volume of mostly zeros: its first 4 KiB of gzip inflate to far more than 1 MiB.
    const sparse = gzipSync(Buffer.concat([niftiHeader(348), Buffer.alloc(8 << 20)])).subarray(0, 4096);
    expect(detectFormat('x', sparse)).toBe('nifti');
    expect(gunzipPrefix(sparse)!.length).toBeGreaterThanOrEqual(348);
    expect(gunzipPrefix(Uint8Array.from([0x1f, 0x8b, 1, 2, 3, 4]))).toBeNull();
    expect(detectFormat('x', Buffer.from('NRRD0004\ntype: uchar\n'))).toBe('nrrd');
    expect(detectFormat('x', Buffer.from('ObjectType = Image\nNDims = 3\n'))).toBe('metaimage');
    expect(detectFormat('x', Buffer.from('NDims = 3\nDimSize = 1 2 3\n'))).toBe('metaimage');
    expect(detectFormat('x', Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0))).toBe('png');
    expect(detectFormat('x', Uint8Array.of(0xff, 0xd8, 0xff, 0xe0, 0, 0x10))).toBe('jpeg');
  });

  it('recognises a DICOM data set without preamble', () => {
    // (0008,0005) CS "ISO_IR 100", (0008,0016) UI … — implicit VR little endian.
    const ds = Buffer.concat([
      Buffer.from([0x08, 0x00, 0x05, 0x00, 0x0a, 0x00, 0x00, 0x00]),
      Buffer.from('ISO_IR 100'),
      Buffer.from([0x08, 0x00, 0x16, 0x00, 0x04, 0x00, 0x00, 0x00]),
      Buffer.from('1.2\0'),
    ]);
    expect(detectFormat('IM0001', ds)).toBe('dicom');
    // Out-of-order tags are not a data set.
    const shuffled = Buffer.concat([ds.subarray(18), ds.subarray(0, 18)]);
    expect(detectFormat('IM0001', shuffled)).toBe('unknown');
  });

  it('falls back to the extension, and garbage stays unknown', () => {
    const garbage = Buffer.from('just some text, nothing to see');
    expect(detectFormat('a.nii', garbage)).toBe('nifti');
    expect(detectFormat('a.nii.gz', garbage)).toBe('nifti');
    expect(detectFormat('a.nhdr', garbage)).toBe('nrrd');
    expect(detectFormat('a.mhd', garbage)).toBe('metaimage');
    expect(detectFormat('a.JPG', garbage)).toBe('jpeg');
    expect(detectFormat('a.dcm', garbage)).toBe('dicom');
    expect(detectFormat('/cd/DICOMDIR', garbage)).toBe('dicomdir');
    expect(detectFormat('a.bin', garbage)).toBe('unknown');
    expect(detectFormat('a.bin', new Uint8Array(0))).toBe('unknown');
    // Bytes win over a misleading name.
    expect(detectFormat('photo.png', niftiHeader(348))).toBe('nifti');
  });
});

describe.skipIf(missingPath(DATA))(skipTitle('detectFile on the fixture files', missingPath(DATA)), () => {
  const cases: [string, string][] = [
    ['pydicom/test_files/CT_small.dcm', 'dicom'],
    ['pydicom/test_files/rtstruct.dcm', 'dicom'], // no preamble, implicit VR
    ['pydicom/test_files/ExplVR_LitEndNoMeta.dcm', 'dicom'],
    ['pydicom/test_files/ExplVR_BigEndNoMeta.dcm', 'dicom'],
    ['pydicom/test_files/dicomdirtests/DICOMDIR', 'dicomdir'],
    ['mricron/ch2.nii.gz', 'nifti'],
    ['nibabel/tests/anatomical.nii', 'nifti'],
    ['nibabel/tests/example_nifti2.nii.gz', 'nifti'],
    ['nibabel/tests/nifti1.hdr', 'nifti'],
    ['itk/BrainProtonDensity3Slices.mha', 'metaimage'],
    ['itk/BrainProtonDensitySliceBorder20.mhd', 'metaimage'],
    ['itk/BrainProtonDensitySliceBorder20.nhdr', 'nrrd'],
    ['itk/BrainProtonDensitySliceBorder20.raw', 'unknown'],
    ['itk/BrainT1Slice.png', 'png'],
    ['nibabel/tests/test.mgz', 'unknown'],
  ];
  it.each(cases)('%s is %s', async (rel, expected) => {
    // Every case is in the gathered fixtures: a missing one fails here rather than passing unseen.
    expect(await detectFile(path.join(DATA, rel))).toBe(expected);
  });

  it('never calls a PNG, NIfTI or MetaImage fixture DICOM', async () => {
    const itk = path.join(DATA, 'itk');
    for (const name of readdirSync(itk)) {
      const file = path.join(itk, name);
      if (!statSync(file).isFile()) continue;
      const format = await detectFile(file);
      expect(format === 'dicom' || format === 'dicomdir', name).toBe(false);
    }
  });
});
