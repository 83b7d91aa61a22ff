// 12-bit JPEG (Process 4) through GDCM in itk-wasm: the one syntax the Cornerstone codecs
// cannot decode. GDCM's pipeline reads files only and applies rescale and colour handling of
// its own, so we hand it a minimal file we write ourselves — one frame, pixel module only,
// MONOCHROME2 — and get back exactly the stored values.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { CodecFrame } from './codecs';
import { DicomError, describe } from './errors';
import { LONG_VRS } from './vr';

export interface MinimalPixelModule {
  rows: number;
  columns: number;
  samplesPerPixel: number;
  bitsAllocated: number;
  bitsStored: number;
  signed: boolean;
}

class Writer {
  private chunks: Uint8Array[] = [];
  private size = 0;

  bytes(b: Uint8Array): void {
    this.chunks.push(b);
    this.size += b.length;
  }

  element(group: number, element: number, vr: string, value: Uint8Array | string | number): void {
    let v: Uint8Array;
    if (typeof value === 'number') {
      v = new Uint8Array(2);
      new DataView(v.buffer).setUint16(0, value, true);
    } else if (typeof value === 'string') {
      const padded = value.length % 2 ? value + (vr === 'UI' ? '\0' : ' ') : value;
      v = Uint8Array.from(padded, (c) => c.charCodeAt(0));
    } else v = value;
    const long = LONG_VRS.has(vr);
    const h = new Uint8Array(long ? 12 : 8);
    const dv = new DataView(h.buffer);
    dv.setUint16(0, group, true);
    dv.setUint16(2, element, true);
    h[4] = vr.charCodeAt(0);
    h[5] = vr.charCodeAt(1);
    if (long) dv.setUint32(8, v.length, true);
    else dv.setUint16(6, v.length, true);
    this.bytes(h);
    this.bytes(v);
  }

  item(group: number, element: number, value: Uint8Array | null): void {
    const h = new Uint8Array(8);
    const dv = new DataView(h.buffer);
    dv.setUint16(0, group, true);
    dv.setUint16(2, element, true);
    dv.setUint32(4, value === null ? 0xffffffff : value.length, true);
    this.bytes(h);
    if (value) this.bytes(value);
  }

  concat(): Uint8Array {
    const out = new Uint8Array(this.size);
    let pos = 0;
    for (const c of this.chunks) {
      out.set(c, pos);
      pos += c.length;
    }
    return out;
  }
}

const JPEG_EXTENDED = '1.2.840.10008.1.2.4.51';
const SECONDARY_CAPTURE = '1.2.840.10008.5.1.4.1.1.7';

/** A one-frame JPEG Extended file holding `frame`, and nothing GDCM could act on besides it. */
export function minimalJpegFile(frame: Uint8Array, m: MinimalPixelModule): Uint8Array {
  const meta = new Writer();
  meta.element(0x0002, 0x0001, 'OB', new Uint8Array([0, 1]));
  meta.element(0x0002, 0x0002, 'UI', SECONDARY_CAPTURE);
  meta.element(0x0002, 0x0003, 'UI', '2.25.1');
  meta.element(0x0002, 0x0010, 'UI', JPEG_EXTENDED);
  const metaBytes = meta.concat();
  const w = new Writer();
  w.bytes(new Uint8Array(128));
  w.bytes(Uint8Array.from('DICM', (c) => c.charCodeAt(0)));
  const groupLength = new Uint8Array(4);
  new DataView(groupLength.buffer).setUint32(0, metaBytes.length, true);
  w.element(0x0002, 0x0000, 'UL', groupLength);
  w.bytes(metaBytes);
  w.element(0x0008, 0x0016, 'UI', SECONDARY_CAPTURE);
  w.element(0x0008, 0x0018, 'UI', '2.25.1');
  w.element(0x0028, 0x0002, 'US', m.samplesPerPixel);
  w.element(0x0028, 0x0004, 'CS', m.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2');
  if (m.samplesPerPixel === 3) w.element(0x0028, 0x0006, 'US', 0);
  w.element(0x0028, 0x0010, 'US', m.rows);
  w.element(0x0028, 0x0011, 'US', m.columns);
  w.element(0x0028, 0x0100, 'US', m.bitsAllocated);
  w.element(0x0028, 0x0101, 'US', m.bitsStored);
  w.element(0x0028, 0x0102, 'US', m.bitsStored - 1);
  w.element(0x0028, 0x0103, 'US', m.signed ? 1 : 0);
  const px = new Uint8Array(8);
  const dv = new DataView(px.buffer);
  dv.setUint16(0, 0x7fe0, true);
  dv.setUint16(2, 0x0010, true);
  px[4] = 0x4f; // "OB", then two reserved zero bytes
  px[5] = 0x42;
  w.bytes(px);
  w.bytes(new Uint8Array([0xff, 0xff, 0xff, 0xff])); // undefined length
  w.item(0xfffe, 0xe000, new Uint8Array(0)); // empty basic offset table
  w.item(0xfffe, 0xe000, frame.length % 2 ? concatPad(frame) : frame);
  w.item(0xfffe, 0xe0dd, new Uint8Array(0));
  return w.concat();
}

function concatPad(frame: Uint8Array): Uint8Array {
  const out = new Uint8Array(frame.length + 1);
  out.set(frame);
  return out;
}

export async function decodeWithGdcm(frame: Uint8Array, m: MinimalPixelModule): Promise<CodecFrame> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'lgms-gdcm-'));
  try {
    const file = path.join(dir, 'frame.dcm');
    await writeFile(file, minimalJpegFile(frame, m));
    const { readImageDicomFileSeriesNode } = await import('@itk-wasm/dicom');
    const { outputImage } = await readImageDicomFileSeriesNode({ inputImages: [file], singleSortedSeries: true });
    const data = outputImage.data;
    const [width = 0, height = 0] = outputImage.size;
    const components = outputImage.imageType.components;
    if (!(data instanceof Uint8Array || data instanceof Uint16Array || data instanceof Int16Array)) {
      throw new DicomError('decode-failed', `GDCM returned ${outputImage.imageType.componentType} samples`);
    }
    return { data, width, height, components, bitsPerSample: m.bitsStored, signed: data instanceof Int16Array };
  } catch (e) {
    if (e instanceof DicomError) throw e;
    throw new DicomError('decode-failed', `GDCM (itk-wasm) failed: ${describe(e)}`, e);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
