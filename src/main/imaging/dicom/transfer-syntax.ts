// The transfer syntaxes we know by UID, and which decoder path each takes.

export type PixelEncoding =
  | 'native' // uncompressed, little or big endian
  | 'rle'
  | 'jpeg-baseline' // 8-bit DCT (.50), or .51 when the stream is 8-bit
  | 'jpeg-extended' // .51: 8- or 12-bit DCT; 12-bit needs a different codec
  | 'jpeg-lossless' // .57 / .70
  | 'jpeg-ls'
  | 'jpeg-2000';

export interface TransferSyntax {
  uid: string;
  name: string;
  /** How the data set is encoded; only native syntaxes differ here. */
  littleEndian: boolean;
  explicitVr: boolean;
  deflated: boolean;
  /** null: a syntax we recognise but cannot decode (MPEG, HTJ2K …). */
  encoding: PixelEncoding | null;
  lossy: boolean;
}

function ts(
  uid: string,
  name: string,
  encoding: PixelEncoding | null,
  opts: Partial<Pick<TransferSyntax, 'littleEndian' | 'explicitVr' | 'deflated' | 'lossy'>> = {},
): TransferSyntax {
  return {
    uid,
    name,
    encoding,
    littleEndian: opts.littleEndian ?? true,
    explicitVr: opts.explicitVr ?? true,
    deflated: opts.deflated ?? false,
    lossy: opts.lossy ?? false,
  };
}

export const IMPLICIT_VR_LE = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LE = '1.2.840.10008.1.2.1';
export const DEFLATED_EXPLICIT_VR_LE = '1.2.840.10008.1.2.1.99';
export const EXPLICIT_VR_BE = '1.2.840.10008.1.2.2';

const KNOWN: TransferSyntax[] = [
  ts(IMPLICIT_VR_LE, 'Implicit VR Little Endian', 'native', { explicitVr: false }),
  ts(EXPLICIT_VR_LE, 'Explicit VR Little Endian', 'native'),
  ts(DEFLATED_EXPLICIT_VR_LE, 'Deflated Explicit VR Little Endian', 'native', { deflated: true }),
  ts(EXPLICIT_VR_BE, 'Explicit VR Big Endian', 'native', { littleEndian: false }),
  ts('1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'),
  ts('1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-baseline', { lossy: true }),
  ts('1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-extended', { lossy: true }),
  ts('1.2.840.10008.1.2.4.57', 'JPEG Lossless (Process 14)', 'jpeg-lossless'),
  ts('1.2.840.10008.1.2.4.70', 'JPEG Lossless SV1 (Process 14, selection value 1)', 'jpeg-lossless'),
  ts('1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'),
  ts('1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls', { lossy: true }),
  ts('1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless Only', 'jpeg-2000'),
  ts('1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg-2000', { lossy: true }),
  // Recognised so the error names them; none is decoded here.
  ts('1.2.840.10008.1.2.4.52', 'JPEG Extended (Process 3 & 5, retired)', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.53', 'JPEG Spectral Selection (retired)', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.55', 'JPEG Full Progression (retired)', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.92', 'JPEG 2000 Part 2 Multi-component Lossless', null),
  ts('1.2.840.10008.1.2.4.93', 'JPEG 2000 Part 2 Multi-component', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.94', 'JPIP Referenced', null),
  ts('1.2.840.10008.1.2.4.95', 'JPIP Referenced Deflate', null),
  ts('1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile / Main Level', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.101', 'MPEG2 Main Profile / High Level', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264 High Profile', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible High Profile', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.104', 'MPEG-4 AVC/H.264 High Profile for 2D Video', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.105', 'MPEG-4 AVC/H.264 High Profile for 3D Video', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.106', 'MPEG-4 AVC/H.264 Stereo High Profile', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.107', 'HEVC/H.265 Main Profile', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.108', 'HEVC/H.265 Main 10 Profile', null, { lossy: true }),
  ts('1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Lossless', null),
  ts('1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 RPCL Lossless', null),
  ts('1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000', null, { lossy: true }),
  ts('1.2.840.10008.1.2.6.1', 'RFC 2557 MIME Encapsulation (retired)', null),
  ts('1.2.840.10008.1.2.6.2', 'XML Encoding (retired)', null),
];

const BY_UID = new Map(KNOWN.map((t) => [t.uid, t]));

/** The syntax for a UID; an unknown UID is returned as an undecodable syntax named by its UID. */
export function transferSyntax(uid: string): TransferSyntax {
  const clean = uid.replace(/[\0 ]+$/, '').trim();
  return BY_UID.get(clean) ?? ts(clean, 'unknown transfer syntax', null);
}

/** "1.2.840.10008.1.2.4.100 (MPEG2 Main Profile / Main Level)" */
export function describeSyntax(t: TransferSyntax): string {
  return `${t.uid} (${t.name})`;
}
