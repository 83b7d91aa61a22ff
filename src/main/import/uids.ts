// DICOM UIDs for sources that have none (NIfTI, NRRD, PNG …): 2.25 plus the decimal of 128 bits
// of a hash (PS3.5 B.2), so the same file or folder always gets the same UID and a re-import
// is recognised.
import { createHash } from 'node:crypto';

export function uidFrom(...parts: string[]): string {
  const digest = createHash('sha256').update(parts.join('\u0000')).digest();
  return `2.25.${BigInt('0x' + digest.subarray(0, 16).toString('hex')).toString(10)}`;
}
