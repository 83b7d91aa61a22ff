// Issue 23 item 7: the reasons an import gives are true and in words. Public test files with one
// damage each, made here byte for byte: a damaged UID is a damaged file (not "no pixel data"),
// nothing read from a damaged file is echoed, the missing attribute is named, and no library
// prints to the console while the import reads.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createBackend } from '../../src/main/backend';
import { readRecords } from '../../src/main/import/read-file';
import { REASON_PREFIXES } from '../../src/main/import/reasons';
import { requireFixtures, sources } from '../fixtures';
import { capturingOutput } from '../helpers/output';
import { tempDir } from '../helpers/temp';

requireFixtures();
const file = (name: string) => new Uint8Array(readFileSync(path.join(sources.pydicom, 'test_files', name)));

/** `bytes` with the `nth` occurrence of `from` replaced by `to` (same length). */
function patch(bytes: Uint8Array, from: string | number[], to: string | number[], nth = 0): Uint8Array {
  const out = Buffer.from(bytes);
  const f = typeof from === 'string' ? Buffer.from(from, 'latin1') : Buffer.from(from);
  const t = typeof to === 'string' ? Buffer.from(to, 'latin1') : Buffer.from(to);
  let at = -1;
  for (let k = 0; k <= nth; k++) at = out.indexOf(f, at + 1);
  if (at < 0 || f.length !== t.length) throw new Error(`test set-up: ${String(from)} not found`);
  t.copy(out, at);
  return new Uint8Array(out);
}
const everywhere = (bytes: Uint8Array, from: string, to: string) => patch(patch(bytes, from, to), from, to);

const CT = '1.2.840.10008.5.1.4.1.1.2';
const DAMAGED_CT = '1.2.840.10008.5.1.4.\xff\xff\xff.2';
// (0010,1002) Other Patient IDs Sequence, explicit length 72: made to run past the end of the file.
const SEQUENCE = [0x10, 0x00, 0x02, 0x10, 0x53, 0x51, 0, 0, 72, 0, 0, 0];
const SEQUENCE_PAST_END = [0x10, 0x00, 0x02, 0x10, 0x53, 0x51, 0, 0, 0xf0, 0xff, 0xff, 0xff];

function srWithDamagedSopClass(): Uint8Array {
  const sr = file('test-SR.dcm');
  const uid = /1\.2\.840\.10008\.5\.1\.4\.1\.1\.88\.\d+/.exec(Buffer.from(sr).toString('latin1'))![0];
  return everywhere(sr, uid, `${uid.slice(0, 19)}\xff\xff\xff${uid.slice(22)}`);
}

async function reasonOf(bytes: Uint8Array): Promise<{ status: string; reason: string; notes: string[] }> {
  const r = await readRecords('test.dcm', bytes, '');
  return { status: r.status, reason: 'reason' in r ? r.reason : '', notes: r.status === 'image' ? (r.notes ?? []) : [] };
}

/** A byte a reader might echo from a damaged file: anything outside printable ASCII and our own punctuation. */
const RAW = /[^\x20-\x7e×…]/;

describe('true reasons for damaged DICOM files', () => {
  it('calls a file whose SOP Class UID is damaged damaged, and never echoes the UID', async () => {
    const sr = await reasonOf(srWithDamagedSopClass());
    expect(sr.status).toBe('failed');
    expect(sr.reason).toBe('damaged file: its header cannot be read (its SOP Class UID is damaged)');
    // The example: an image whose SOP Class UID is damaged and whose data set is read
    // wrongly before its Pixel Data was "skipped: … has no pixel data", its UID echoed.
    const ct = await reasonOf(patch(everywhere(file('CT_small.dcm'), CT, DAMAGED_CT), SEQUENCE, SEQUENCE_PAST_END));
    expect(ct.status).toBe('failed');
    expect(ct.reason).not.toMatch(/no pixel data/);
    expect(ct.reason).toMatch(/^damaged/);
    for (const r of [sr, ct]) expect(r.reason).not.toMatch(RAW);
  });

  it('says "damaged before its pixel data", not "no pixel data", when the parse misses Pixel Data', async () => {
    const r = await reasonOf(patch(file('CT_small.dcm'), SEQUENCE, SEQUENCE_PAST_END));
    expect(r).toMatchObject({
      status: 'failed',
      reason: 'damaged file: its header cannot be read (damaged before its pixel data)',
    });
  });

  it('names the attribute that is missing or invalid', async () => {
    // (0028,0010) Rows renamed (0028,000F), a tag no image needs.
    const noRows = await reasonOf(patch(file('CT_small.dcm'), [0x28, 0, 0x10, 0, 0x55, 0x53], [0x28, 0, 0x0f, 0, 0x55, 0x53]));
    expect(noRows.reason).toBe('damaged image: an attribute needed to show it is missing or invalid (Rows)');
    const photometric = await reasonOf(patch(file('CT_small.dcm'), 'MONOCHROME2', 'MON\xff\xff\xffROME2'));
    expect(photometric.reason).toBe(
      'damaged image: an attribute needed to show it is missing or invalid (Photometric Interpretation)',
    );
    const syntax = await reasonOf(patch(file('CT_small.dcm'), '1.2.840.10008.1.2.1', '1.2.840*10008.1.2.1'));
    expect(syntax.reason).toBe('damaged file: its header cannot be read (its Transfer Syntax UID is damaged)');
  });

  it('does not echo a damaged number in a note', async () => {
    const bytes = Buffer.from(file('CT_small.dcm'));
    const at = bytes.indexOf(Buffer.from([0x18, 0x00, 0x50, 0x00, 0x44, 0x53])); // (0018,0050) Slice Thickness DS
    bytes.fill(0xff, at + 8, at + 8 + bytes.readUInt16LE(at + 6));
    const r = await reasonOf(new Uint8Array(bytes));
    expect(r).toMatchObject({ status: 'image', notes: ['Slice Thickness is not a valid decimal string: ignored'] });
  });

  describe('through the real import', () => {
    const tmp = tempDir();
    afterAll(() => tmp.cleanup());

    it('reports each with a reason from the closed set, and no library writes to the console', async () => {
      const folder = path.join(tmp.dir, 'in');
      const files: Record<string, Uint8Array> = {
        'sr-sop.dcm': srWithDamagedSopClass(),
        'ct-derailed.dcm': patch(everywhere(file('CT_small.dcm'), CT, DAMAGED_CT), SEQUENCE, SEQUENCE_PAST_END),
        // (0010,1030) Patient's Weight relabelled AS: dcmjs printed "Invalid length for fixed length
        // tag, vr AS, length 4 != 8". (0008,0018) SOP Instance UID renamed (0008,0017), so that the
        // full reader (dcmjs) reads it, taking the UID from the file meta.
        'ct-age.dcm': patch(
          patch(file('CT_small.dcm'), [0x10, 0, 0x30, 0x10, 0x44, 0x53], [0x10, 0, 0x30, 0x10, 0x41, 0x53]),
          [0x08, 0, 0x18, 0, 0x55, 0x49],
          [0x08, 0, 0x17, 0, 0x55, 0x49],
        ),
      };
      mkdirSync(folder, { recursive: true });
      for (const [name, bytes] of Object.entries(files)) writeFileSync(path.join(folder, name), bytes);
      const printed = await capturingOutput(async () => {
        const b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
        try {
          const started = await b.services.import.start({ paths: [folder] });
          expect((await b.importer.wait(started.jobId)).status).toBe('done');
          const items = b.db.prepare('SELECT path, status, reason FROM import_items WHERE job_id = ?').all(started.jobId) as {
            path: string;
            status: string;
            reason: string;
          }[];
          const by = Object.fromEntries(items.map((i) => [path.basename(i.path), i]));
          expect(by['sr-sop.dcm']).toMatchObject({
            status: 'failed',
            reason: 'damaged file: its header cannot be read (its SOP Class UID is damaged)',
          });
          expect(by['ct-derailed.dcm']?.status).toBe('failed');
          expect(by['ct-age.dcm']?.status).toBe('imported');
          for (const i of items.filter((i) => i.status === 'failed'))
            expect(
              REASON_PREFIXES.some((p) => i.reason.startsWith(p)),
              i.reason,
            ).toBe(true);
        } finally {
          b.close();
        }
      });
      expect(printed.filter((l) => /Invalid length|fixed length tag/.test(l))).toEqual([]);
    }, 120_000);
  });
});
