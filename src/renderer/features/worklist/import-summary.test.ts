import { describe, expect, it } from 'vitest';
import { importSummary } from './import-summary';

const report = (imported: number, duplicate: number, skipped = 0, failed = 0, status = 'done') => ({
  counts: { imported, duplicate, skipped, failed },
  job: { status },
});

describe('import summary', () => {
  it('says what happened in words: already loaded, nothing to import, or the counts that matter', () => {
    expect(importSummary(report(0, 40), true)).toBe('Demo studies already loaded');
    expect(importSummary(report(0, 1))).toBe('Already in the worklist: the file was imported before');
    expect(importSummary(report(0, 0))).toMatch(/^The folder held nothing to import/);
    expect(importSummary(report(12, 0))).toBe('12 imported');
    expect(importSummary(report(50, 3, 2, 1))).toBe('50 imported, 3 already there, 2 skipped, 1 failed');
    expect(importSummary(report(3, 0, 0, 0, 'cancelled'))).toBe('Cancelled after 3 files imported');
  });
});
