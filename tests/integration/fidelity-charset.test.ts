// Issue 14, kind 1: text under every Specific Character Set decodes as pydicom decodes it (case 03
// and pydicom's own charset_files), names in all three component groups; never raw escape bytes.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { readDicom } from '../../src/main/imaging/dicom';
import { makeCase } from '../helpers/cases';
import { tempDir } from '../helpers/temp';
import { requireFixtures, sources } from '../fixtures';

// Each test makes its case with Python and imports it with the real worker: slow on a loaded machine.
vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

const CHARSETS = path.join(sources.pydicom, 'charset_files');

/** pydicom's reading: PatientName (str: groups joined by '='), StudyDescription, SeriesDescription. */
function pydicomTexts(files: string[]): Record<string, { name: string; study: string; series: string }> {
  const script = [
    'import json, sys, pydicom',
    'out = {}',
    'for f in sys.argv[1:]:',
    '    d = pydicom.dcmread(f, force=True)',
    "    g = lambda k: str(d.get(k, '') or '')",
    "    out[f] = {'name': g('PatientName').rstrip('='), 'study': g('StudyDescription'), 'series': g('SeriesDescription')}",
    'print(json.dumps(out))',
  ].join('\n');
  return JSON.parse(execFileSync('/usr/bin/python3', ['-c', script, ...files], { encoding: 'utf8' })) as Record<
    string,
    { name: string; study: string; series: string }
  >;
}

describe('character sets', () => {
  requireFixtures();
  const tmp = tempDir();
  const case03 = makeCase('03-japanese-iso2022-ir87');
  afterAll(() => {
    rmSync(case03, { recursive: true, force: true });
    tmp.cleanup();
  });

  it('imports case 03 with the kanji in the descriptions and all three name groups, and no note', async () => {
    const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    try {
      const started = await b.services.import.start({ paths: [path.join(case03, 'jp_iso2022.dcm')] });
      await b.importer.wait(started.jobId);
      const report = await b.services.import.report({ jobId: started.jobId });
      expect(report.counts).toMatchObject({ imported: 1, failed: 0 });
      expect(report.notes).toEqual([]);
      expect(b.db.prepare('SELECT name FROM patients').pluck().get()).toBe('Tanaka^Yumi=田中^由美=たなか^ゆみ');
      expect(b.db.prepare('SELECT description FROM studies').pluck().get()).toBe('頭部ＭＲＩ');
      expect(b.db.prepare('SELECT description FROM series').pluck().get()).toBe('造影後');
    } finally {
      b.close();
    }
  });

  it('decodes every pydicom character set file exactly as pydicom does', () => {
    const files = readdirSync(CHARSETS)
      .filter((f) => f.endsWith('.dcm'))
      .map((f) => path.join(CHARSETS, f));
    expect(files.length).toBeGreaterThan(15);
    const reference = pydicomTexts(files);
    const mismatches: string[] = [];
    for (const file of files) {
      const { header } = readDicom(readFileSync(file)).parsed;
      const ours = { name: header.patient.name, study: header.study.description, series: header.series.description };
      const theirs = reference[file]!;
      if (JSON.stringify(ours) !== JSON.stringify(theirs))
        mismatches.push(`${path.basename(file)}: ours ${JSON.stringify(ours)} pydicom ${JSON.stringify(theirs)}`);
      expect(JSON.stringify(ours)).not.toMatch(/\\u001b/);
    }
    expect(mismatches).toEqual([]);
  });
});
