// Text under Specific Character Set with ISO 2022 code extensions (PS3.5 §6.1.2.5, Annex
// H/I/J: Japanese, Korean, Chinese), decoded as pydicom does: the value is cut at each escape
// sequence, each piece decoded with the character set the sequence designates, and each person
// name component group and each value starts again in the first character set. dcmjs reads these
// files with its default decoder only (escape bytes and all), so its strings are turned back into
// their bytes (the default decoder is WHATWG's "latin1", one character per byte) and decoded here.
import { elementAt } from './walker';

const ESC = 0x1b;

/** Escape sequence (the bytes after ESC) → WHATWG decoder for the bytes it introduces. */
const DESIGNATIONS: Record<string, string> = {
  '(B': 'ascii', // ISO 646 (G0)
  '(J': 'ascii', // JIS X 0201 Romaji: ASCII but for ¥ and ‾, which pydicom also reads as ASCII
  ')I': 'shift_jis', // JIS X 0201 Katakana (G1): single bytes 0xA1–0xDF, as in Shift JIS
  $B: 'iso-2022-jp', // JIS X 0208 (G0): decoded with its escape, by the ISO-2022-JP decoder
  '$@': 'iso-2022-jp',
  '$)C': 'euc-kr', // KS X 1001 (G1)
  '$)A': 'gb18030', // GB 2312 (G1)
  '-A': 'iso-8859-1',
  '-B': 'iso-8859-2',
  '-C': 'iso-8859-3',
  '-D': 'iso-8859-4',
  '-L': 'iso-8859-5',
  '-G': 'iso-8859-6',
  '-F': 'iso-8859-7',
  '-H': 'iso-8859-8',
  '-M': 'iso-8859-9',
  '-T': 'windows-874',
  '-b': 'iso-8859-15',
};

/** Defined Term of Specific Character Set → decoder of the text before any escape sequence. */
const INITIAL: Record<string, string> = {
  '': 'ascii',
  'ISO 2022 IR 6': 'ascii',
  'ISO 2022 IR 13': 'shift_jis',
  'ISO 2022 IR 87': 'ascii',
  'ISO 2022 IR 100': 'iso-8859-1',
  'ISO 2022 IR 101': 'iso-8859-2',
  'ISO 2022 IR 109': 'iso-8859-3',
  'ISO 2022 IR 110': 'iso-8859-4',
  'ISO 2022 IR 144': 'iso-8859-5',
  'ISO 2022 IR 127': 'iso-8859-6',
  'ISO 2022 IR 126': 'iso-8859-7',
  'ISO 2022 IR 138': 'iso-8859-8',
  'ISO 2022 IR 148': 'iso-8859-9',
  'ISO 2022 IR 203': 'iso-8859-15',
  'ISO 2022 IR 166': 'windows-874',
  'ISO 2022 IR 149': 'euc-kr',
  'ISO 2022 IR 58': 'gb18030',
};

/** Whether a Specific Character Set needs this decoder (dcmjs reads only single sets). */
export function usesCodeExtensions(charsets: readonly string[]): boolean {
  return charsets.length > 1 || charsets.some((c) => c.trim().startsWith('ISO 2022'));
}

// WHATWG "latin1" is windows-1252: a bijection on bytes, so dcmjs' strings map back exactly.
const latin1Bytes = (() => {
  const decoded = new TextDecoder('latin1').decode(Uint8Array.from({ length: 256 }, (_, i) => i));
  return new Map([...decoded].map((ch, i) => [ch, i]));
})();

/** The bytes dcmjs decoded with its default decoder. */
export function bytesFromLatin1(text: string): Uint8Array {
  return Uint8Array.from([...text].map((ch) => latin1Bytes.get(ch) ?? 0x3f));
}

const decoders = new Map<string, TextDecoder>();
function decoder(label: string): TextDecoder {
  let d = decoders.get(label);
  if (!d) decoders.set(label, (d = new TextDecoder(label === 'ascii' ? 'latin1' : label)));
  return d;
}

export interface DecodedText {
  text: string;
  /** An escape sequence this decoder does not know (e.g. JIS X 0212): that piece is replaced by U+FFFD. */
  unsupported?: string;
}

/**
 * Decodes one value (no "\" or "=" inside: the caller splits values and name groups) whose
 * text starts in `charsets[0]`'s character set. Throws nothing.
 */
export function decodeIso2022(bytes: Uint8Array, charsets: readonly string[]): DecodedText {
  let label = INITIAL[charsets[0]?.trim() ?? ''] ?? 'ascii';
  let out = '';
  let unsupported: string | undefined;
  let start = 0;
  let prefix: Uint8Array | null = null;
  const flush = (end: number) => {
    if (end <= start) return;
    const piece = bytes.subarray(start, end);
    if (label === '?') out += '\uFFFD';
    else if (prefix) out += decoder(label).decode(concat(prefix, piece));
    else out += decoder(label).decode(piece);
  };
  for (let i = 0; i < bytes.length; i++) {
    if (bytes[i] !== ESC) continue;
    flush(i);
    const sequence = escapeAt(bytes, i + 1);
    const designated = sequence ? DESIGNATIONS[sequence] : undefined;
    if (!designated) {
      unsupported ??= sequence ? `ESC ${sequence}` : 'ESC';
      label = '?';
    } else label = designated;
    const length = sequence?.length ?? 0;
    // The ISO-2022-JP decoder needs the escape itself to switch into JIS X 0208.
    prefix = designated === 'iso-2022-jp' ? bytes.subarray(i, i + 1 + length) : null;
    start = i + 1 + length;
    i = start - 1;
  }
  flush(bytes.length);
  return unsupported ? { text: out, unsupported } : { text: out };
}

/** The escape sequence's bytes after ESC: intermediates 0x20–0x2F, then one final 0x30–0x7E. */
function escapeAt(bytes: Uint8Array, at: number): string | null {
  let end = at;
  while (end < bytes.length && bytes[end]! >= 0x20 && bytes[end]! <= 0x2f) end++;
  if (end >= bytes.length || bytes[end]! < 0x30 || bytes[end]! > 0x7e || end === at) return null;
  return String.fromCharCode(...bytes.subarray(at, end + 1));
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/**
 * Where the top-level Specific Character Set (0008,0005) value lies in a Little Endian data set
 * (`from`: after the file meta), or null. Explicit VR: tag, "CS", 2-byte length; implicit: tag,
 * 4-byte length.
 */
export function locateCharset(b: Uint8Array, from: number): { start: number; length: number } | null {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = from; i + 8 <= b.length && i < from + 4096; i++) {
    if (b[i] !== 0x08 || b[i + 1] !== 0x00 || b[i + 2] !== 0x05 || b[i + 3] !== 0x00) continue;
    // Explicit VR when the header says CS; else implicit, trusted for a plausible length.
    const explicit = b[i + 4] === 0x43 && b[i + 5] === 0x53;
    const e = elementAt(view, i, { explicit, little: true });
    if (explicit || (e.length > 0 && e.length < 256)) return { start: e.value, length: e.length };
  }
  return null;
}
