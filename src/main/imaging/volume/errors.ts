// Every way reading a NIfTI / NRRD / MetaImage file can fail, as one typed error with a reason a
// person can act on. It is a ServiceError, so the dispatcher turns it into `{ok:false, error}`.
import type { ErrorCode } from '../../../shared/result';
import { describeThrown, FILE_FAILURE_CODES, ReadError } from '../read-error';

/** Text of any thrown value, for wrapping a third-party failure in a typed error. */
export const describe = describeThrown;

export const VOLUME_FAILURES = [
  'not-found', // the file (or a detached data file it names) does not exist
  'io', // the file system refused
  'bad-magic', // the bytes are not the format the name or caller says
  'malformed', // the header is damaged or self-contradictory
  'truncated', // fewer data bytes than the header promises
  'unsupported', // understood but not supported (NIfTI-2, complex voxels, bzip2 NRRD …)
  'too-large', // reading would allocate more than the caller allows
  'read-failed', // ITK refused the file after our own checks passed
] as const;

export type VolumeFailure = (typeof VOLUME_FAILURES)[number];

const API_CODE: Record<VolumeFailure, ErrorCode> = { ...FILE_FAILURE_CODES, 'read-failed': 'corrupt' };

export class VolumeError extends ReadError<VolumeFailure> {
  constructor(failure: VolumeFailure, message: string, cause?: unknown) {
    super(failure, API_CODE, message, cause);
    this.name = 'VolumeError';
  }
}

export function isVolumeError(e: unknown): e is VolumeError {
  return e instanceof VolumeError;
}

/** Maps a file-system error to not-found / io. */
export function fsError(e: unknown, what: string): VolumeError {
  const code = (e as { code?: unknown } | null)?.code;
  if (code === 'ENOENT' || code === 'ENOTDIR') return new VolumeError('not-found', `${what} does not exist`, e);
  return new VolumeError('io', `cannot read ${what}: ${describe(e)}`, e);
}
