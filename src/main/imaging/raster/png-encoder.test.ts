import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { generatePhantom } from '../../demo/phantom';
import { crc32 } from 'node:zlib';
import { readPng8 } from '../../../../tests/helpers/png';
import { encodeGrayPng, encodePng, type RasterImage } from './png-encoder';
import { skipTitle } from '../../../../tests/helpers/skip';

function randomImage(width: number, height: number, channels: RasterImage['channels'], seed: number): RasterImage {
  const data = new Uint8Array(width * height * channels);
  let s = seed;
  for (let i = 0; i < data.length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    // Smooth ramps plus noise, so every filter type has something to predict.
    data[i] = ((i % (width * channels)) * 3 + Math.floor(i / (width * channels)) * 5 + (s >>> 28)) & 0xff;
  }
  return { width, height, channels, data };
}

/** The system Python with Pillow, as an independent PNG decoder, when there is one. */
const python = ['/usr/bin/python3', 'python3'].find(
  (bin) => spawnSync(bin, ['-c', 'import PIL'], { stdio: 'ignore' }).status === 0,
);

describe('png', () => {
  it('round-trips grey and colour images, with and without alpha, through every row filter', () => {
    for (const channels of [1, 2, 3, 4] as const) {
      const img = randomImage(37, 23, channels, channels);
      // The reader keeps grey or RGB and drops alpha.
      const colour = channels === 2 || channels === 4 ? channels - 1 : channels;
      const expected = img.data.filter((_, i) => i % channels < colour);
      for (const filter of ['adaptive', 0, 1, 2, 3, 4] as const) {
        const back = readPng8(encodePng(img, { filter }));
        expect([back.width, back.height, back.channels]).toEqual([37, 23, colour]);
        expect(Buffer.from(back.data).equals(Buffer.from(expected))).toBe(true);
      }
    }
  });

  it('round-trips a phantom and its mask', () => {
    const p = generatePhantom({ seed: 2, index: 1 });
    const back = readPng8(encodeGrayPng(p.width, p.height, p.image));
    expect(back.channels).toBe(1);
    expect(Buffer.from(back.data).equals(Buffer.from(p.image))).toBe(true);
    const mask = p.mask.map((v) => v * 255);
    expect(Buffer.from(readPng8(encodeGrayPng(p.width, p.height, mask)).data).equals(Buffer.from(mask))).toBe(true);
  });

  it('decodes a file whose image data is split over several IDAT chunks', () => {
    const img = randomImage(16, 16, 3, 9);
    const png = encodePng(img);
    // Re-chunk: IHDR stays, IDAT payload is cut in two chunks.
    const view = new DataView(png.buffer, png.byteOffset);
    const idatStart = 8 + 25;
    const len = view.getUint32(idatStart);
    const payload = png.subarray(idatStart + 8, idatStart + 8 + len);
    const mk = (type: string, body: Uint8Array): Uint8Array => {
      const c = new Uint8Array(12 + body.length);
      const v = new DataView(c.buffer);
      v.setUint32(0, body.length);
      c.set(new TextEncoder().encode(type), 4);
      c.set(body, 8);
      v.setUint32(8 + body.length, crc32(c.subarray(4, 8 + body.length)));
      return c;
    };
    const half = len >> 1;
    const parts = [
      png.subarray(0, idatStart),
      mk('IDAT', payload.subarray(0, half)),
      mk('IDAT', payload.subarray(half)),
      png.subarray(idatStart + 12 + len),
    ];
    const split = Buffer.concat(parts);
    expect(Buffer.from(readPng8(split).data).equals(Buffer.from(img.data))).toBe(true);
  });

  it.skipIf(!python)(
    skipTitle(
      'writes files that Pillow decodes to the same pixels',
      python ? '' : 'no Python with PIL (apt-get install python3-pil)',
    ),
    () => {
      const dir = mkdtempSync(path.join(tmpdir(), 'lgms-png-'));
      try {
        const p = generatePhantom({ seed: 4, index: 0, domain: 'shifted' });
        const file = path.join(dir, 'a.png');
        writeFileSync(file, encodeGrayPng(p.width, p.height, p.image));
        const script =
          'import sys,hashlib;from PIL import Image;im=Image.open(sys.argv[1]);print(im.mode,im.size[0],im.size[1],hashlib.sha256(im.tobytes()).hexdigest())';
        const r = spawnSync(python ?? '', ['-c', script, file], { encoding: 'utf8' });
        expect(r.stderr).toBe('');
        const sha = (a: Uint8Array): string => createHash('sha256').update(a).digest('hex');
        expect(r.stdout.trim()).toBe(`L ${p.width} ${p.height} ${sha(p.image)}`);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});
