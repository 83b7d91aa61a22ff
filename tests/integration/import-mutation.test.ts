// Issue 14, widened by issue 23 item 10: seeded mutations of public test files (bit flips,
// truncation, absurd lengths and sizes, a wrong transfer syntax, zeroed runs) through the real
// import, on every `npm test`. Five counts, each must be zero: crashes (an import job fails or
// throws), hangs (it does not finish in time), unreported files, raw messages (a reason or note
// that is a library's text, holds bytes of the file, or is not from the closed set; a line a
// library printed to the console) and damaged files called "no pixel data" (their Pixel Data
// element still in the bytes).
//
// How many: 10,000 files in seed order, imported in batches of 2,000, as many batches as fit in
// three minutes (LGMS_MUTATION_BUDGET_S), at least one. On the shared 2-core machine that was
// 10,000 at a load average of ~7 and 4,000 at ~20 (docs/benchmarks.md). LGMS_MUTATIONS=n imports
// exactly n files whatever the time; LGMS_MUTATION_SEED changes the seed.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { REASON_PREFIXES } from '../../src/main/import/reasons';
import { mulberry32 as prng } from '../../src/shared/random';
import { dataDir, requireFixtures } from '../fixtures';
import { mutate, mutationSources } from '../helpers/mutations';
import { capturingOutput } from '../helpers/output';
import { tempDir } from '../helpers/temp';

const FIXED = process.env['LGMS_MUTATIONS'] === undefined ? null : Number(process.env['LGMS_MUTATIONS']);
const COUNT = FIXED ?? 10_000;
const BATCH = 2_000;
const BUDGET_MS = FIXED === null ? Number(process.env['LGMS_MUTATION_BUDGET_S'] ?? 180) * 1000 : Infinity;
const SEED = Number(process.env['LGMS_MUTATION_SEED'] ?? 14);
/** A batch that has not finished by then hangs (2,000 files took 85 s at a load average of 20). */
const HANG_MS = Math.max(300_000, BATCH * 150);

/** Reasons for objects that are not images, written by our readers (sop-classes.ts, read-file.ts …). */
const NON_IMAGE = [
  / has no pixel data/,
  /^DICOMDIR/,
  /^not an image format/,
  /^DICOM SEG /,
  /^a header whose voxels/,
  /^same (file|SOP)/,
  /^images already/,
];
/** What a library's own message looks like: none of it may reach the report. */
const LIBRARY_TEXT =
  /is not a function|Cannot read prop|undefined|past end|buffer|offset (is )?out of|out of bounds|RangeError|TypeError|wasm|emscripten|exception|Invalid array length|\bat \w+ \(/i;
/** Bytes of a damaged file: anything outside printable ASCII and the punctuation our sentences use. */
const RAW_BYTES = /[^\x20-\x7e×…→—–]/;

/**
 * The 12 bytes that open a source's Pixel Data element (tag, VR, length: unique in the file), for
 * the DICOM sources that have one; a mutated copy that still holds them still holds its pixels.
 */
function pixelDataHeader(bytes: Uint8Array): Buffer | null {
  const b = Buffer.from(bytes);
  if (b.length < 144 || b.toString('latin1', 128, 132) !== 'DICM') return null;
  for (const tag of [
    [0xe0, 0x7f, 0x10, 0x00],
    [0x7f, 0xe0, 0x00, 0x10],
  ]) {
    const at = b.lastIndexOf(Buffer.from(tag));
    if (at > 132 && at + 12 <= b.length) return b.subarray(at, at + 12);
  }
  return null;
}

describe(`import of up to ${COUNT} mutated public test files${FIXED === null ? ', as many as fit in the time budget' : ''}`, () => {
  const manifest = requireFixtures();
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());

  it('never crashes or hangs, reports every file, gives only its own reasons and never calls a damaged image "no pixel data"', async () => {
    const started = Date.now();
    const sources = mutationSources(manifest);
    expect(sources.length).toBeGreaterThan(100);
    const random = prng(SEED);
    const headers = new Map<string, Buffer | null>();
    const counts = { crashes: 0, hangs: 0, unreported: 0, rawMessages: 0, damagedCalledNoPixelData: 0 };
    const totals = { files: 0, imported: 0, duplicate: 0, skipped: 0, failed: 0 };
    const examples: string[] = [];
    const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    try {
      for (let first = 0; first < COUNT; first += BATCH) {
        const batchStarted = Date.now();
        // Seed order: the files of a batch are the same whichever batches run before it.
        const size = Math.min(BATCH, COUNT - first);
        const folder = path.join(tmp.dir, `mutated-${first}`);
        mkdirSync(folder);
        const how = new Map<string, string>();
        const holdsPixels = new Set<string>();
        for (let i = first; i < first + size; i++) {
          const source = sources[Math.floor(random() * sources.length)]!;
          const original = readFileSync(source);
          const m = mutate(original, random);
          // Keep the extension: the name is how NIfTI, PNG and NRRD are recognised when the bytes are damaged.
          const name = path.join(folder, `${String(i).padStart(5, '0')}-${path.basename(source)}`);
          writeFileSync(name, m.bytes);
          how.set(name, `${path.relative(dataDir, source)}: ${m.how}`);
          if (!headers.has(source)) headers.set(source, pixelDataHeader(original));
          const header = headers.get(source);
          if (header && Buffer.from(m.bytes.buffer, m.bytes.byteOffset, m.bytes.byteLength).indexOf(header, 132) >= 0)
            holdsPixels.add(name);
        }

        let items: { path: string; status: string; reason: string }[] = [];
        const printed = await capturingOutput(async () => {
          try {
            const job = await b.services.import.start({ paths: [folder] });
            const outcome = await Promise.race([
              b.importer.wait(job.jobId),
              new Promise<'hang'>((r) => setTimeout(() => r('hang'), HANG_MS).unref()),
            ]);
            if (outcome === 'hang') counts.hangs++;
            else if (outcome.status !== 'done') {
              counts.crashes++;
              examples.push(`import job ${outcome.status}: ${outcome.error ?? ''}`);
            }
            const report = await b.services.import.report({ jobId: job.jobId, limit: size });
            for (const k of ['imported', 'duplicate', 'skipped', 'failed'] as const) totals[k] += report.counts[k];
            items = b.db.prepare('SELECT path, status, reason FROM import_items WHERE job_id = ?').all(job.jobId) as typeof items;
          } catch (e) {
            counts.crashes++;
            examples.push(`import threw: ${(e as Error).message}`);
          }
        });
        totals.files += size;

        counts.unreported += size - new Set(items.map((r) => r.path)).size;
        for (const r of items) {
          const text = r.reason ?? '';
          const refused = r.status === 'failed' || r.status === 'skipped';
          // An imported file's reason is its notes (what was repaired, assumed or left out).
          const foreign = refused && !(REASON_PREFIXES.some((p) => text.startsWith(p)) || NON_IMAGE.some((p) => p.test(text)));
          if (LIBRARY_TEXT.test(text) || RAW_BYTES.test(text) || foreign) {
            counts.rawMessages++;
            examples.push(`${how.get(r.path)} → ${r.status}: ${JSON.stringify(text)}`);
          }
          if (refused && /no pixel data/.test(text) && holdsPixels.has(r.path)) {
            counts.damagedCalledNoPixelData++;
            examples.push(`${how.get(r.path)} → ${r.status}: ${text} (its Pixel Data element is intact)`);
          }
        }
        for (const line of printed) {
          counts.rawMessages++;
          examples.push(`printed: ${line.slice(0, 200)}`);
        }
        const now = Date.now();
        console.info(
          `[mutations] files ${first}–${first + size - 1} (seed ${SEED}): ${((now - batchStarted) / 1000).toFixed(1)} s, ${holdsPixels.size} still hold their Pixel Data element`,
        );
        // Another batch only if it should end within the budget, judged by this one.
        if (now - started + (now - batchStarted) > BUDGET_MS) break;
      }
    } finally {
      b.close();
    }
    console.info(
      `[mutations] ${totals.files} files in ${((Date.now() - started) / 1000).toFixed(1)} s: ${JSON.stringify(totals)}`,
    );
    expect({ counts, examples: examples.slice(0, 20) }).toEqual({
      counts: { crashes: 0, hangs: 0, unreported: 0, rawMessages: 0, damagedCalledNoPixelData: 0 },
      examples: [],
    });
    // Every file reported once, and the mutations must bite: most files fail, some survive (a flip in pixel data is harmless).
    expect(totals.imported + totals.duplicate + totals.skipped + totals.failed).toBe(totals.files);
    expect(totals.failed).toBeGreaterThan(totals.files / 4);
    expect(totals.imported).toBeGreaterThan(0);
  }, 900_000);
});
