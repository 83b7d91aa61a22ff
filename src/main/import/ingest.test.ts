import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeCtSeries } from '../../../tests/helpers/ct-series';
import { tempDir } from '../../../tests/helpers/temp';
import { ContentStore } from '../store/content-store';
import { ingestFile, readInto, Scratch } from './ingest';

describe('ingest', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('reads a whole file whether the scan saw its size, a smaller one (it grew) or a larger one (it shrank)', () => {
    const file = path.join(tmp.dir, 'f.bin');
    const content = Uint8Array.from({ length: 5000 }, (_, i) => i % 251);
    writeFileSync(file, content);
    const scratch = new Scratch();
    for (const expected of [undefined, 5000, 10, 0, 9000])
      expect(Array.from(readInto(file, scratch.take, expected))).toEqual(Array.from(content));
  });

  it('hands back a new DICOM image with its bytes, a known one without, a PNG for the full readers, a missing file as unreadable', () => {
    const [dicom] = writeCtSeries(path.join(tmp.dir, 'ct'), { count: 1, size: 16 }).files;
    const png = path.join(tmp.dir, 'x.png');
    writeFileSync(png, Buffer.from('89504e470d0a1a0a0000000d49484452', 'hex'));
    const scratch = new Scratch();
    const file = (p: string) => ({ path: p, size: 0 });
    const image = ingestFile(0, file(dicom!), scratch.take, () => false);
    expect(image.result).toMatchObject({ status: 'image', series: { format: 'dicom' }, frames: [{ rows: 16, columns: 16 }] });
    expect(image.bytes && ContentStore.hash(image.bytes)).toBe((image.result as { sha256: string }).sha256);
    const sha256 = (image.result as { sha256: string }).sha256;
    expect(ingestFile(0, file(dicom!), scratch.take, (h) => h === sha256)).toEqual({
      result: { index: 0, path: dicom, size: image.bytes!.length, status: 'known', sha256 },
      bytes: null,
    });
    expect(ingestFile(1, file(png), scratch.take, () => false).result).toMatchObject({ status: 'deferred', index: 1 });
    expect(ingestFile(2, file(path.join(tmp.dir, 'nope.dcm')), scratch.take, () => false).result).toMatchObject({
      status: 'unreadable',
      reason: /ENOENT/,
    });
  });
});
