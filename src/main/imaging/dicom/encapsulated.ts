// Groups the fragments of an encapsulated Pixel Data element into frames (PS3.5 A.4): by the
// Basic Offset Table when it is usable, else one fragment per frame when the counts agree,
// else by the start-of-codestream marker each frame's first fragment begins with.
import { startsFrame } from './codestream';
import { DicomError } from './errors';

function concat(parts: Uint8Array[]): Uint8Array {
  if (parts.length === 1 && parts[0]) return parts[0];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let pos = 0;
  for (const p of parts) {
    out.set(p, pos);
    pos += p.length;
  }
  return out;
}

/** Frames by the offset table, or null when the table is empty or does not fit the fragments. */
function byOffsetTable(parts: Uint8Array[], offsetTable: number[], numberOfFrames: number): Uint8Array[] | null {
  if (offsetTable.length !== numberOfFrames || numberOfFrames < 2) return null;
  const starts = new Map<number, number>();
  let offset = 0;
  parts.forEach((p, i) => {
    starts.set(offset, i);
    offset += 8 + p.length;
  });
  const first = offsetTable.map((o) => starts.get(o));
  if (first.some((i) => i === undefined) || first[0] !== 0) return null;
  const idx = first as number[];
  for (let k = 1; k < idx.length; k++) if ((idx[k] ?? 0) <= (idx[k - 1] ?? 0)) return null;
  return idx.map((start, k) => concat(parts.slice(start, idx[k + 1] ?? parts.length)));
}

/**
 * One byte array per frame. RLE frames are exactly one fragment each (PS3.5 G.2), so for RLE
 * we never regroup.
 */
export function splitFrames(parts: Uint8Array[], offsetTable: number[], numberOfFrames: number, rle: boolean): Uint8Array[] {
  if (parts.length === 0)
    throw new DicomError('truncated-pixel-data', 'truncated pixel data: the encapsulated Pixel Data has no fragments');
  if (parts.length === numberOfFrames) return parts;
  if (numberOfFrames === 1) return [concat(parts)];
  const fromTable = byOffsetTable(parts, offsetTable, numberOfFrames);
  if (fromTable) return fromTable;
  if (parts.length < numberOfFrames) {
    throw new DicomError(
      'truncated-pixel-data',
      `truncated pixel data: ${numberOfFrames} frames declared but only ${parts.length} fragment(s) present`,
    );
  }
  if (rle)
    throw new DicomError(
      'malformed',
      `RLE pixel data has ${parts.length} fragments for ${numberOfFrames} frames (must be one per frame)`,
    );
  const frames: Uint8Array[][] = [];
  for (const p of parts) {
    const current = frames[frames.length - 1];
    if (!current || startsFrame(p)) frames.push([p]);
    else current.push(p);
  }
  if (frames.length !== numberOfFrames) {
    throw new DicomError(
      'malformed',
      `cannot tell frames apart: ${parts.length} fragments hold ${frames.length} frame starts for ${numberOfFrames} declared frames, and there is no offset table`,
    );
  }
  return frames.map(concat);
}
