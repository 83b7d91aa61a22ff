// The one place a request enters the backend, whatever the transport: it checks the service and
// method names, validates the input against the contract's schema, and turns every outcome into
// a Result, so no exception and no unvalidated value ever crosses a process boundary.
import { contract, isMethodName, isServiceName, type Services } from '../../shared/contract';
import { fail, ok, ServiceError, type Result } from '../../shared/result';

export type Dispatch = (service: unknown, method: unknown, input: unknown) => Promise<Result<unknown>>;

export function createDispatch(services: Services, log: (message: string) => void = console.error): Dispatch {
  return async (service, method, input) => {
    if (!isServiceName(service)) return fail('not-found', `unknown service ${JSON.stringify(service)}`);
    if (!isMethodName(service, method)) return fail('not-found', `unknown method ${service}.${String(method)}`);
    const schema = contract[service][method] as {
      safeParse(v: unknown): { success: true; data: unknown } | { success: false; error: { issues: unknown[] } };
    };
    const parsed = schema.safeParse(input ?? undefined);
    if (!parsed.success) {
      return fail('invalid-input', `invalid input for ${service}.${method}`, parsed.error.issues);
    }
    const impl = services[service] as unknown as Record<string, (input: unknown) => Promise<unknown>>;
    try {
      return ok(await impl[method]!.call(services[service], parsed.data));
    } catch (e) {
      if (e instanceof ServiceError) return fail(e.code, e.message, e.details);
      log(`[${service}.${method}] ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
      return fail('internal', e instanceof Error ? e.message : String(e));
    }
  };
}
