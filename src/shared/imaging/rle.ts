// Run-length encoding of uint8 label maps: (value byte, run length as unsigned LEB128) pairs.
// Masks are mostly long runs of 0 and 1, so a 512×512 mask is typically a few hundred bytes;
// used for stored predictions and labels, and for undo history.

export function encodeRle(data: Uint8Array): Uint8Array {
  // A run takes at most 6 bytes (value + 5 LEB128 bytes for any 32-bit length); grow as needed.
  let out = new Uint8Array(256);
  let o = 0;
  let i = 0;
  while (i < data.length) {
    if (o + 6 > out.length) {
      const bigger = new Uint8Array(out.length * 2);
      bigger.set(out);
      out = bigger;
    }
    const value = data[i]!;
    let run = 1;
    while (i + run < data.length && data[i + run] === value) run++;
    out[o++] = value;
    let n = run;
    while (n >= 0x80) {
      out[o++] = (n & 0x7f) | 0x80;
      n = Math.floor(n / 128);
    }
    out[o++] = n;
    i += run;
  }
  return out.slice(0, o);
}

export function decodeRle(encoded: Uint8Array, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let o = 0;
  let i = 0;
  while (i < encoded.length) {
    const value = encoded[i++]!;
    let run = 0;
    let shift = 1;
    for (;;) {
      const byte = encoded[i++];
      if (byte === undefined) throw new Error('RLE data ends inside a run length');
      run += (byte & 0x7f) * shift;
      if (byte < 0x80) break;
      shift *= 128;
    }
    if (o + run > length) throw new Error(`RLE data longer than ${length} values`);
    out.fill(value, o, o + run);
    o += run;
  }
  if (o !== length) throw new Error(`RLE data holds ${o} values, expected ${length}`);
  return out;
}
