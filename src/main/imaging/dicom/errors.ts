// Every way reading a DICOM file can fail, as one typed error with a reason a person can act on.
// It is a ServiceError, so the dispatcher turns it into `{ok:false, error:{code, message}}`.
import type { ErrorCode } from '../../../shared/result';
import { describeThrown, ReadError } from '../read-error';

/** Text of any thrown value, for wrapping a third-party failure in a typed error. */
export const describe = describeThrown;

export const DICOM_FAILURES = [
  'not-dicom', // no DICM preamble and nothing that looks like a raw dataset
  'malformed', // the data set itself cannot be parsed
  'missing-attribute', // a Type 1 attribute needed to decode is absent or invalid
  'unsupported-transfer-syntax',
  'unsupported-pixel-format', // e.g. BitsAllocated 12, or 4 samples per pixel
  'truncated-pixel-data',
  'too-large', // decoding would allocate more than the caller allows
  'decode-failed', // a codec rejected the compressed stream
  'no-pixel-data', // asked to decode a non-image object
] as const;

export type DicomFailure = (typeof DICOM_FAILURES)[number];

const API_CODE: Record<DicomFailure, ErrorCode> = {
  'not-dicom': 'invalid-input',
  malformed: 'corrupt',
  'missing-attribute': 'corrupt',
  'unsupported-transfer-syntax': 'unsupported',
  'unsupported-pixel-format': 'unsupported',
  'truncated-pixel-data': 'corrupt',
  'too-large': 'unsupported',
  'decode-failed': 'corrupt',
  'no-pixel-data': 'invalid-input',
};

export class DicomError extends ReadError<DicomFailure> {
  /**
   * `specifics`: our own words for the import report, naming what is wrong (the attribute, the
   * counts), never a value read from the file; `message` (with such values) goes to the log.
   */
  constructor(
    failure: DicomFailure,
    message: string,
    cause?: unknown,
    readonly specifics?: string,
  ) {
    super(failure, API_CODE, message, cause);
    this.name = 'DicomError';
  }
}

export function isDicomError(e: unknown): e is DicomError {
  return e instanceof DicomError;
}
