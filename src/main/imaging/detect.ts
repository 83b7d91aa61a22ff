// Which reader a file goes to: magic bytes first, the file name only when the bytes say nothing
// (a raw data file, an empty or damaged one). A file whose bytes contradict its name follows the
// bytes; a file named .nii that holds garbage is still called 'nifti' here, so that the NIfTI
// reader refuses it with a reason ("sizeof_hdr is …") rather than the import calling it unknown.
import { ALL_VR_CODES, LONG_VR_CODES } from './dicom/vr';
import { elementAt } from './dicom/walker';
import { open } from 'node:fs/promises';
import path from 'node:path';
import { constants, gunzipSync } from 'node:zlib';

export type FileFormat = 'dicom' | 'dicomdir' | 'nifti' | 'nrrd' | 'metaimage' | 'png' | 'jpeg' | 'unknown';

/** How many leading bytes `detectFormat` wants; fewer work, but a gzipped NIfTI needs ~400. */
export const DETECT_BYTES = 4096;

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const DICOMDIR_SOP_CLASS = '1.2.840.10008.1.3.10';

function latin1(bytes: Uint8Array, start: number, end: number): string {
  const to = Math.min(end, bytes.length);
  if (to <= start) return '';
  // Native decoding: building the string a character at a time cost ~40 µs per DICOM file.
  return Buffer.from(bytes.buffer, bytes.byteOffset + start, to - start).toString('latin1');
}

function startsWith(bytes: Uint8Array, sig: readonly number[], at = 0): boolean {
  return bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
}

/** The NIfTI version a header starts with (1 or 2), or 0. Accepts either byte order. */
export function niftiVersion(bytes: Uint8Array): 0 | 1 | 2 {
  if (bytes.length < 4) return 0;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const le = view.getInt32(0, true);
  const be = view.getInt32(0, false);
  if ((le === 348 || be === 348) && bytes.length >= 348) {
    const magic = latin1(bytes, 344, 348);
    if (magic === 'n+1\0' || magic === 'ni1\0') return 1;
  }
  if ((le === 540 || be === 540) && bytes.length >= 12) {
    const magic = latin1(bytes, 4, 8);
    if (magic === 'n+2\0' || magic === 'ni2\0') return 2;
  }
  return 0;
}

/**
 * Decompresses what it can of a gzip stream's first bytes (a prefix of a .nii.gz), at most 1 MiB
 * of output. When `bytes` inflate to more (a label volume of mostly zeros: 4 KiB of gzip can hold
 * megabytes), a shorter prefix of them is inflated instead, so the header still comes back.
 * Null when the stream is not gzip or is damaged.
 */
export function gunzipPrefix(bytes: Uint8Array): Uint8Array | null {
  for (let n = bytes.length; n > 0; n = Math.floor(n / 4)) {
    try {
      return gunzipSync(bytes.subarray(0, n), { finishFlush: constants.Z_SYNC_FLUSH, maxOutputLength: 1 << 20 });
    } catch (e) {
      if ((e as { code?: string }).code !== 'ERR_BUFFER_TOO_LARGE') return null;
    }
  }
  return null;
}

function isMetaImageHeader(bytes: Uint8Array): boolean {
  const text = latin1(bytes, 0, Math.min(bytes.length, 2048));
  // ITK writes "ObjectType = Image" first; older writers start with NDims or a comment.
  if (/^\s*ObjectType\s*=\s*Image\s*$/im.test(text)) return true;
  return /^\s*NDims\s*=\s*\d+\s*$/m.test(text.split('\n', 1)[0] ?? '');
}

/** Walks the first elements of a data set (the element walker's headers); true when they parse cleanly in ascending order. */
function walksAsDataSet(bytes: Uint8Array, littleEndian: boolean, explicit: boolean): boolean {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const mode = { explicit, little: littleEndian };
  let pos = 0;
  let lastTag = -1;
  let walked = 0;
  while (pos + 8 <= bytes.length && walked < 8) {
    const g = view.getUint16(pos, littleEndian);
    const tag = g * 0x10000 + view.getUint16(pos + 2, littleEndian);
    if (tag <= lastTag || g < 0x0002 || g > 0x7fe0 || g % 2 !== 0) return false;
    lastTag = tag;
    if (explicit) {
      const vr = view.getUint16(pos + 4, false);
      if (!ALL_VR_CODES.has(vr)) return false;
      if (LONG_VR_CODES.has(vr) && pos + 12 > bytes.length) break;
    }
    const e = elementAt(view, pos, mode);
    walked++;
    if (e.length === 0xffffffff) break; // a sequence of undefined length: trust what we have seen
    if (e.length > 0x10000) return false; // identification elements are short
    pos = e.value + e.length;
  }
  return walked >= 2 || (walked === 1 && pos >= bytes.length);
}

/**
 * A data set written without the 128-byte preamble and "DICM" (old modalities, some CDs):
 * plausible only if it opens with group 0008 (or a meta group 0002) and its first elements walk
 * cleanly — implicit or explicit VR little endian, or explicit VR big endian.
 */
function isRawDicom(bytes: Uint8Array): boolean {
  if (bytes.length < 16) return false;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const explicit = ALL_VR_CODES.has(view.getUint16(4, false));
  const le = view.getUint16(0, true);
  if (le === 0x0008 || le === 0x0002) return walksAsDataSet(bytes, true, explicit);
  if (view.getUint16(0, false) === 0x0008 && explicit) return walksAsDataSet(bytes, false, true);
  return false;
}

function byExtension(filePath: string): FileFormat {
  const name = path.basename(filePath).toLowerCase();
  if (name === 'dicomdir') return 'dicomdir';
  if (name.endsWith('.nii') || name.endsWith('.nii.gz')) return 'nifti';
  const ext = path.extname(name);
  switch (ext) {
    case '.dcm':
    case '.dicom':
    case '.ima':
      return 'dicom';
    case '.nrrd':
    case '.nhdr':
      return 'nrrd';
    case '.mha':
    case '.mhd':
      return 'metaimage';
    case '.png':
      return 'png';
    case '.jpg':
    case '.jpeg':
    case '.jpe':
    case '.jfif':
      return 'jpeg';
    default:
      return 'unknown';
  }
}

/** Classifies a file from its first bytes (ideally `DETECT_BYTES` of them) and its name. */
export function detectFormat(filePath: string, firstBytes: Uint8Array): FileFormat {
  const b = firstBytes;
  if (b.length >= 132 && latin1(b, 128, 132) === 'DICM') {
    // The SOP class is in the file meta group: its length, when the first element gives it,
    // bounds the search (a whole 4 KB string per file was a measurable part of an import).
    const groupLength =
      b.length >= 144 && b[132] === 0x02 && b[133] === 0 && b[134] === 0 && b[135] === 0 && latin1(b, 136, 138) === 'UL';
    const metaEnd = groupLength ? 144 + new DataView(b.buffer, b.byteOffset + 140, 4).getUint32(0, true) : b.length;
    const meta = latin1(b, 132, metaEnd);
    const at = meta.indexOf(DICOMDIR_SOP_CLASS);
    const next = meta.charCodeAt(at + DICOMDIR_SOP_CLASS.length);
    const isDir = at >= 0 && !(next >= 0x30 && next <= 0x39) && next !== 0x2e;
    return isDir || path.basename(filePath).toUpperCase() === 'DICOMDIR' ? 'dicomdir' : 'dicom';
  }
  if (startsWith(b, PNG_SIGNATURE)) return 'png';
  if (startsWith(b, [0xff, 0xd8, 0xff])) return 'jpeg';
  if (latin1(b, 0, 7) === 'NRRD000') return 'nrrd';
  if (niftiVersion(b) !== 0) return 'nifti';
  if (startsWith(b, [0x1f, 0x8b])) {
    const inner = gunzipPrefix(b);
    if (inner && niftiVersion(inner) !== 0) return 'nifti';
  }
  if (isMetaImageHeader(b)) return 'metaimage';
  if (isRawDicom(b)) return path.basename(filePath).toUpperCase() === 'DICOMDIR' ? 'dicomdir' : 'dicom';
  return byExtension(filePath);
}

/** Reads the first `DETECT_BYTES` of a file and classifies it. */
export async function detectFile(filePath: string): Promise<FileFormat> {
  const handle = await open(filePath, 'r');
  try {
    const buffer = new Uint8Array(DETECT_BYTES);
    const { bytesRead } = await handle.read(buffer, 0, DETECT_BYTES, 0);
    return detectFormat(filePath, buffer.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
