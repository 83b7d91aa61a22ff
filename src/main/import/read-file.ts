// Picks the reader for a file by its content (magic bytes) first and its name second.
import path from 'node:path';
import { readFastRecords } from './fast-header';
import { readDicomRecords } from './read-dicom';
import type { ReadOutcome } from './records';

export type DetectedFormat = 'dicom' | 'nifti' | 'nrrd' | 'metaimage' | 'png' | 'jpeg' | 'unknown';

export function detectFormat(filePath: string, b: Uint8Array): DetectedFormat {
  if (b.length >= 132 && b[128] === 0x44 && b[129] === 0x49 && b[130] === 0x43 && b[131] === 0x4d) return 'dicom';
  if (b.length >= 8 && b[0] === 0x89 && b[1] === 0x50 && b[2] === 0x4e && b[3] === 0x47) return 'png';
  if (b.length >= 3 && b[0] === 0xff && b[1] === 0xd8 && b[2] === 0xff) return 'jpeg';
  const name = path.basename(filePath).toLowerCase();
  if (name.endsWith('.nii') || name.endsWith('.nii.gz')) return 'nifti';
  if (name.endsWith('.nrrd') || name.endsWith('.nhdr')) return 'nrrd';
  if (name.endsWith('.mha') || name.endsWith('.mhd')) return 'metaimage';
  // DICOM without the 128-byte preamble: starts with a group 0x0008 (or 0x0002) tag, little endian.
  if (b.length >= 8 && (b[0] === 0x08 || b[0] === 0x02) && b[1] === 0x00) return 'dicom';
  if (name.endsWith('.dcm') || name.endsWith('.dicom') || name.endsWith('.ima')) return 'dicom';
  return 'unknown';
}

export async function readRecords(filePath: string, bytes: Uint8Array): Promise<ReadOutcome> {
  const format = detectFormat(filePath, bytes);
  switch (format) {
    case 'dicom':
      return readFastRecords(bytes) ?? readDicomRecords(bytes);
    case 'nifti':
    case 'nrrd':
    case 'metaimage':
    case 'png':
    case 'jpeg':
      return { status: 'skipped', reason: `${format} import is not wired in yet` };
    case 'unknown':
      return { status: 'skipped', reason: 'not an image format the workstation reads (DICOM, NIfTI, NRRD, MetaImage, PNG, JPEG)' };
  }
}
