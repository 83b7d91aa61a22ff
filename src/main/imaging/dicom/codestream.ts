// Reads the frame header of a JPEG / JPEG-LS / JPEG 2000 codestream without decoding it, so a
// frame whose size disagrees with the DICOM header is refused before a codec allocates for it,
// and so a 12-bit JPEG can be routed to a codec that supports 12 bits.

export interface CodestreamInfo {
  family: 'jpeg' | 'jpeg-2000';
  /** SOF marker number for JPEG (0xC0 baseline, 0xC1 extended, 0xC3 lossless, 0xF7 JPEG-LS). */
  marker: number;
  width: number;
  height: number;
  components: number;
  precision: number;
  /** JPEG 2000 only: first component signed. */
  signed: boolean;
  /** JPEG only: component identifiers from the frame header. */
  componentIds: number[];
  /** JPEG only: the stream carries a JFIF (APP0) / Adobe (APP14) marker. */
  jfif: boolean;
  adobe: boolean;
}

const SOF_MARKERS = new Set([0xc0, 0xc1, 0xc2, 0xc3, 0xc5, 0xc6, 0xc7, 0xc9, 0xca, 0xcb, 0xcd, 0xce, 0xcf, 0xf7]);

function u16(b: Uint8Array, i: number): number {
  return ((b[i] ?? 0) << 8) | (b[i + 1] ?? 0);
}

function u32(b: Uint8Array, i: number): number {
  return u16(b, i) * 65536 + u16(b, i + 2);
}

function jpegInfo(b: Uint8Array): CodestreamInfo | null {
  let i = 2;
  let jfif = false;
  let adobe = false;
  // Markers are bounded by the stream; each step moves forward by at least 2 bytes.
  while (i + 4 <= b.length) {
    if (b[i] !== 0xff) {
      i++;
      continue;
    }
    const marker = b[i + 1] ?? 0;
    if (marker === 0xff) {
      i++;
      continue;
    }
    if (marker === 0xd8 || marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      i += 2;
      continue;
    }
    if (marker === 0xd9 || marker === 0xda) return null; // end of image or start of scan before SOF
    const length = u16(b, i + 2);
    const tag = String.fromCharCode(...b.subarray(i + 4, i + 9));
    if (marker === 0xe0 && tag === 'JFIF\0') jfif = true;
    // libjpeg ignores an Adobe segment shorter than its 12 data bytes (some writers emit one).
    if (marker === 0xee && tag === 'Adobe' && length >= 14) adobe = true;
    if (SOF_MARKERS.has(marker)) {
      if (i + 10 > b.length) return null;
      const components = b[i + 9] ?? 0;
      return {
        family: 'jpeg',
        marker,
        precision: b[i + 4] ?? 0,
        height: u16(b, i + 5),
        width: u16(b, i + 7),
        components,
        signed: false,
        componentIds: Array.from({ length: components }, (_, k) => b[i + 10 + 3 * k] ?? 0),
        jfif,
        adobe,
      };
    }
    if (length < 2) return null;
    i += 2 + length;
  }
  return null;
}

function j2kInfo(b: Uint8Array, start: number): CodestreamInfo | null {
  // SOC (FF4F) then SIZ (FF51): Lsiz, Rsiz, Xsiz, Ysiz, XOsiz, YOsiz, XTsiz, YTsiz, XTOsiz, YTOsiz, Csiz, then Ssiz per component.
  const siz = start + 2;
  if (u16(b, siz) !== 0xff51 || siz + 41 > b.length) return null;
  const xsiz = u32(b, siz + 6);
  const ysiz = u32(b, siz + 10);
  const xo = u32(b, siz + 14);
  const yo = u32(b, siz + 18);
  const components = u16(b, siz + 38);
  const ssiz = b[siz + 40] ?? 0;
  return {
    family: 'jpeg-2000',
    marker: 0xff51,
    width: xsiz - xo,
    height: ysiz - yo,
    components,
    precision: (ssiz & 0x7f) + 1,
    signed: (ssiz & 0x80) !== 0,
    componentIds: [],
    jfif: false,
    adobe: false,
  };
}

export function codestreamInfo(b: Uint8Array): CodestreamInfo | null {
  if (b[0] === 0xff && b[1] === 0xd8) return jpegInfo(b);
  if (b[0] === 0xff && b[1] === 0x4f) return j2kInfo(b, 0);
  // A JP2 file wrapper: find the contiguous codestream box ("jp2c") among the top-level boxes.
  let i = 0;
  while (i + 8 <= b.length) {
    let length = u32(b, i);
    const type = String.fromCharCode(b[i + 4] ?? 0, b[i + 5] ?? 0, b[i + 6] ?? 0, b[i + 7] ?? 0);
    let header = 8;
    if (length === 1) {
      length = u32(b, i + 12); // 64-bit length; frames are far below 4 GiB
      header = 16;
    }
    if (type === 'jp2c') return j2kInfo(b, i + header);
    if (length < header) return null;
    i += length;
  }
  return null;
}

/** True when the fragment begins a new frame (a JPEG SOI, J2K SOC or JP2 signature box). */
export function startsFrame(b: Uint8Array): boolean {
  if (b[0] === 0xff && (b[1] === 0xd8 || b[1] === 0x4f)) return true;
  return b.length >= 8 && b[4] === 0x6a && b[5] === 0x50 && b[6] === 0x20 && b[7] === 0x20; // "jP  "
}

/**
 * Whether a 3-component baseline JPEG holds RGB rather than YCbCr. libjpeg decides by JFIF
 * (YCbCr), Adobe APP14 (its transform flag) or component ids 'R','G','B'; without any of them it
 * assumes YCbCr. DICOM writers often leave all of these out: then ids 1,2,3 — the JFIF
 * convention — still mean YCbCr (GDCM's lossy RGB files are YCbCr inside though labelled RGB),
 * and any other ids under a DICOM "RGB" label mean the components were stored untransformed.
 */
export function jpegHoldsRgb(info: CodestreamInfo, photometric: string): boolean {
  if (info.family !== 'jpeg' || info.components !== 3 || info.jfif || info.adobe) return false;
  const [a, b, c] = info.componentIds;
  if (a === 82 && b === 71 && c === 66) return false; // libjpeg already reads 'R','G','B' as RGB
  return photometric === 'RGB' && !(a === 1 && b === 2 && c === 3);
}

/** The stream with an Adobe APP14 marker (transform 0: no colour transform) after SOI. */
export function withAdobeRgbMarker(b: Uint8Array): Uint8Array {
  const app14 = [0xff, 0xee, 0x00, 0x0e, 0x41, 0x64, 0x6f, 0x62, 0x65, 0x00, 0x64, 0x00, 0x00, 0x00, 0x00, 0x00];
  const out = new Uint8Array(b.length + app14.length);
  out.set(b.subarray(0, 2));
  out.set(app14, 2);
  out.set(b.subarray(2), 2 + app14.length);
  return out;
}
