// Reads an 8-bit PNG with the workstation's own decoder (src/main/imaging/raster/png.ts), in the
// shape the demo encoder writes: width, height, channels (alpha dropped) and row-major bytes.
import { decodePng } from '../../src/main/imaging/raster/png';

export function readPng8(bytes: Uint8Array): { width: number; height: number; channels: 1 | 3; data: Uint8Array } {
  const d = decodePng(bytes, Number.MAX_SAFE_INTEGER);
  if (d.bitsStored !== 8 || !(d.pixels instanceof Uint8Array)) throw new Error(`expected an 8-bit PNG, got ${d.bitsStored}-bit`);
  return { width: d.columns, height: d.rows, channels: d.samplesPerPixel, data: d.pixels };
}
