// A test whose input is missing must fail or skip saying why, never pass: no `return` in an
// `it`/`test` body before it has asserted anything. (A return after an assertion — narrowing a
// union once `expect` has checked it — is fine: a wrong value has failed the test already.)
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const root = path.resolve(import.meta.dirname, '..', '..');
const TEST_CALLS = new Set(['it', 'test']);

/** The identifier a call chain starts from: `it` for `it.skipIf(x)('name', fn)` or `it.each(rows)(…)`. */
function baseName(e: ts.Expression): string {
  while (ts.isCallExpression(e) || ts.isPropertyAccessExpression(e)) e = e.expression;
  return ts.isIdentifier(e) ? e.text : '';
}

/** `expect(…)`, `expect.hasAssertions()`, `assert…(…)` or a helper named `expect…(…)`. */
function isAssertion(node: ts.Node): boolean {
  if (!ts.isCallExpression(node)) return false;
  const name = baseName(node.expression);
  return name.startsWith('expect') || name.startsWith('assert');
}

/** Every `return` in a test body that runs before any assertion: "file:line: text". */
export function earlyReturns(file: string, text: string): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isCallExpression(node) && TEST_CALLS.has(baseName(node.expression))) {
      const body = node.arguments.find(
        (a): a is ts.ArrowFunction | ts.FunctionExpression => ts.isArrowFunction(a) || ts.isFunctionExpression(a),
      )?.body;
      if (body && ts.isBlock(body)) {
        const last = body.statements[body.statements.length - 1];
        let asserted = false;
        const walk = (n: ts.Node): void => {
          if (ts.isFunctionLike(n)) return; // a callback's own return is not the test's
          if (isAssertion(n)) asserted = true;
          if (ts.isReturnStatement(n) && n !== last && !asserted) {
            const { line } = source.getLineAndCharacterOfPosition(n.getStart());
            found.push(`${file}:${line + 1}: ${n.parent.getText().split('\n')[0]}`);
          }
          ts.forEachChild(n, walk);
        };
        body.statements.forEach(walk);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

function testFiles(dir: string): string[] {
  return readdirSync(path.join(root, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts') && !f.split(path.sep).includes('data'))
    .map((f) => path.join(dir, f));
}

describe('test bodies', () => {
  it('return early only after an assertion, in every test file', () => {
    const files = [...testFiles('src'), ...testFiles('tests')];
    expect(files.length).toBeGreaterThan(50);
    const found = files.flatMap((f) => earlyReturns(f, readFileSync(path.join(root, f), 'utf8')));
    expect(found, 'a missing input must fail, or skip with skipTitle (tests/helpers/skip.ts)').toEqual([]);
  });

  it('the check finds what it is for, and lets the rest be', () => {
    const flagged = earlyReturns(
      'x.test.ts',
      [
        "it('a', () => { if (!existsSync(f)) return; expect(1).toBe(1); });",
        "it.each(rows)('%s', async (r) => { for (const x of r) { if (!x) return; } expect(r).toBeTruthy(); });",
        "it.skipIf(c)('b', () => { const f = find(); if (!f) return; check(f); });",
      ].join('\n'),
    );
    expect(flagged.map((f) => f.split(':')[1])).toEqual(['1', '2', '3']);
    const clean = earlyReturns(
      'x.test.ts',
      [
        "it('c', () => { expect(p.ok).toBe(true); if (!p.ok) return; expect(p.v).toBe(1); });",
        "it('d', () => { const xs = list.map((x) => { if (!x) return 0; return x; }); expect(xs).toEqual([]); });",
        "it('e', () => { expectRamp(v); if (v.done) return; });",
        "it('f', () => { return run().then((r) => expect(r).toBe(1)); });",
        "describe('g', () => { if (skip) return; it('h', () => {}); });",
      ].join('\n'),
    );
    expect(clean).toEqual([]);
  });
});
