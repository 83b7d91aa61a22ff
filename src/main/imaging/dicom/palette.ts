// PALETTE COLOR (PS3.3 C.7.6.3.1.5, C.7.9): each stored value indexes three lookup tables, red,
// green and blue. A table is given whole (Palette Color Lookup Table Data) or segmented
// (Segmented … Palette Color Lookup Table Data, C.7.9.2: discrete, linear and indirect segments).
// The descriptor says the entries (0 = 65536), the first stored value mapped, and the bits per
// entry (8 or 16). The result is 8-bit RGB, the 16-bit entries' high byte (as pydicom's
// apply_color_lut then >> 8), so the viewer and the model see colour, never raw indices.
import { DicomError } from './errors';
import type { Dataset } from './values';
import { nums } from './values';

export interface Palette {
  /** Red, green and blue tables, 8-bit each after scaling. */
  tables: [Uint8Array, Uint8Array, Uint8Array];
  firstMapped: number;
}

const COLOURS = ['Red', 'Green', 'Blue'] as const;

function words(value: unknown): Uint16Array | null {
  const buffer = Array.isArray(value) ? value[0] : value;
  if (buffer instanceof ArrayBuffer) return new Uint16Array(buffer, 0, buffer.byteLength >> 1);
  if (ArrayBuffer.isView(buffer)) return new Uint16Array(buffer.buffer, buffer.byteOffset, buffer.byteLength >> 1);
  return null;
}

/** Expands a segmented table (C.7.9.2) into `entries` values; throws on an unknown opcode. */
export function expandSegmented(data: Uint16Array, entries: number): Uint16Array {
  const out: number[] = [];
  const run = (from: number, to: number, depth: number) => {
    let i = from;
    while (i + 1 < to && out.length < entries) {
      const opcode = data[i]!;
      const length = data[i + 1]!;
      if (opcode === 0) {
        for (let k = 0; k < length; k++) out.push(data[i + 2 + k] ?? 0);
        i += 2 + length;
      } else if (opcode === 1) {
        const y0 = out.length ? out[out.length - 1]! : 0;
        const y1 = data[i + 2] ?? 0;
        for (let k = 1; k <= length; k++) out.push(Math.round(y0 + ((y1 - y0) * k) / length));
        i += 3;
      } else if (opcode === 2) {
        if (depth > 0)
          throw new DicomError('unsupported-pixel-format', 'segmented palette: an indirect segment points at another');
        let at = (data[i + 2] ?? 0) | ((data[i + 3] ?? 0) << 16);
        for (let s = 0; s < length; s++) {
          const next = segmentEnd(data, at);
          run(at, next, depth + 1);
          at = next;
        }
        i += 4;
      } else throw new DicomError('unsupported-pixel-format', `segmented palette: unknown segment type ${opcode}`);
    }
  };
  run(0, data.length, 0);
  return Uint16Array.from(out.slice(0, entries));
}

function segmentEnd(data: Uint16Array, at: number): number {
  const opcode = data[at];
  const length = data[at + 1] ?? 0;
  return opcode === 0 ? at + 2 + length : opcode === 1 ? at + 3 : at + 4;
}

/** The palette of a PALETTE COLOR image, or a DicomError saying why it cannot be used. */
export function readPalette(ds: Dataset): Palette {
  const tables: Uint8Array[] = [];
  let firstMapped = 0;
  for (const colour of COLOURS) {
    const descriptor = nums(ds, `${colour}PaletteColorLookupTableDescriptor`, 3);
    if (!descriptor)
      throw new DicomError('missing-attribute', `PALETTE COLOR without a ${colour} Palette Color Lookup Table Descriptor`);
    const [count, first, bits] = descriptor as [number, number, number];
    const entries = count === 0 ? 65536 : count;
    firstMapped = first < 0 ? first + 65536 : first;
    const whole = words(ds[`${colour}PaletteColorLookupTableData`]);
    const segmented = words(ds[`Segmented${colour}PaletteColorLookupTableData`]);
    let table: Uint16Array;
    if (whole && bits === 8 && whole.length * 2 >= entries) {
      // 8-bit entries are stored one per byte.
      table = Uint16Array.from(new Uint8Array(whole.buffer, whole.byteOffset, entries));
    } else if (whole && whole.length >= entries) table = whole.subarray(0, entries);
    else if (segmented) table = expandSegmented(segmented, entries);
    else throw new DicomError('missing-attribute', `PALETTE COLOR without a usable ${colour} lookup table`);
    if (table.length < entries)
      throw new DicomError('missing-attribute', `PALETTE COLOR ${colour} table has ${table.length} of ${entries} entries`);
    tables.push(Uint8Array.from(table, (v) => (bits === 16 ? v >> 8 : v & 0xff)));
  }
  return { tables: tables as Palette['tables'], firstMapped };
}

/** Indices → interleaved 8-bit RGB (values below the first mapped take entry 0, above the last the last). */
export function applyPalette(indices: ArrayLike<number>, palette: Palette): Uint8Array {
  const [r, g, b] = palette.tables;
  const last = r.length - 1;
  const out = new Uint8Array(indices.length * 3);
  for (let i = 0; i < indices.length; i++) {
    const k = Math.min(Math.max((indices[i] ?? 0) - palette.firstMapped, 0), last);
    out[3 * i] = r[k]!;
    out[3 * i + 1] = g[k]!;
    out[3 * i + 2] = b[k]!;
  }
  return out;
}
