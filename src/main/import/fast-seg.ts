// A DICOM SEG's label-set record on the fast path, from its header read from the bytes
// (imaging/dicom/seg-header.ts); null for the full reader (read-dicom.ts), which gives the same
// outcome (tests/integration/fidelity-differential.test.ts).
import { readSegHeader } from '../imaging/dicom/seg-header';
import type { ReadOutcome } from './records';

/** The label-set (or the full reader's refusal of a SEG without references), or null for the full reader. */
export function readFastSegmentation(b: Uint8Array): ReadOutcome | null {
  const seg = readSegHeader(b);
  if (!seg) return null;
  const referenced = seg.referencedSeriesUids[0] ?? '';
  if (!referenced && !seg.frameOfReferenceUid)
    return {
      status: 'skipped',
      reason: 'DICOM SEG without a Referenced Series Sequence or Frame of Reference: cannot tell which series it labels',
    };
  return { status: 'label-set', sopInstanceUid: seg.sopInstanceUid, referencedSeriesUid: referenced, segments: seg.segments };
}
