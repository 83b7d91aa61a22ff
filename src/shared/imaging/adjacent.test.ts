// 2.5D input (issue 22): model.json `input.channelMode: 'adjacent'` fills the three channels with
// slices z−1, z, z+1 of a volume series in position order, the edge slice repeated.
import { describe, expect, it } from 'vitest';
import { modelManifestSchema } from '../model/manifest';
import { adjacentIndices, toAdjacentModelInput, toModelInput, type ModelInputSpec, type SliceSource } from './preprocess';

const slice = (value: number, rows = 40, columns = 60): SliceSource => ({
  pixels: Int16Array.from({ length: rows * columns }, (_, i) => value + (i % 7)),
  rows,
  columns,
  samplesPerPixel: 1,
  slope: 1,
  intercept: -1024,
});

describe('2.5D input: adjacent slices as channels', () => {
  const spec: ModelInputSpec = {
    size: [32, 32],
    channels: 3,
    channelMode: 'adjacent',
    normalization: { type: 'window', center: 40, width: 400 },
  };
  const plane = 32 * 32;

  it('takes z−1, z, z+1 and repeats the edge slice at either end', () => {
    expect(adjacentIndices(0, 5)).toEqual([0, 0, 1]);
    expect(adjacentIndices(2, 5)).toEqual([1, 2, 3]);
    expect(adjacentIndices(4, 5)).toEqual([3, 4, 4]);
    expect(adjacentIndices(0, 1)).toEqual([0, 0, 0]);
  });

  it('channel c is slice c normalised and letterboxed on its own; the letterbox is the slice’s', () => {
    const [below, centre, above] = [slice(900), slice(1000), slice(1150)];
    const out = new Float32Array(2 * 3 * plane).fill(7);
    const box = toAdjacentModelInput([below, centre, above], spec, out, 3 * plane);
    const one: ModelInputSpec = { ...spec, channels: 1, channelMode: 'replicate' };
    for (const [c, s] of [below, centre, above].entries()) {
      const ref = new Float32Array(plane);
      expect(toModelInput(s, one, ref)).toEqual(box);
      expect([...out.subarray(3 * plane + c * plane, 3 * plane + (c + 1) * plane)]).toEqual([...ref]);
    }
    // the channels differ (three slices), and nothing before the offset was written
    expect(out[3 * plane + 32 * 16 + 16]).not.toBe(out[3 * plane + plane + 32 * 16 + 16]);
    expect(out.subarray(0, 3 * plane).every((v) => v === 7)).toBe(true);
  });

  it('uses the slice itself for a neighbour of another size (not one volume)', () => {
    const centre = slice(1000);
    const out = new Float32Array(3 * plane);
    toAdjacentModelInput([slice(500, 20, 20), centre, centre], spec, out);
    expect([...out.subarray(0, plane)]).toEqual([...out.subarray(plane, 2 * plane)]);
  });

  it('is a channel mode model.json may name', () => {
    const input = {
      channels: 3,
      size: [128, 128],
      channelMode: 'adjacent',
      resize: 'letterbox',
      normalization: { type: 'scale', min: 0, max: 255 },
    };
    expect(modelManifestSchema.shape.input.safeParse(input).success).toBe(true);
    expect(modelManifestSchema.shape.input.safeParse({ ...input, channelMode: 'slices' }).success).toBe(false);
  });
});
