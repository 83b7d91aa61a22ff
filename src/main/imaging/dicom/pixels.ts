// Decodes every frame of an image to typed arrays: stored values (before the modality LUT),
// masked to BitsStored, sign-extended, colour converted to interleaved RGB.
import { applyPalette } from './palette';
import { codestreamInfo, jpegHoldsRgb, withAdobeRgbMarker, type CodestreamInfo } from './codestream';
import { codecName, decodeJpegLossless, decodeWasm, type CodecFrame, type WasmCodec } from './codecs';
import { DECODED_PHOTOMETRIC, expandYbr422, isYbr, planarToInterleaved, ybrToRgb } from './color';
import { splitFrames } from './encapsulated';
import { DicomError } from './errors';
import { decodeWithGdcm } from './gdcm';
import type { DicomFile } from './header';
import { checkNativeLength, layoutOf, readNativeFrame } from './native';
import type { PixelDataElement } from './pixel-locator';
import { decodeRleFrame } from './rle-lossless';
import { allocate, checkAllocation, DEFAULT_MAX_OUTPUT_BYTES, extractBits, validateFormat, type SampleFormat } from './samples';
import { describeSyntax, transferSyntax, type PixelEncoding } from './transfer-syntax';
import type { DecodedFrame, DecodedImage, DicomImageHeader, PixelArray } from './types';

export interface DecodeOptions {
  /** Zero-based frame indices to decode; all frames when absent. */
  frames?: number[];
  /** Refuse images whose decoded frames would need more than this (default 2 GiB). */
  maxOutputBytes?: number;
  /** Convert YBR colour to RGB (default true). */
  ybrToRgb?: boolean;
}

function formatOf(h: DicomImageHeader): SampleFormat {
  const float = h.pixelDataKind !== 'integer';
  return {
    bitsAllocated: h.bitsAllocated,
    bitsStored: float ? h.bitsAllocated : h.bitsStored,
    highBit: float ? h.bitsAllocated - 1 : h.highBit,
    signed: h.pixelRepresentation === 1,
    float,
  };
}

function checkImage(h: DicomImageHeader): void {
  if (h.samplesPerPixel !== 1 && h.samplesPerPixel !== 3) {
    throw new DicomError('unsupported-pixel-format', `${h.samplesPerPixel} samples per pixel is not supported (only 1 or 3)`);
  }
  if (!DECODED_PHOTOMETRIC.has(h.photometricInterpretation)) {
    throw new DicomError(
      'unsupported-pixel-format',
      `photometric interpretation ${h.photometricInterpretation} is not supported`,
    );
  }
}

function frameList(h: DicomImageHeader, wanted: number[] | undefined): number[] {
  const all = Array.from({ length: h.numberOfFrames }, (_, i) => i);
  if (!wanted) return all;
  for (const f of wanted) {
    if (!Number.isInteger(f) || f < 0 || f >= h.numberOfFrames)
      throw new DicomError('missing-attribute', `frame ${f} does not exist (the image has ${h.numberOfFrames})`);
  }
  return wanted;
}

/** Colour conversion common to every path; returns the photometric of the result. */
function finishColour(px: PixelArray, h: DicomImageHeader, bits: number, decoderDidColour: boolean, convert: boolean): string {
  const pi = h.photometricInterpretation;
  if (h.samplesPerPixel !== 3) return pi;
  if (decoderDidColour || pi === 'YBR_ICT' || pi === 'YBR_RCT') return 'RGB';
  if (isYbr(pi) && convert) {
    ybrToRgb(px, bits, pi.startsWith('YBR_PARTIAL'));
    return 'RGB';
  }
  return pi;
}

/** A frame decoded at the image's own size and sample format. */
function decodedFrame(pixels: PixelArray, h: DicomImageHeader, f: SampleFormat, photometric: string): DecodedFrame {
  return {
    pixels,
    rows: h.rows,
    columns: h.columns,
    samplesPerPixel: h.samplesPerPixel,
    photometric,
    bitsStored: f.bitsStored,
    signed: f.signed,
  };
}

function decodeNative(
  px: PixelDataElement,
  h: DicomImageHeader,
  f: SampleFormat,
  frames: number[],
  convert: boolean,
): DecodedFrame[] {
  if (px.encapsulated)
    throw new DicomError('malformed', 'Pixel Data is encapsulated (undefined length) under an uncompressed transfer syntax');
  const data = px.data;
  const layout = layoutOf(h);
  const subsampled = layout.subsampled422;
  checkNativeLength(layout, f, data.length);
  const littleEndian = px.littleEndian;
  const pixels = h.rows * h.columns;
  return frames.map((i) => {
    let out = readNativeFrame(data, i, layout, f, littleEndian, px.vr);
    if (h.samplesPerPixel === 3) {
      if (subsampled) out = expandYbr422(out, h.rows, h.columns);
      else if (h.planarConfiguration === 1) out = planarToInterleaved(out, pixels, 3);
    }
    const photometric = f.float ? h.photometricInterpretation : finishColour(out, h, h.bitsStored, false, convert);
    return decodedFrame(out, h, f, photometric);
  });
}

type Route = ({ codec: WasmCodec } | { codec: 'jpeg-lossless' } | { codec: 'gdcm' }) & { info: CodestreamInfo };

function route(encoding: PixelEncoding, frame: Uint8Array, h: DicomImageHeader): Route {
  const info = codestreamInfo(frame);
  if (!info) throw new DicomError('decode-failed', `frame does not start with a ${encoding} codestream header`);
  if (info.width !== h.columns || info.height !== h.rows) {
    throw new DicomError(
      'decode-failed',
      `codestream is ${info.width}×${info.height} but the header says ${h.columns}×${h.rows}`,
    );
  }
  if (info.components !== h.samplesPerPixel) {
    throw new DicomError(
      'decode-failed',
      `codestream has ${info.components} components but the header says ${h.samplesPerPixel} samples per pixel`,
    );
  }
  if (encoding === 'jpeg-2000') return { codec: 'j2k', info };
  if (info.family !== 'jpeg') throw new DicomError('decode-failed', `a JPEG 2000 codestream under a ${encoding} transfer syntax`);
  // Trust the stream's SOF over the label: writers mislabel lossless as baseline and back.
  if (info.marker === 0xf7) return { codec: 'jpegls', info };
  if (info.marker === 0xc3 || info.marker === 0xc7) return { codec: 'jpeg-lossless', info };
  if (info.marker === 0xc0 || info.marker === 0xc1) return info.precision > 8 ? { codec: 'gdcm', info } : { codec: 'jpeg', info };
  throw new DicomError(
    'unsupported-transfer-syntax',
    `JPEG process with SOF marker 0x${info.marker.toString(16)} (progressive or arithmetic) is not supported`,
  );
}

async function decodeOne(r: Route, frame: Uint8Array, h: DicomImageHeader): Promise<CodecFrame> {
  switch (r.codec) {
    case 'jpeg-lossless':
      return decodeJpegLossless(frame);
    case 'gdcm':
      return decodeWithGdcm(frame, {
        rows: h.rows,
        columns: h.columns,
        samplesPerPixel: h.samplesPerPixel,
        bitsAllocated: h.bitsAllocated,
        bitsStored: Math.max(h.bitsStored, 12),
        signed: h.pixelRepresentation === 1,
      });
    case 'jpeg':
      return decodeWasm('jpeg', jpegHoldsRgb(r.info, h.photometricInterpretation) ? withAdobeRgbMarker(frame) : frame);
    default:
      return decodeWasm(r.codec, frame);
  }
}

async function decodeEncapsulated(
  el: PixelDataElement,
  h: DicomImageHeader,
  f: SampleFormat,
  encoding: PixelEncoding,
  frames: number[],
  convert: boolean,
): Promise<{ frames: DecodedFrame[]; decoder: string }> {
  if (!el.encapsulated)
    throw new DicomError('malformed', `Pixel Data is not encapsulated although the transfer syntax (${encoding}) is compressed`);
  if (el.truncation) throw new DicomError('truncated-pixel-data', el.truncation);
  const parts = splitFrames(el.fragments, el.offsetTable, h.numberOfFrames, encoding === 'rle');
  const pixels = h.rows * h.columns;
  const decoders = new Set<string>();
  const out: DecodedFrame[] = [];
  for (const i of frames) {
    const frame = parts[i];
    if (!frame) throw new DicomError('truncated-pixel-data', `truncated pixel data: frame ${i + 1} is missing`);
    if (encoding === 'rle') {
      decoders.add('RLE (built in)');
      const px = decodeRleFrame(frame, h.rows, h.columns, h.samplesPerPixel, f);
      const photometric = finishColour(px, h, h.bitsStored, false, convert);
      out.push(decodedFrame(px, h, f, photometric));
      continue;
    }
    const r = route(encoding, frame, h);
    decoders.add(codecName(r.codec));
    const c = await decodeOne(r, frame, h);
    if (c.width !== h.columns || c.height !== h.rows || c.components !== h.samplesPerPixel) {
      throw new DicomError(
        'decode-failed',
        `${codecName(r.codec)} produced ${c.width}×${c.height}×${c.components}, expected ${h.columns}×${h.rows}×${h.samplesPerPixel}`,
      );
    }
    // Codec samples are right-aligned; keep as many bits as either the header or the stream
    // claims, so a stream more precise than BitsStored is not truncated.
    const bits = Math.min(f.bitsAllocated, Math.max(f.bitsStored, c.bitsPerSample));
    // A JPEG 2000 stream states its own signedness; where it contradicts Pixel Representation
    // the stream is right (as GDCM and pydicom also decide): unsigned 13-bit data read as
    // signed would turn every value above 4095 negative.
    const signed = r.codec === 'j2k' ? c.signed : f.signed;
    const fmt: SampleFormat = { ...f, signed, bitsStored: bits, highBit: bits - 1 };
    const px = allocate(fmt, pixels * h.samplesPerPixel);
    const raw = c.data instanceof Int16Array ? new Uint16Array(c.data.buffer, c.data.byteOffset, c.data.length) : c.data;
    extractBits(raw, px, fmt);
    // libjpeg converts YCbCr to RGB itself (JFIF / Adobe rules), as do all JPEG viewers.
    const decoderDidColour = r.codec === 'jpeg' || r.codec === 'gdcm';
    const photometric = finishColour(px, h, bits, decoderDidColour, convert);
    out.push({
      pixels: px,
      rows: h.rows,
      columns: h.columns,
      samplesPerPixel: h.samplesPerPixel,
      photometric,
      bitsStored: bits,
      signed,
    });
  }
  return { frames: out, decoder: [...decoders].join(', ') };
}

/** Decodes the frames of an image or segmentation. Throws DicomError, never anything else. */
export async function decodePixelData(file: DicomFile, options: DecodeOptions = {}): Promise<DecodedImage> {
  const parsed = file.parsed;
  if (parsed.kind === 'non-image') throw new DicomError('no-pixel-data', parsed.reason);
  const h = parsed.header;
  const syntax = transferSyntax(h.transferSyntaxUid);
  const encoding = syntax.encoding;
  if (!encoding) throw new DicomError('unsupported-transfer-syntax', `unsupported transfer syntax ${describeSyntax(syntax)}`);
  const el = file.pixelData;
  if (!el) throw new DicomError('malformed', 'the Pixel Data element could not be located');
  checkImage(h);
  const f = formatOf(h);
  validateFormat(f);
  const frames = frameList(h, options.frames);
  // A header that asks for more than the file holds is damage, and saying so beats "too large".
  if (encoding === 'native' && !el.encapsulated) checkNativeLength(layoutOf(h), f, el.data.length);
  const bytesEach = f.bitsAllocated === 1 ? 1 : f.bitsAllocated / 8;
  checkAllocation(
    frames.length * h.rows * h.columns * h.samplesPerPixel,
    bytesEach,
    options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES,
    `decoding ${frames.length} frame(s) of ${h.rows}×${h.columns}×${h.samplesPerPixel}`,
  );
  const convert = options.ybrToRgb ?? true;
  const started = performance.now();
  if (typeof h.palette === 'string') throw new DicomError('unsupported-pixel-format', h.palette);
  if (encoding === 'native') {
    const decoded = decodeNative(el, h, f, frames, convert);
    return { frames: paletteToRgb(decoded, h), decodeMs: performance.now() - started, decoder: 'native' };
  }
  if (f.float) throw new DicomError('unsupported-pixel-format', 'float pixel data must be uncompressed');
  const { frames: decoded, decoder } = await decodeEncapsulated(el, h, f, encoding, frames, convert);
  return { frames: paletteToRgb(decoded, h), decodeMs: performance.now() - started, decoder };
}

/** PALETTE COLOR frames through their lookup tables (palette.ts): 8-bit RGB, never raw indices. */
function paletteToRgb(frames: DecodedFrame[], h: DicomImageHeader): DecodedFrame[] {
  const palette = h.palette;
  if (h.photometricInterpretation !== 'PALETTE COLOR' || !palette || typeof palette === 'string') return frames;
  return frames.map((fr) => ({
    ...fr,
    pixels: applyPalette(fr.pixels, palette),
    samplesPerPixel: 3,
    photometric: 'RGB',
    bitsStored: 8,
    signed: false,
  }));
}
