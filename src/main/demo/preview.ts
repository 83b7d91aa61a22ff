// A contact sheet for eyeballing the generator: one row of images and one of masks per domain.

import type { AnatomyKind } from './anatomy';
import { generatePhantom } from './phantom';
import { encodeGrayPng } from '../imaging/raster/png-encoder';
import { DOMAINS } from './scanner';

export interface PreviewOptions {
  seed: number;
  perDomain?: number;
  size?: number;
  anatomy?: AnatomyKind | 'mixed';
}

/** PNG bytes: for each domain a row of images above a row of their masks (0/255), 4-pixel gaps. */
export function renderPreview(opts: PreviewOptions): Uint8Array {
  const count = opts.perDomain ?? 8;
  const size = opts.size ?? 256;
  const gap = 4;
  const width = count * size + (count - 1) * gap;
  const rows = DOMAINS.length * 2;
  const height = rows * size + (rows - 1) * gap;
  const sheet = new Uint8Array(width * height).fill(40);
  DOMAINS.forEach((domain, d) => {
    for (let i = 0; i < count; i++) {
      const p = generatePhantom({
        seed: opts.seed,
        index: i,
        domain,
        width: size,
        height: size,
        anatomy: opts.anatomy ?? 'breast',
      });
      const x0 = i * (size + gap);
      const yImage = 2 * d * (size + gap);
      const yMask = yImage + size + gap;
      for (let y = 0; y < size; y++) {
        sheet.set(p.image.subarray(y * size, (y + 1) * size), (yImage + y) * width + x0);
        const maskRow = p.mask.subarray(y * size, (y + 1) * size).map((v) => v * 255);
        sheet.set(maskRow, (yMask + y) * width + x0);
      }
    }
  });
  return encodeGrayPng(width, height, sheet);
}
