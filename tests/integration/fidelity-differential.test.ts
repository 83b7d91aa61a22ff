// Issue 14, kind 4: the fast header path and the full reader never disagree on a field the
// index uses (values, notes, failures), over every fixture file and every case's inputs.
import { readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { readFastRecords } from '../../src/main/import/fast-records';
import { readDicomRecords } from '../../src/main/import/read-dicom';
import { caseNames, makeCase } from '../helpers/cases';
import { dataDir, requireFixtures } from '../fixtures';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true })
    .map((f) => path.join(dir, String(f)))
    .filter((f) => statSync(f).isFile() && !f.endsWith('.py') && !f.endsWith('.md'));
}

describe('fast header path vs full reader', () => {
  requireFixtures();
  const cases = caseNames().map(makeCase);
  afterAll(() => cases.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('agree on every fixture file and every case input the fast path takes', () => {
    let accepted = 0;
    let refused = 0;
    // Files whose Slice Thickness the fast path read: the field is compared, not absent on both sides.
    let withThickness = 0;
    const disagreements: string[] = [];
    for (const file of [...files(dataDir), ...cases.flatMap(files)]) {
      const bytes = readFileSync(file);
      const fast = readFastRecords(bytes);
      if (fast === null) continue;
      if (fast.status === 'image') accepted++;
      else refused++;
      if (fast.status === 'image' && fast.frames.some((f) => f.sliceThickness !== null)) withThickness++;
      const full = readDicomRecords(bytes);
      // The notes' order follows each reader's walk; their content must agree.
      for (const o of [fast, full]) if (o.status === 'image' && o.notes) o.notes.sort();
      try {
        expect(fast).toEqual(full);
      } catch {
        disagreements.push(`${path.basename(file)}: ${differences(fast, full).join('; ')}`);
      }
    }
    expect(disagreements).toEqual([]);
    expect(accepted).toBeGreaterThan(100);
    expect(withThickness).toBeGreaterThan(20);
    expect(refused).toBeGreaterThan(0); // case 20's file cut in its pixels
  });
});

/** Paths where two JSON values differ, with both values: what a failure message needs. */
function differences(a: unknown, b: unknown, at = ''): string[] {
  if (JSON.stringify(a) === JSON.stringify(b)) return [];
  if (a && b && typeof a === 'object' && typeof b === 'object') {
    const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
    return [...keys].flatMap((k) =>
      differences((a as Record<string, unknown>)[k], (b as Record<string, unknown>)[k], `${at}.${k}`),
    );
  }
  return [`${at}: fast ${JSON.stringify(a)} full ${JSON.stringify(b)}`];
}
