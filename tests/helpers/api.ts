// The backend's typed client (in-process transport) for tests: each call goes through the
// contract's schemas like the renderer's, and an error result throws (`code: message`).
import type { Api, ServiceName } from '../../src/shared/contract';
import { unwrap } from '../../src/shared/contract/client';
import type { Result } from '../../src/shared/result';

type Unwrapped<F> = F extends (...args: infer A) => Promise<Result<infer R>> ? (...args: A) => Promise<R> : never;
export type CallApi = { [S in ServiceName]: { [M in keyof Api[S]]: Unwrapped<Api[S][M]> } };

/** `call(backend).viewer.frame({ imageId })` resolves to the frame or throws its error. */
export function call(backend: { api: Api }): CallApi {
  return new Proxy({} as CallApi, {
    get: (_t, service: string) =>
      new Proxy(
        {},
        {
          get: (_s, method: string) => async (input?: unknown) => {
            const methods = backend.api[service as ServiceName] as unknown as Record<
              string,
              (input?: unknown) => Promise<Result<unknown>>
            >;
            return unwrap(await methods[method]!(input));
          },
        },
      ),
  });
}
