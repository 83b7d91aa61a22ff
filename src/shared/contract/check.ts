// The compile-time tie between a contract's schema map and its service interfaces. Each service
// interface derives its inputs from its schemas (`z.input<typeof xMethods.m>`); this check makes
// a slip a compile error: a service or a method on one side only, or an input that differs.
// `index.ts` applies it to the real contract; tests/contract/check.test.ts shows it failing on a
// deliberately mismatched fixture.
import type { z } from 'zod';

type AnyFn = (...args: never[]) => unknown;

/** A method's input as the transport sees it: a method without parameters takes `undefined`. */
type InputOf<F> = F extends (...args: infer A) => unknown ? (A extends [] ? undefined : A[0]) : never;

/** Mutual assignability, which is what a caller and a dispatcher both rely on. */
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

type Keys<T> = Extract<keyof T, string>;

/** What is wrong with one service, as readable keys; `never` when nothing is. */
type ServiceProblems<Schemas, Service> =
  | { [M in Exclude<Keys<Schemas>, Keys<Service>>]: `method ${M} has a schema but no implementation in the interface` }[Exclude<
      Keys<Schemas>,
      Keys<Service>
    >]
  | { [M in Exclude<Keys<Service>, Keys<Schemas>>]: `method ${M} is in the interface but has no schema` }[Exclude<
      Keys<Service>,
      Keys<Schemas>
    >]
  | {
      [M in Keys<Schemas> & Keys<Service>]: Schemas[M] extends z.ZodType
        ? Service[M] extends AnyFn
          ? Same<InputOf<Service[M]>, z.input<Schemas[M]>> extends true
            ? never
            : `method ${M}: the interface's input differs from z.input of its schema`
          : `method ${M} is not a function in the interface`
        : `method ${M}: its schema is not a zod type`;
    }[Keys<Schemas> & Keys<Service>];

/** Every problem of a schema map against its service interfaces, prefixed by service; `never` when they agree. */
export type ContractProblems<Contract, Services> =
  | { [S in Exclude<Keys<Contract>, Keys<Services>>]: `service ${S} has schemas but no interface` }[Exclude<
      Keys<Contract>,
      Keys<Services>
    >]
  | { [S in Exclude<Keys<Services>, Keys<Contract>>]: `service ${S} has an interface but no schemas` }[Exclude<
      Keys<Services>,
      Keys<Contract>
    >]
  | { [S in Keys<Contract> & Keys<Services>]: `${S}: ${ServiceProblems<Contract[S], Services[S]>}` }[Keys<Contract> &
      Keys<Services>];

/**
 * `true` when the schema map and the interfaces agree; otherwise a type that `true` is not
 * assignable to, whose text names each problem. Use: `const ok: ContractAgrees<C, S> = true;`.
 */
export type ContractAgrees<Contract, Services> = [ContractProblems<Contract, Services>] extends [never]
  ? true
  : { problems: ContractProblems<Contract, Services> };
