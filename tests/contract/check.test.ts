// The contract's compile-time check (src/shared/contract/check.ts) must fail to compile on a
// schema map and interfaces that disagree, and compile a pair that agrees. Each fixture is a tiny
// source file type-checked by the TypeScript compiler with the project's options.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const dir = path.join(root, '.tmp', `contract-check-${process.pid}`);
const checkModule = path.join(root, 'src/shared/contract/check').replaceAll('\\', '/');

const header = `import { z } from 'zod';
import type { ContractAgrees } from '${checkModule}';
const thingsMethods = {
  get: z.object({ id: z.number().int() }).strict(),
  list: z.object({ limit: z.number().default(10) }).strict().prefault({}),
  count: z.undefined(),
};
`;

const fixtures: Record<string, { body: string; expect: string | null }> = {
  agrees: {
    body: `interface Things {
  get(input: z.input<typeof thingsMethods.get>): Promise<string>;
  list(input?: z.input<typeof thingsMethods.list>): Promise<string[]>;
  count(): Promise<number>;
}`,
    expect: null,
  },
  'input differs': {
    body: `interface Things {
  get(input: { id: string }): Promise<string>;
  list(input?: { limit?: number }): Promise<string[]>;
  count(): Promise<number>;
}`,
    expect: "things: method get: the interface's input differs from z.input of its schema",
  },
  'method without schema': {
    body: `interface Things {
  get(input: { id: number }): Promise<string>;
  list(input?: { limit?: number }): Promise<string[]>;
  count(): Promise<number>;
  drop(input: { id: number }): Promise<void>;
}`,
    expect: 'things: method drop is in the interface but has no schema',
  },
  'schema without method': {
    body: `interface Things {
  get(input: { id: number }): Promise<string>;
  list(input?: { limit?: number }): Promise<string[]>;
}`,
    expect: 'things: method count has a schema but no implementation in the interface',
  },
  'no-argument method given a schema with input': {
    body: `interface Things {
  get(): Promise<string>;
  list(input?: { limit?: number }): Promise<string[]>;
  count(): Promise<number>;
}`,
    expect: "things: method get: the interface's input differs from z.input of its schema",
  },
};

function diagnostics(): Map<string, string[]> {
  mkdirSync(dir, { recursive: true });
  const files = Object.entries(fixtures).map(([name, f], i) => {
    const file = path.join(dir, `fixture-${i}.ts`);
    writeFileSync(
      file,
      `${header}${f.body}\nexport const ok: ContractAgrees<{ things: typeof thingsMethods }, { things: Things }> = true;\n`,
    );
    return [name, file] as const;
  });
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path.join(root, 'tsconfig.json'),
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} },
  );
  if (!parsed) throw new Error('tsconfig.json did not parse');
  const program = ts.createProgram(
    files.map(([, f]) => f),
    parsed.options,
  );
  const out = new Map<string, string[]>();
  for (const [name, file] of files) {
    const source = program.getSourceFile(file)!;
    const messages = [...program.getSemanticDiagnostics(source), ...program.getSyntacticDiagnostics(source)].map((d) =>
      ts.flattenDiagnosticMessageText(d.messageText, '\n'),
    );
    out.set(name, messages);
  }
  return out;
}

describe('contract check', () => {
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const results = diagnostics();

  it.each(Object.entries(fixtures))('%s', (name, fixture) => {
    const messages = results.get(name)!;
    if (fixture.expect === null) expect(messages).toEqual([]);
    else {
      expect(messages.length).toBeGreaterThan(0);
      expect(messages.join('\n')).toContain(fixture.expect);
    }
  });
});
