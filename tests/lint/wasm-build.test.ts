// The committed WebAssembly bytes (src/shared/imaging/wasm/*-wasm.ts) are exactly what
// scripts/build-wasm.mjs compiles from their text source: neither can change without the other.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT } from '../helpers/serve';

const DIR = path.join(ROOT, 'src', 'shared', 'imaging', 'wasm');

describe('WebAssembly modules', () => {
  const sources = readdirSync(DIR).filter((f) => f.endsWith('.wat'));

  it('there is at least the softmax kernel', () => {
    expect(sources).toContain('softmax.wat');
  });

  it.each(sources)('%s: its -wasm.ts holds exactly the bytes scripts/build-wasm.mjs compiles from it', async (wat) => {
    const build = (await import(path.join(ROOT, 'scripts', 'build-wasm.mjs'))) as {
      compile(file: string): Promise<{ ts: string; out: string }>;
    };
    const { ts, out } = await build.compile(path.join(DIR, wat));
    const committed = (await import(out)) as Record<string, string>;
    const expected = /'([^']+)'/.exec(ts)![1]!;
    expect(Object.values(committed)).toEqual([expected]);
  });
});
