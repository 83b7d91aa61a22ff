// Bit packing of binary SEG frames (PS3.5 §8.1.1 and PS3.3 C.8.20.2.1): with Bits Allocated 1
// the frames are concatenated bit by bit — a frame whose Rows × Columns is not a multiple of 8
// does not start on a byte boundary — the first pixel in the least significant bit.

/**
 * Packs `frames` (each Rows × Columns values, any non-zero counts as 1) into one bit stream,
 * padded with zero bits to an even number of bytes as Pixel Data (OB) requires.
 */
export function packFrames(frames: readonly Uint8Array[], pixelsPerFrame: number): Uint8Array {
  const totalBits = frames.length * pixelsPerFrame;
  const bytes = Math.ceil(totalBits / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let bit = 0;
  for (const frame of frames) {
    if (frame.length !== pixelsPerFrame) throw new RangeError(`a frame holds ${frame.length} pixels, expected ${pixelsPerFrame}`);
    for (let i = 0; i < pixelsPerFrame; i++, bit++) if (frame[i] !== 0) out[bit >>> 3]! |= 1 << (bit & 7);
  }
  return out;
}

/** The inverse of packFrames: `count` frames of 0/1 values. Throws when the data is too short. */
export function unpackFrames(packed: Uint8Array, count: number, pixelsPerFrame: number): Uint8Array[] {
  if (packed.length * 8 < count * pixelsPerFrame)
    throw new RangeError(
      `Pixel Data holds ${packed.length * 8} bits, ${count} frames of ${pixelsPerFrame} pixels need ${count * pixelsPerFrame}`,
    );
  const frames: Uint8Array[] = [];
  let bit = 0;
  for (let f = 0; f < count; f++) {
    const frame = new Uint8Array(pixelsPerFrame);
    for (let i = 0; i < pixelsPerFrame; i++, bit++) frame[i] = (packed[bit >>> 3]! >>> (bit & 7)) & 1;
    frames.push(frame);
  }
  return frames;
}

/**
 * The same bit stream as packFrames over the frames "label map i == segment s" for every
 * segment (outer) and label map (inner), written without building those frames: a 500-slice
 * 512 × 512 CT with two segments would otherwise hold 262 MB of one-byte pixels.
 */
export function packSegmentFrames(
  labelMaps: readonly Uint8Array[],
  segmentNumbers: readonly number[],
  pixelsPerFrame: number,
): Uint8Array {
  const bytes = Math.ceil((segmentNumbers.length * labelMaps.length * pixelsPerFrame) / 8);
  const out = new Uint8Array(bytes + (bytes % 2));
  let bit = 0;
  for (const n of segmentNumbers)
    for (const map of labelMaps) {
      if (map.length !== pixelsPerFrame)
        throw new RangeError(`a label map holds ${map.length} pixels, expected ${pixelsPerFrame}`);
      for (let i = 0; i < pixelsPerFrame; i++, bit++) if (map[i] === n) out[bit >>> 3]! |= 1 << (bit & 7);
    }
  return out;
}
