// Picks the reader for a file by its content (magic bytes) first and its name second.
import { detectFormat } from '../imaging/volume/read';
import { readFastRecords } from './fast-records';
import { readDicomRecords } from './read-dicom';
import { readRasterRecords, readVolumeRecords } from './read-other';
import type { ReadOutcome } from './records';

export async function readRecords(filePath: string, bytes: Uint8Array, sha256: string): Promise<ReadOutcome> {
  const format = detectFormat(filePath, bytes.subarray(0, 4096));
  switch (format) {
    case 'dicom':
      return readFastRecords(bytes) ?? readDicomRecords(bytes);
    case 'dicomdir':
      return { status: 'skipped', reason: 'DICOMDIR: a directory of other files, no pixel data (its files are imported)' };
    case 'nifti':
    case 'nrrd':
    case 'metaimage':
      return readVolumeRecords(filePath, sha256, format);
    case 'png':
    case 'jpeg':
      return readRasterRecords(filePath, bytes, sha256, format);
    case 'unknown':
      return {
        status: 'skipped',
        reason: 'not an image format the workstation reads (DICOM, NIfTI, NRRD, MetaImage, PNG, JPEG)',
      };
  }
}
