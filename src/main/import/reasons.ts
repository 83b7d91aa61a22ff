// The closed set of reasons an import gives a radiologist for a file it did not import. A
// reader's own message (dcmjs, itk-wasm, a codec) never reaches the report: it becomes one of
// these, and the message itself goes to the import log (`<data folder>/logs/import.log`).
import { isDicomError, type DicomFailure } from '../imaging/dicom';
import { describeThrown, ReadError } from '../imaging/read-error';

export const IMPORT_FAILURES = {
  'not-dicom': 'not a DICOM file, nor an image format the workstation reads',
  'damaged-header': 'damaged file: its header cannot be read',
  'missing-attribute': 'damaged image: an attribute needed to show it is missing or invalid',
  'pixels-cut-short': 'damaged image: pixel data cut short',
  'pixels-missing': 'damaged image: the image object has no pixel data',
  'pixels-undecodable': 'damaged image: its pixel data cannot be decoded',
  'unsupported-syntax': 'compressed in a form the workstation cannot read',
  'unsupported-pixels': 'a pixel format the workstation cannot show',
  'bad-geometry': 'damaged image: its geometry is impossible',
  'too-large': 'too large to import',
  'damaged-volume': 'damaged volume file',
  'damaged-picture': 'damaged picture file',
  unreadable: 'cannot read the file',
} as const;

export type ImportFailure = keyof typeof IMPORT_FAILURES;

/** Every reason text the report may start with: the closed set, for tests of the report. */
export const REASON_PREFIXES: readonly string[] = Object.values(IMPORT_FAILURES);

/** The report's reason: the fixed sentence, then our own specifics (counts, sizes), never a library's text. */
export function failureReason(kind: ImportFailure, specifics?: string): string {
  return specifics ? `${IMPORT_FAILURES[kind]} (${specifics})` : IMPORT_FAILURES[kind];
}

const FROM_DICOM: Record<DicomFailure, ImportFailure> = {
  'not-dicom': 'not-dicom',
  malformed: 'damaged-header',
  'missing-attribute': 'missing-attribute',
  'unsupported-transfer-syntax': 'unsupported-syntax',
  'unsupported-pixel-format': 'unsupported-pixels',
  'truncated-pixel-data': 'pixels-cut-short',
  'too-large': 'too-large',
  'decode-failed': 'pixels-undecodable',
  'no-pixel-data': 'pixels-missing',
};

/**
 * A thrown reader error as a report reason and the detail for the log. `source` says which
 * reader threw, so an untyped error (a library bug) still maps to the right sentence.
 */
export function reasonForThrown(e: unknown, source: 'dicom' | 'volume' | 'picture'): { reason: string; detail: string } {
  const detail = describeThrown(e);
  if (isDicomError(e)) return { reason: failureReason(FROM_DICOM[e.failure], e.specifics), detail };
  if (e instanceof ReadError) {
    const failure = e.failure as string;
    if (failure === 'not-found' || failure === 'io') return { reason: failureReason('unreadable'), detail };
    if (failure === 'too-large') return { reason: failureReason('too-large'), detail };
    if (failure === 'unsupported')
      return {
        reason: failureReason(
          source === 'dicom' ? 'unsupported-pixels' : source === 'volume' ? 'damaged-volume' : 'damaged-picture',
          'a variant the workstation does not read',
        ),
        detail,
      };
  }
  return {
    reason: failureReason(source === 'dicom' ? 'damaged-header' : source === 'volume' ? 'damaged-volume' : 'damaged-picture'),
    detail,
  };
}

/** Which of Study and Series Instance UID an image lacks, named (PS3.3 C.7.2.1, C.7.3.1: both Type 1). */
export function missingUids(study: string, series: string): string {
  return !study && !series ? 'Study and Series Instance UID' : !study ? 'Study Instance UID' : 'Series Instance UID';
}

/** Byte counts as a radiologist reads them: 27,906 of 32,768 bytes. */
export function bytesOf(present: number, expected: number): string {
  return `${grouped(present)} of ${grouped(expected)} bytes`;
}

/**
 * A whole number with thousands separators, as toLocaleString('en-US') writes it. Not that call
 * itself: its first use loads ICU's locale data, 20-60 ms of every import worker that reports a
 * file cut short (each import is a fresh thread; issue 16's profile).
 */
function grouped(n: number): string {
  return Number.isSafeInteger(n) ? String(n).replace(/\B(?=(\d{3})+$)/g, ',') : n.toLocaleString('en-US');
}
