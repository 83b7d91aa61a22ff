// A test or suite that cannot run here says why in its name: scripts/test.mjs lists every skip
// with the reason after `— skipped:` at the end of `npm test`, and counts a skip without one as
// a failure. Use as `describe.skipIf(reason)(skipTitle('title', reason), …)`: '' runs it.
import { existsSync } from 'node:fs';
import path from 'node:path';

/** `title — skipped: reason` when there is a reason to skip, else `title` unchanged. */
export function skipTitle(title: string, reason: string): string {
  return reason ? `${title} — skipped: ${reason}` : title;
}

/** '' when every path exists, else the reason naming the first missing one (relative to the repository). */
export function missingPath(...paths: string[]): string {
  const root = path.resolve(import.meta.dirname, '..', '..');
  const gone = paths.find((p) => !existsSync(p));
  if (gone === undefined) return '';
  const where = path.relative(root, gone).startsWith('..') ? gone : path.relative(root, gone);
  return where.includes(`tests${path.sep}fixtures${path.sep}data`)
    ? `${where} is missing (run bash tests/fixtures/setup.sh)`
    : `${where} is missing`;
}
