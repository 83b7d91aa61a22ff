// The cases from public bug reports (tests/fixtures/cases/<case>/: make.py and expected.md).
// Each test makes its inputs afresh: the case's generator runs with Debian's Python (pydicom,
// nibabel, numpy, Pillow: installed by tests/fixtures/setup.sh) in a temporary folder.
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fixturesDir } from '../fixtures';

export const CASES_DIR = path.join(fixturesDir, 'cases');

/** Runs the case's make.py in a fresh folder and returns that folder (the caller removes it). */
export function makeCase(name: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), `lgms-case-${name.slice(0, 2)}-`));
  copyFileSync(path.join(CASES_DIR, name, 'make.py'), path.join(dir, 'make.py'));
  execFileSync('/usr/bin/python3', ['make.py'], {
    cwd: dir,
    stdio: 'pipe',
    timeout: 60_000,
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
  });
  return dir;
}

/** The names of every case folder. */
export function caseNames(): string[] {
  return readdirSync(CASES_DIR, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}
