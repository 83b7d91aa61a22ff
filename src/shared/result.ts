// Errors cross every process boundary as data, never as thrown exceptions: the renderer
// switches on `code`, which is a closed union so a new code is a compile error where unhandled.

export const ERROR_CODES = [
  'invalid-input', // the request failed schema validation
  'not-found', // the thing named does not exist
  'conflict', // the request contradicts current state (e.g. a job already running)
  'unauthorized', // the transport refused the caller
  'unavailable', // a capability is missing on this machine (Python, a GPU provider)
  'cancelled', // the user or the system cancelled the work
  'unsupported', // the input is understood but not supported (e.g. a transfer syntax)
  'corrupt', // the input is damaged
  'io', // the file system refused
  'internal', // a bug: anything not classified above
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export interface ApiError {
  code: ErrorCode;
  message: string;
  /** Optional structured detail, e.g. the schema issues of an invalid input. */
  details?: unknown;
}

export type Result<T> = { ok: true; value: T } | { ok: false; error: ApiError };

export function ok<T>(value: T): Result<T> {
  return { ok: true, value };
}

export function fail(code: ErrorCode, message: string, details?: unknown): Result<never> {
  return { ok: false, error: details === undefined ? { code, message } : { code, message, details } };
}

/** An error a service throws on purpose; the dispatcher turns it into `{ok:false}` with its code. */
export class ServiceError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ServiceError';
  }
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (ERROR_CODES as readonly string[]).includes(value);
}

/** Ends an exhaustive switch: fails to compile when a case is missing. */
export function exhaustive(value: never, what = 'value'): never {
  throw new Error(`unhandled ${what}: ${JSON.stringify(value)}`);
}
