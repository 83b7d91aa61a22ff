// The DICOM reading layer: parse a file's bytes, classify it, decode its frames. Everything
// here is a pure function of the bytes (plus lazily loaded codecs), so it can run as is in a
// worker_thread; no function reads files or keeps per-file state.
import { DicomError, describe, type DicomFailure } from './errors';
import { readDicom, type DicomFile } from './header';
import { decodePixelData, type DecodeOptions } from './pixels';
import type { DecodedImage, ParsedDicom } from './types';

export { DicomError, isDicomError, DICOM_FAILURES, type DicomFailure } from './errors';
export { readDicom, type DicomFile, type PixelDataElement } from './header';
export { decodePixelData, type DecodeOptions } from './pixels';
export { applyModalityLut, invertMonochrome1, type ModalityLut } from './modality-lut';
export { transferSyntax, describeSyntax, type TransferSyntax, type PixelEncoding } from './transfer-syntax';
export type * from './types';

export type ParsedImage = Exclude<ParsedDicom, { kind: 'non-image' }>;
export type ParsedNonImage = Extract<ParsedDicom, { kind: 'non-image' }>;

export type DecodeOutcome =
  | { status: 'decoded'; parsed: ParsedImage; image: DecodedImage }
  /** A valid object with nothing to decode (SR, RT plan, DICOMDIR …). */
  | { status: 'skipped'; parsed: ParsedNonImage; reason: string }
  | { status: 'failed'; failure: DicomFailure; message: string; parsed?: ParsedImage };

/**
 * Parses and decodes one file and reports what happened as data. Never throws: a bug in a
 * codec or in dcmjs comes back as a `decode-failed` / `malformed` outcome with its message.
 */
export async function decodeDicom(bytes: Uint8Array, options: DecodeOptions = {}): Promise<DecodeOutcome> {
  let file: DicomFile;
  try {
    file = readDicom(bytes);
  } catch (e) {
    return failed(e, 'malformed');
  }
  const parsed = file.parsed;
  if (parsed.kind === 'non-image') return { status: 'skipped', parsed, reason: parsed.reason };
  try {
    return { status: 'decoded', parsed, image: await decodePixelData(file, options) };
  } catch (e) {
    return { ...failed(e, 'decode-failed'), parsed };
  }
}

function failed(e: unknown, fallback: DicomFailure): Extract<DecodeOutcome, { status: 'failed' }> {
  if (e instanceof DicomError) return { status: 'failed', failure: e.failure, message: e.message };
  return {
    status: 'failed',
    failure: fallback,
    message: `${fallback === 'malformed' ? 'cannot parse' : 'cannot decode'}: ${describe(e)}`,
  };
}
