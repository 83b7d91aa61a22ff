// The shared shape of the readers' typed errors (DICOM, volumes, rasters): a failure kind from
// the reader's closed list, mapped to the contract's error code, so the dispatcher turns it into
// `{ok:false, error:{code, message}}` and callers can still switch on the finer kind.
import { ServiceError, type ErrorCode } from '../../shared/result';

/** The failures the file readers share (volumes, rasters), with the contract code of each. */
export const FILE_FAILURE_CODES = {
  'not-found': 'not-found',
  io: 'io',
  'bad-magic': 'invalid-input',
  malformed: 'corrupt',
  truncated: 'corrupt',
  unsupported: 'unsupported',
  'too-large': 'unsupported',
} as const satisfies Record<string, ErrorCode>;

export abstract class ReadError<F extends string> extends ServiceError {
  constructor(
    readonly failure: F,
    codes: Record<F, ErrorCode>,
    message: string,
    override readonly cause?: unknown,
  ) {
    super(codes[failure], message, { failure });
  }
}

/** Text of any thrown value; Emscripten codecs throw a bare number (a C++ exception pointer). */
export function describeThrown(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (typeof e === 'number') return `WebAssembly exception #${e}`;
  return String(e);
}
