// NIfTI-1 header checks (.nii, .nii.gz, .hdr/.img pairs) before ITK reads the file. NIfTI-2 is
// recognised and refused: the NIfTI reader in @itk-wasm/image-io 1.6.1 returns "could not read"
// even for a valid NIfTI-2 file written by nibabel (measured).
import { access } from 'node:fs/promises';
import path from 'node:path';
import { gunzipPrefix, niftiVersion } from '../detect';
import { VolumeError } from './errors';
import { product, readHead, type HeaderInfo } from './header';

// NIfTI datatype code → [name, bytes per value, supported].
const DATATYPES = new Map<number, [string, number, boolean]>([
  [1, ['binary', 0, false]],
  [2, ['uint8', 1, true]],
  [4, ['int16', 2, true]],
  [8, ['int32', 4, true]],
  [16, ['float32', 4, true]],
  [32, ['complex64', 8, false]],
  [64, ['float64', 8, true]],
  [128, ['RGB24', 3, true]],
  [256, ['int8', 1, true]],
  [512, ['uint16', 2, true]],
  [768, ['uint32', 4, true]],
  [1024, ['int64', 8, true]],
  [1280, ['uint64', 8, true]],
  [1536, ['float128', 16, false]],
  [1792, ['complex128', 16, false]],
  [2048, ['complex256', 32, false]],
  [2304, ['RGBA32', 4, true]],
]);

const HEADER_BYTES = 348;

/** gzip by content; ITK only reads it under a .gz name (measured), so a mismatch is refused. */
async function isGz(file: string): Promise<boolean> {
  const head = await readHead(file, 2);
  return head[0] === 0x1f && head[1] === 0x8b;
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch {
    return false;
  }
}

/** The first bytes of the header, decompressed when the file is gzipped. */
async function headerBytes(file: string): Promise<Uint8Array> {
  const name = path.basename(file);
  if (!(await isGz(file))) {
    if (/\.gz$/i.test(file)) throw new VolumeError('bad-magic', `${name} is named .gz but is not gzip-compressed`);
    return readHead(file, 540);
  }
  if (!/\.gz$/i.test(file)) {
    throw new VolumeError(
      'unsupported',
      `${name} is gzip-compressed but not named .gz, which ITK cannot read; rename it to .nii.gz`,
    );
  }
  for (const n of [4096, 1 << 16]) {
    const head = await readHead(file, n);
    const inner = gunzipPrefix(head);
    if (inner && inner.length >= HEADER_BYTES) return inner;
    if (head.length < n) {
      if (inner === null) throw new VolumeError('malformed', `${name}: the gzip stream is damaged`);
      return inner;
    }
  }
  throw new VolumeError('malformed', `${name}: no NIfTI header in the first 64 KiB of the gzip stream`);
}

/** The .img (or .img.gz) beside a .hdr. */
async function pairedImage(hdr: string): Promise<string> {
  const base = hdr.replace(/\.hdr(\.gz)?$/i, '');
  const candidates = [`${base}.img`, `${base}.img.gz`, `${base}.IMG`, `${base}.IMG.GZ`];
  for (const c of candidates) if (await exists(c)) return c;
  throw new VolumeError(
    'not-found',
    `${path.basename(hdr)} is a NIfTI header whose data file ${path.basename(base)}.img is missing`,
  );
}

export async function parseNiftiHeader(file: string): Promise<HeaderInfo> {
  const name = path.basename(file);
  const b = await headerBytes(file);
  if (b.length === 0) throw new VolumeError('truncated', `${name} is empty`);
  const version = niftiVersion(b);
  if (version === 2) {
    throw new VolumeError('unsupported', `${name} is NIfTI-2, which the bundled ITK reader cannot read; save it as NIfTI-1`);
  }
  if (version !== 1) {
    if (b.length < HEADER_BYTES)
      throw new VolumeError('truncated', `${name} is ${b.length} bytes, shorter than a 348-byte NIfTI header`);
    const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
    const size = view.getInt32(0, true);
    if (size === 348 || view.getInt32(0, false) === 348) {
      throw new VolumeError('unsupported', `${name} has no NIfTI magic: an Analyze 7.5 header, which is not supported`);
    }
    throw new VolumeError('bad-magic', `${name} is not NIfTI: sizeof_hdr is ${size}, expected 348 (NIfTI-1) or 540 (NIfTI-2)`);
  }

  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const le = view.getInt32(0, true) === 348;
  const i16 = (o: number) => view.getInt16(o, le);
  const f32 = (o: number) => view.getFloat32(o, le);
  const warnings: string[] = [];

  const ndim = i16(40);
  if (ndim < 1 || ndim > 7) throw new VolumeError('malformed', `${name}: dim[0] is ${ndim}, expected 1 to 7`);
  const dims: number[] = [];
  for (let i = 1; i <= ndim; i++) dims.push(i16(40 + 2 * i));
  if (ndim > 5 && dims.slice(5).some((d) => d > 1)) {
    throw new VolumeError(
      'unsupported',
      `${name} has ${ndim} dimensions (${dims.join('×')}); at most 4 (or 5 for vector voxels) are supported`,
    );
  }
  if (ndim >= 5 && (dims[3] ?? 1) > 1 && (dims[4] ?? 1) > 1) {
    throw new VolumeError('unsupported', `${name} is a time series of vectors (${dims.join('×')}), which is not supported`);
  }
  const count = product(dims, name);

  const code = i16(70);
  const type = DATATYPES.get(code);
  if (!type) throw new VolumeError('malformed', `${name}: unknown NIfTI datatype code ${code}`);
  const [typeName, valueBytes, supported] = type;
  if (!supported) throw new VolumeError('unsupported', `${name} stores ${typeName} voxels, which are not supported`);
  const bitpix = i16(72);
  if (bitpix !== valueBytes * 8) warnings.push(`bitpix ${bitpix} disagrees with datatype ${typeName}; the datatype was used`);

  const single = String.fromCharCode(b[344] ?? 0, b[345] ?? 0) === 'n+';
  const voxOffset = f32(108);
  if (!Number.isFinite(voxOffset) || voxOffset < 0)
    throw new VolumeError('malformed', `${name}: vox_offset ${voxOffset} is invalid`);
  if (single && voxOffset < 352) {
    // ITK would read the voxels from inside the header (measured: shifted by 4 bytes).
    throw new VolumeError(
      'malformed',
      `${name}: vox_offset ${voxOffset} lies inside the header (a single-file NIfTI needs at least 352)`,
    );
  }

  const slope = f32(112);
  const inter = f32(116);
  if (Number.isFinite(slope) && slope !== 0 && (slope !== 1 || (Number.isFinite(inter) && inter !== 0))) {
    warnings.push(`scl_slope ${slope} / scl_inter ${inter} applied: voxels are stored as float32`);
  }
  const disagreement = formsDisagree(i16, f32);
  if (disagreement) warnings.push(disagreement);
  if (i16(252) <= 0 && i16(254) <= 0) {
    warnings.push(
      'the file records no orientation (qform_code and sform_code are 0): ITK assumes an LPS-aligned grid at the origin',
    );
  }

  const dataBytes = count * valueBytes;
  const dataFile = single ? file : await pairedImage(file);
  return {
    format: 'nifti',
    variant: single ? 'NIfTI-1 (single file)' : 'NIfTI-1 (.hdr/.img pair)',
    dims,
    valueBytes,
    dataBytes,
    data: {
      file: dataFile,
      offset: 0,
      encoding: (await isGz(dataFile)) ? 'gzip' : 'raw',
      needBytes: Math.floor(voxOffset) + dataBytes,
    },
    warnings,
    // Only when the two disagree: otherwise ITK's reading is nibabel's already (and ITK's unit
    // conversion is kept: xyzt_units, byte 123, metres and microns to millimetres).
    ...(disagreement
      ? { sform: [0, 1, 2].map((i) => [0, 1, 2, 3].map((j) => f32(280 + 16 * i + 4 * j) * UNIT_MM[(b[123] ?? 0) & 7]!)) }
      : {}),
  };
}

/** Millimetres per NIfTI spatial unit code (nifti1.h: 0 unknown, 1 metre, 2 mm, 3 micron). */
const UNIT_MM = [1, 1000, 1, 0.001, 1, 1, 1, 1];

/**
 * NIfTI-1 keeps two transforms: qform (quaternion, qform_code at 252) and sform (affine rows,
 * sform_code at 254). nibabel's get_best_affine uses the sform when its code is set, else the
 * qform. When both are set and place a voxel more than 0.01 mm apart, the file is ambiguous:
 * returns the note saying so, else undefined. Offsets per the NIfTI-1 header (nifti1.h).
 */
export function formsDisagree(i16: (o: number) => number, f32: (o: number) => number): string | undefined {
  const qformCode = i16(252);
  const sformCode = i16(254);
  if (qformCode <= 0 || sformCode <= 0) return undefined;
  const [b, c, d] = [f32(256), f32(260), f32(264)];
  const a = Math.sqrt(Math.max(0, 1 - (b * b + c * c + d * d)));
  const qfac = f32(76) < 0 ? -1 : 1;
  const [dx, dy, dz] = [f32(80), f32(84), f32(88) * qfac];
  // Rotation from the quaternion (nifti1.h, "Method 2").
  const r = [
    [a * a + b * b - c * c - d * d, 2 * (b * c - a * d), 2 * (b * d + a * c)],
    [2 * (b * c + a * d), a * a + c * c - b * b - d * d, 2 * (c * d - a * b)],
    [2 * (b * d - a * c), 2 * (c * d + a * b), a * a + d * d - c * c - b * b],
  ];
  const qform = r.map((row, i) => [row[0]! * dx, row[1]! * dy, row[2]! * dz, f32(268 + 4 * i)]);
  const sform = [0, 1, 2].map((i) => [0, 1, 2, 3].map((j) => f32(280 + 16 * i + 4 * j)));
  // The far corner of a 100-voxel cube and the origin, mapped by both.
  let worst = 0;
  for (const [i, j, k] of [
    [0, 0, 0],
    [100, 100, 100],
    [100, 0, 0],
    [0, 100, 0],
    [0, 0, 100],
  ] as const) {
    for (let row = 0; row < 3; row++) {
      const q = qform[row]!;
      const s = sform[row]!;
      worst = Math.max(worst, Math.abs(q[0]! * i + q[1]! * j + q[2]! * k + q[3]! - (s[0]! * i + s[1]! * j + s[2]! * k + s[3]!)));
    }
  }
  if (!(worst > 0.01)) return undefined;
  return `the sform and qform place voxels up to ${worst.toFixed(2)} mm apart: the sform (code ${sformCode}) was used, as nibabel does`;
}
