// Every way reading a DICOM file can fail, as one typed error with a reason a person can act on.
// It is a ServiceError, so the dispatcher turns it into `{ok:false, error:{code, message}}`.
import { ServiceError, type ErrorCode } from '../../../shared/result';

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

export class DicomError extends ServiceError {
  constructor(
    readonly failure: DicomFailure,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(API_CODE[failure], message, { failure });
    this.name = 'DicomError';
  }
}

export function isDicomError(e: unknown): e is DicomError {
  return e instanceof DicomError;
}

/** Text of any thrown value, for wrapping a third-party failure in a DicomError. */
export function describe(e: unknown): string {
  if (e instanceof Error) return e.message;
  // Emscripten codecs throw a bare number (a pointer to a C++ exception) on bad input.
  if (typeof e === 'number') return `codec exception #${e}`;
  return String(e);
}
