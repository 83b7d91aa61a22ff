// readRaster against Pillow: every PNG colour type and depth and baseline/progressive JPEG, written
// by Pillow (and, for what Pillow cannot write — 16-bit RGB, Adam7, every filter type — by a
// few lines of Python here) into a temp folder, decoded by both, compared exactly (PNG) or within
// ±3 (JPEG). Pillow reads 16-bit colour PNG as 8-bit, so there the encoder's input is the truth.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readRaster, RasterError } from './read';
import { skipTitle } from '../../../../tests/helpers/skip';

const PYTHON = '/usr/bin/python3';
const ITK_DATA = [
  path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../../tests/fixtures/data/itk'),
  '/usr/share/doc/insighttoolkit5-examples/examples/Data',
].find((d) => existsSync(d));
const hasPil = spawnSync(PYTHON, ['-c', 'import PIL, numpy'], { stdio: 'ignore' }).status === 0;

// Writes each case's file and Pillow's decode of it (raw little-endian samples) plus a manifest.
const GENERATE = String.raw`
import json, struct, sys, zlib
import numpy as np
from PIL import Image

out = sys.argv[1]
if len(sys.argv) > 2:
    # Reference mode: Pillow's decode of existing files, into out/<n>.ref, plus their modes.
    meta = []
    for n, f in enumerate(sys.argv[2:]):
        im = Image.open(f); im.load()
        a = np.asarray(im.convert('RGB') if im.mode == 'P' else im)
        if im.mode in ('LA', 'RGBA'): a = a[..., :-1] if im.mode == 'RGBA' else a[..., 0]
        a = a.astype('<u2' if a.dtype.itemsize > 1 else 'u1')
        a.tofile(f'{out}/{n}.ref')
        meta.append(dict(file=f, mode=im.mode, rows=im.height, columns=im.width, bits=16 if a.dtype.itemsize > 1 else 8))
    json.dump(meta, open(f'{out}/refs.json', 'w'))
    sys.exit(0)
rng = np.random.default_rng(7)
H, W = 37, 53  # odd sizes exercise partial Adam7 passes and odd row lengths
y, x = np.mgrid[0:H, 0:W]
ramp = ((x * 5 + y * 3) % 256).astype(np.uint8)
noise = rng.integers(0, 256, (H, W), dtype=np.uint8)
rgb = np.stack([ramp, noise, (255 - ramp)], -1).astype(np.uint8)
cases = []

def chunk(t, d):
    c = t + d
    return struct.pack('>I', len(d)) + c + struct.pack('>I', zlib.crc32(c) & 0xffffffff)

def write_png(name, arr, colour_type, depth, interlace=False):
    # A minimal encoder that cycles through all five filter types (Pillow picks its own).
    arr = np.asarray(arr)
    h, w = arr.shape[:2]
    ch = 1 if arr.ndim == 2 else arr.shape[2]
    def encode(sub):
        rows = []
        prev = None
        bpp = max(1, ch * depth // 8)
        for r in range(sub.shape[0]):
            line = sub[r].astype('>u2').tobytes() if depth == 16 else sub[r].astype(np.uint8).tobytes()
            line = np.frombuffer(line, np.uint8).astype(np.int32)
            up = prev if prev is not None else np.zeros_like(line)
            left = np.concatenate([np.zeros(bpp, np.int32), line[:-bpp]])
            upleft = np.concatenate([np.zeros(bpp, np.int32), up[:-bpp]])
            f = r % 5
            if f == 0: pred = np.zeros_like(line)
            elif f == 1: pred = left
            elif f == 2: pred = up
            elif f == 3: pred = (left + up) // 2
            else:
                p = left + up - upleft
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - upleft)
                pred = np.where((pa <= pb) & (pa <= pc), left, np.where(pb <= pc, up, upleft))
            rows.append(bytes([f]) + ((line - pred) % 256).astype(np.uint8).tobytes())
            prev = line
        return b''.join(rows)
    if interlace:
        raw = b''
        for x0, y0, dx, dy in [(0,0,8,8),(4,0,8,8),(0,4,4,8),(2,0,4,4),(0,2,2,4),(1,0,2,2),(0,1,1,2)]:
            sub = arr[y0::dy, x0::dx]
            if sub.shape[0] and sub.shape[1]:
                raw += encode(sub)
    else:
        raw = encode(arr)
    ihdr = struct.pack('>IIBBBBB', w, h, depth, colour_type, 0, 0, 1 if interlace else 0)
    data = b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', ihdr) + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b'')
    open(f'{out}/{name}', 'wb').write(data)

def add(name, kind, spp, bits, tolerance=0, warnings=(), truth=None):
    # Pillow reads 16-bit colour PNG as 8-bit: for those the encoder's input is the reference.
    im = Image.open(f'{out}/{name}')
    im.load()
    mode = im.mode
    if truth is not None: a = truth
    elif mode == 'P': a = np.asarray(im.convert('RGB'))
    elif mode in ('LA', 'PA'): a = np.asarray(im)[..., 0]
    elif mode == 'RGBA': a = np.asarray(im)[..., :3]
    elif mode == '1': a = np.asarray(im).astype(np.uint8)
    else: a = np.asarray(im)
    dtype = '<u2' if bits == 16 else 'u1'
    a.astype(dtype).tofile(f'{out}/{name}.ref')
    cases.append(dict(name=name, kind=kind, rows=im.height, columns=im.width, spp=spp, bits=bits, tolerance=tolerance, mode=mode, warnings=list(warnings)))

Image.fromarray(ramp).save(f'{out}/gray8.png'); add('gray8.png', 'png', 1, 8)
Image.fromarray((ramp.astype(np.uint16) * 257 + y).astype(np.uint16)).save(f'{out}/gray16.png'); add('gray16.png', 'png', 1, 16)
Image.fromarray(np.stack([ramp, noise], -1), 'LA').save(f'{out}/gray-alpha.png'); add('gray-alpha.png', 'png', 1, 8, warnings=['alpha'])
Image.fromarray(rgb).save(f'{out}/rgb.png'); add('rgb.png', 'png', 3, 8)
Image.fromarray(np.dstack([rgb, noise])).save(f'{out}/rgba.png'); add('rgba.png', 'png', 3, 8, warnings=['alpha'])
Image.fromarray(rgb).quantize(64).save(f'{out}/palette.png'); add('palette.png', 'png', 3, 8, warnings=['palette'])
Image.fromarray(rgb).quantize(16).save(f'{out}/palette4.png', bits=4); add('palette4.png', 'png', 3, 8, warnings=['palette'])
Image.fromarray(ramp > 128).save(f'{out}/bilevel.png'); add('bilevel.png', 'png', 1, 1)
rgb16 = rgb.astype(np.uint16) * 257 + x.astype(np.uint16)[..., None]
write_png('rgb16.png', rgb16, 2, 16); add('rgb16.png', 'png', 3, 16, truth=rgb16)
rgba16 = np.dstack([rgb.astype(np.uint16) * 250, noise.astype(np.uint16) * 3])
write_png('rgba16-adam7.png', rgba16, 6, 16, True); add('rgba16-adam7.png', 'png', 3, 16, warnings=['alpha', 'Adam7'], truth=rgba16[..., :3])
write_png('gray8-adam7.png', noise, 0, 8, True); add('gray8-adam7.png', 'png', 1, 8, warnings=['Adam7'])
write_png('rgb8-filters.png', rgb, 2, 8); add('rgb8-filters.png', 'png', 3, 8)

Image.fromarray(ramp).save(f'{out}/gray.jpg', quality=92); add('gray.jpg', 'jpeg', 1, 8, 3, warnings=['baseline'])
Image.fromarray(rgb).save(f'{out}/rgb420.jpg', quality=90); add('rgb420.jpg', 'jpeg', 3, 8, 3, warnings=['baseline'])
Image.fromarray(rgb).save(f'{out}/rgb444.jpg', quality=95, subsampling=0); add('rgb444.jpg', 'jpeg', 3, 8, 3)
Image.fromarray(rgb).save(f'{out}/progressive.jpg', quality=90, progressive=True); add('progressive.jpg', 'jpeg', 3, 8, 3, warnings=['progressive'])
Image.fromarray(ramp).save(f'{out}/gray-progressive.jpg', quality=90, progressive=True); add('gray-progressive.jpg', 'jpeg', 1, 8, 3, warnings=['progressive'])
exif = Image.Exif(); exif[0x0112] = 6
Image.fromarray(rgb).save(f'{out}/exif-rotated.jpg', quality=90, exif=exif.tobytes()); add('exif-rotated.jpg', 'jpeg', 3, 8, 3, warnings=['EXIF orientation 6'])
Image.fromarray(rgb).convert('CMYK').save(f'{out}/cmyk.jpg', quality=90)
json.dump(cases, open(f'{out}/cases.json', 'w'))
`;

interface Case {
  name: string;
  kind: 'png' | 'jpeg';
  rows: number;
  columns: number;
  spp: number;
  bits: number;
  tolerance: number;
  mode: string;
  warnings: string[];
}

let dir = '';
let cases: Case[] = [];

beforeAll(() => {
  if (!hasPil) return;
  dir = mkdtempSync(path.join(os.tmpdir(), 'lgms-raster-'));
  execFileSync(PYTHON, ['-c', GENERATE, dir], { stdio: ['ignore', 'ignore', 'inherit'] });
  cases = JSON.parse(readFileSync(path.join(dir, 'cases.json'), 'utf8')) as Case[];
});

afterAll(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe.skipIf(!hasPil)(
  skipTitle(
    'readRaster against Pillow (/usr/bin/python3 with PIL and numpy)',
    hasPil ? '' : '/usr/bin/python3 has no PIL and numpy (apt-get install python3-pil python3-numpy)',
  ),
  () => {
    it('decodes every generated PNG exactly and every JPEG within ±3', async () => {
      expect(cases.length).toBeGreaterThanOrEqual(18);
      for (const c of cases) {
        const raster = await readRaster(path.join(dir, c.name));
        const label = `${c.name} (Pillow mode ${c.mode})`;
        expect({
          label,
          rows: raster.rows,
          columns: raster.columns,
          spp: raster.samplesPerPixel,
          bits: raster.bitsStored,
        }).toEqual({
          label,
          rows: c.rows,
          columns: c.columns,
          spp: c.spp,
          bits: c.bits,
        });
        const buf = readFileSync(path.join(dir, `${c.name}.ref`));
        const ref = c.bits === 16 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2) : new Uint8Array(buf);
        expect(raster.pixels.length, label).toBe(ref.length);
        expect(raster.pixels instanceof Uint16Array, label).toBe(c.bits === 16);
        let worst = 0;
        for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs((raster.pixels[i] ?? -1) - (ref[i] ?? 0)));
        expect(worst, `${label}: largest difference from Pillow`).toBeLessThanOrEqual(c.tolerance);
        for (const w of c.warnings) expect(raster.warnings.join('; '), label).toContain(w);
      }
    });

    it.skipIf(!ITK_DATA)(
      skipTitle(
        'decodes the ITK example PNGs exactly as Pillow does',
        ITK_DATA ? '' : 'no ITK example data (run bash tests/fixtures/setup.sh)',
      ),
      async () => {
        const dirItk = ITK_DATA ?? '';
        const files = readdirSync(dirItk)
          .filter((f) => f.toLowerCase().endsWith('.png'))
          .map((f) => path.join(dirItk, f));
        expect(files.length).toBeGreaterThan(10);
        const refDir = mkdtempSync(path.join(os.tmpdir(), 'lgms-raster-ref-'));
        try {
          execFileSync(PYTHON, ['-c', GENERATE, refDir, ...files], { stdio: ['ignore', 'ignore', 'inherit'] });
          const refs = JSON.parse(readFileSync(path.join(refDir, 'refs.json'), 'utf8')) as {
            file: string;
            mode: string;
            rows: number;
            columns: number;
            bits: number;
          }[];
          const modes = new Set<string>();
          for (const [n, r] of refs.entries()) {
            const raster = await readRaster(r.file);
            const label = `${path.basename(r.file)} (Pillow mode ${r.mode})`;
            modes.add(r.mode);
            expect([raster.rows, raster.columns], label).toEqual([r.rows, r.columns]);
            const buf = readFileSync(path.join(refDir, `${n}.ref`));
            const ref = r.bits === 16 ? new Uint16Array(buf.buffer, buf.byteOffset, buf.byteLength / 2) : new Uint8Array(buf);
            expect(raster.pixels.length, label).toBe(ref.length);
            // Pillow reads 16-bit colour PNG as 8-bit (the high byte): compare at its precision.
            const shift = raster.bitsStored === 16 && r.bits === 8 ? 8 : 0;
            let same = true;
            for (let i = 0; i < ref.length && same; i++) same = (raster.pixels[i] ?? -1) >> shift === ref[i];
            expect(same, label).toBe(true);
          }
          expect(modes.size).toBeGreaterThanOrEqual(1);
        } finally {
          rmSync(refDir, { recursive: true, force: true });
        }
      },
    );

    it('decodes from bytes as from a path', async () => {
      const bytes = readFileSync(path.join(dir, 'rgb.png'));
      const fromBytes = await readRaster(new Uint8Array(bytes));
      const fromPath = await readRaster(path.join(dir, 'rgb.png'));
      expect(fromBytes.pixels).toEqual(fromPath.pixels);
      expect(fromBytes.format).toBe('png');
    });

    it('refuses CMYK JPEG as unsupported', async () => {
      await expect(readRaster(path.join(dir, 'cmyk.jpg'))).rejects.toMatchObject({
        failure: 'unsupported',
        message: /4 components/,
      });
    });

    it('refuses damaged files with a reason', async () => {
      const cut = (name: string) => {
        const b = readFileSync(path.join(dir, name));
        const p = path.join(dir, `cut-${name}`);
        writeFileSync(p, b.subarray(0, b.length >> 1));
        return p;
      };
      await expect(readRaster(cut('rgb.png'))).rejects.toMatchObject({ failure: 'truncated' });
      await expect(readRaster(cut('rgb420.jpg'))).rejects.toMatchObject({ failure: 'truncated', message: /cut short/ });
      await expect(readRaster(cut('progressive.jpg'))).rejects.toMatchObject({ failure: 'truncated' });

      const flipped = readFileSync(path.join(dir, 'gray8.png'));
      flipped[flipped.length - 30] = (flipped[flipped.length - 30] ?? 0) ^ 0xff; // inside IDAT
      await expect(readRaster(new Uint8Array(flipped))).rejects.toMatchObject({ failure: 'malformed', message: /CRC/ });

      const garbage = path.join(dir, 'garbage.png');
      writeFileSync(garbage, Buffer.from('this is not an image at all, just text'));
      await expect(readRaster(garbage)).rejects.toMatchObject({ failure: 'bad-magic' });
      await expect(readRaster(new Uint8Array(0))).rejects.toMatchObject({ failure: 'truncated' });
      await expect(readRaster(path.join(dir, 'missing.png'))).rejects.toMatchObject({ failure: 'not-found' });

      // A JPEG whose entropy-coded data is noise: libjpeg-turbo may refuse it or paint garbage,
      // but it must come back as a RasterError or a raster, never crash the process.
      const jpeg = readFileSync(path.join(dir, 'rgb420.jpg'));
      const sos = jpeg.indexOf(Buffer.from([0xff, 0xda]));
      for (let i = sos + 20; i < jpeg.length - 2; i++) jpeg[i] = (i * 131) & 0xfe;
      const outcome = await readRaster(new Uint8Array(jpeg)).then(
        (r) => r.rows,
        (e: unknown) => (e instanceof RasterError ? e.failure : 'crash'),
      );
      expect(outcome).not.toBe('crash');
      // The decoder still works after a failure.
      expect((await readRaster(path.join(dir, 'gray.jpg'))).rows).toBe(37);
    });

    it('checks the size before allocating', async () => {
      await expect(readRaster(path.join(dir, 'rgb.png'), { maxPixels: 100 })).rejects.toMatchObject({ failure: 'too-large' });
      await expect(readRaster(path.join(dir, 'rgb420.jpg'), { maxPixels: 100 })).rejects.toMatchObject({ failure: 'too-large' });
    });
  },
);
