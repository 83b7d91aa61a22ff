// How many frames a Pixel Data element holds when Number of Frames (0028,0008) does not say (absent,
// empty, not a number, or below 1): read from the element itself where that is exact, refused
// where it is not, so that no frame is dropped in silence (issue 23 item 2).
import { DicomError } from './errors';
import { nativeByteLength } from './native';
import type { PixelDataElement } from './pixel-locator';
import { startsFrame } from './codestream';
import type { ImagePixelModule } from './types';

export interface DerivedFrames {
  frames: number;
  /** How the count was read, for the import report's note; absent when it is one frame. */
  from?: string;
}

/**
 * The frame count of `pixels` for an image whose Number of Frames is unusable.
 * - Native (PS3.5 §8.1.1): the Pixel Data length over one frame's bytes (Rows × Columns ×
 *   Samples × Bits Allocated / 8; frames of 1-bit data are packed without padding), allowing the
 *   one padding byte of an odd length. Less than two frames' bytes is one frame, as before.
 * - Encapsulated (PS3.5 A.4): the Basic Offset Table's entry count; without a table, one
 *   fragment per frame under RLE (PS3.5 G.2), else the fragments that open a codestream (JPEG
 *   SOI, J2K SOC, JP2 signature), as the decoder groups them (encapsulated.ts).
 * Throws DicomError when the element holds several frames' worth of bytes that do not divide
 * exactly ('missing-attribute', naming Number of Frames), or a native element declared longer
 * than the file ('truncated-pixel-data'). An element cut short is otherwise left to the
 * callers' own checks.
 */
export function deriveFrameCount(h: ImagePixelModule, pixels: PixelDataElement, rle: boolean): DerivedFrames {
  if (pixels.encapsulated) return encapsulatedFrames(pixels, rle);
  const perFrame = nativeByteLength({ ...h, numberOfFrames: 1 }, pixels.kind);
  if (perFrame <= 0) return { frames: 1 };
  const declared = pixels.declaredLength;
  const present = pixels.data.length;
  if (declared > present + 1) {
    // Cut short: the declared length may be exact, and the caller reports what is missing.
    const n = exactFrames(h, pixels.kind, declared, perFrame);
    if (n !== null && n >= 2) return { frames: n, from: `${n} frames, from the Pixel Data's declared length` };
    if (present < 2 * perFrame) return { frames: 1 };
    throw new DicomError(
      'truncated-pixel-data',
      `no usable Number of Frames, and Pixel Data declares ${declared} bytes of which ${present} are in the file`,
      undefined,
      'no Number of Frames, and the pixel data ends early',
    );
  }
  if (declared < 2 * perFrame) return { frames: 1 };
  const n = exactFrames(h, pixels.kind, declared, perFrame);
  if (n !== null)
    return { frames: n, from: `${n} frames, from the Pixel Data length (${declared} bytes, ${perFrame} per frame)` };
  throw new DicomError(
    'missing-attribute',
    `no usable Number of Frames, and Pixel Data's ${declared} bytes are not a whole number of ${perFrame}-byte frames`,
    undefined,
    'Number of Frames missing, and the pixel data is not a whole number of frames',
  );
}

/** n when `length` is exactly n frames (or n frames and one padding byte), else null. */
function exactFrames(
  h: ImagePixelModule,
  kind: ImagePixelModule['pixelDataKind'],
  length: number,
  perFrame: number,
): number | null {
  if (kind === 'integer' && h.bitsAllocated === 1) {
    const bitsPerFrame = nativeByteLength({ ...h, numberOfFrames: 1, bitsAllocated: 8 }, 'integer');
    const n = Math.floor((length * 8) / bitsPerFrame);
    for (const k of [n, n - 1]) {
      const bytes = Math.ceil((k * bitsPerFrame) / 8);
      if (k >= 1 && (bytes === length || (bytes % 2 === 1 && bytes + 1 === length))) return k;
    }
    return null;
  }
  if (length % perFrame === 0) return length / perFrame;
  // An odd length is padded to even with one byte (PS3.5 §7.1.1).
  if (length % 2 === 0 && (length - 1) % perFrame === 0) return (length - 1) / perFrame;
  return null;
}

/**
 * The frame count of an encapsulated Pixel Data value's items (PS3.5 A.4) without a usable Number
 * of Frames, as deriveFrameCount gives it: also the fast import path's test for one frame.
 * Throws DicomError ('missing-attribute') when the items do not say.
 */
export function encapsulatedFrames(
  pixels: Pick<Extract<PixelDataElement, { encapsulated: true }>, 'offsetTable' | 'fragments'>,
  rle: boolean,
): DerivedFrames {
  const { offsetTable, fragments } = pixels;
  if (offsetTable.length >= 2)
    return { frames: offsetTable.length, from: `${offsetTable.length} frames, from the Basic Offset Table` };
  if (offsetTable.length === 1 || fragments.length <= 1) return { frames: 1 };
  if (rle) return { frames: fragments.length, from: `${fragments.length} frames, one per RLE fragment` };
  if (fragments[0] && startsFrame(fragments[0])) {
    const starts = fragments.filter(startsFrame).length;
    return starts === 1
      ? { frames: 1 }
      : { frames: starts, from: `${starts} frames, counted by the start of each frame's compressed data` };
  }
  throw new DicomError(
    'missing-attribute',
    `no usable Number of Frames, and ${fragments.length} fragments without an offset table or recognisable frame starts`,
    undefined,
    'Number of Frames missing, and the compressed pixel data does not say how many frames it holds',
  );
}
