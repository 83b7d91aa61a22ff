// Every way reading a PNG or JPEG can fail, as one typed error with a reason a person can act on.
// It is a ServiceError, so the dispatcher turns it into `{ok:false, error:{code, message}}`.
import type { ErrorCode } from '../../../shared/result';
import { FILE_FAILURE_CODES, ReadError } from '../read-error';

export const RASTER_FAILURES = [
  'not-found', // no such file
  'io', // the file system refused
  'bad-magic', // neither a PNG signature nor a JPEG SOI marker
  'malformed', // a chunk, marker segment or CRC is wrong
  'truncated', // the file ends before the image does
  'unsupported', // e.g. 12-bit or lossless JPEG, CMYK, an unknown PNG colour type
  'too-large', // decoding would allocate more than the caller allows
  'decode-failed', // the codec rejected the stream
] as const;

export type RasterFailure = (typeof RASTER_FAILURES)[number];

const API_CODE: Record<RasterFailure, ErrorCode> = { ...FILE_FAILURE_CODES, 'decode-failed': 'corrupt' };

export class RasterError extends ReadError<RasterFailure> {
  constructor(failure: RasterFailure, message: string, cause?: unknown) {
    super(failure, API_CODE, message, cause);
    this.name = 'RasterError';
  }
}

export function isRasterError(e: unknown): e is RasterError {
  return e instanceof RasterError;
}
