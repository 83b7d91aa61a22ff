// Reads a NIfTI-1 (.nii, .nii.gz, .hdr/.img), NRRD (.nrrd, .nhdr + data) or MetaImage (.mha,
// .mhd + .raw/.zraw) file into a `Volume`. Our own header check comes first — it refuses bad
// magic, damaged headers, unsupported variants, sizes over the limit and truncated data with a
// reason — then ITK (@itk-wasm/image-io, WebAssembly shipped in the package, no network) reads it.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { checkData } from './data-check';
import { detectFormat, DETECT_BYTES, type FileFormat } from '../detect';
import { VolumeError, fsError } from './errors';
import { readHead, type HeaderInfo } from './header';
import { itkRead, toVolume } from './itk';
import { parseMetaHeader } from './meta-header';
import { parseNiftiHeader } from './nifti-header';
import { parseNrrdHeader } from './nrrd-header';
import type { Mat3, Vec3, Volume, VolumeFormat } from './types';

export interface ReadVolumeOptions {
  /**
   * Largest voxel array (bytes, all volumes of a 4D file counted, since ITK reads them all) we
   * let ITK allocate. Default 1 GiB: WebAssembly memory ends at 4 GiB and the array exists twice
   * (inside the module and copied out).
   */
  maxBytes?: number;
}

export const DEFAULT_MAX_VOLUME_BYTES = 1024 ** 3;

const PARSERS: Record<VolumeFormat, (file: string) => Promise<HeaderInfo>> = {
  nifti: parseNiftiHeader,
  nrrd: parseNrrdHeader,
  metaimage: parseMetaHeader,
};

function isVolumeFormat(f: FileFormat): f is VolumeFormat {
  return f === 'nifti' || f === 'nrrd' || f === 'metaimage';
}

/** Reads the header only, with every check that needs no voxel data. */
export async function inspectVolume(filePath: string): Promise<HeaderInfo> {
  const file = path.resolve(filePath);
  const name = path.basename(file);
  let isFile: boolean;
  try {
    isFile = (await stat(file)).isFile();
  } catch (e) {
    throw fsError(e, name);
  }
  if (!isFile) throw new VolumeError('not-found', `${name} is not a file`);
  const format = detectFormat(file, await readHead(file, DETECT_BYTES));
  if (!isVolumeFormat(format)) {
    const what = format === 'unknown' ? 'an unknown format' : format.toUpperCase();
    throw new VolumeError('bad-magic', `${name} is not a NIfTI, NRRD or MetaImage file (it looks like ${what})`);
  }
  return PARSERS[format](file);
}

export async function readVolume(filePath: string, options: ReadVolumeOptions = {}): Promise<Volume> {
  const started = performance.now();
  const file = path.resolve(filePath); // itk-wasm mounts the file's folder: it needs an absolute path
  const header = await inspectVolume(file);
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_VOLUME_BYTES;
  if (header.dataBytes > maxBytes) {
    throw new VolumeError(
      'too-large',
      `${path.basename(file)} holds ${header.dims.join('×')} values (${(header.dataBytes / 2 ** 20).toFixed(0)} MiB), over the ${(maxBytes / 2 ** 20).toFixed(0)} MiB limit`,
    );
  }
  await checkData(header.data);
  const image = await itkRead(header.format, file);
  const volume = toVolume(image, header.format, file, [...header.warnings]);
  return { ...withSform(volume, header.sform), readMs: performance.now() - started };
}

export { axialLayout, axialSlice, axialSlices, timePointSlices, voxelIndex, type AxialLayout } from './slices';
export { detectFile, detectFormat, type FileFormat } from '../detect';
export { VolumeError, isVolumeError, type VolumeFailure } from './errors';
export type { ComponentType, Mat3, Vec3, Volume, VolumeFormat, VolumePixels, VolumeSlice } from './types';

/**
 * The geometry of a NIfTI's sform (RAS) in the volume's LPS terms, replacing ITK's (which may
 * come from the qform): nibabel's precedence, sform first. A sform with shear cannot be an
 * origin, spacing and direction cosines: ITK's geometry is kept, with a note.
 */
function withSform<V extends Omit<Volume, 'readMs'>>(volume: V, sform: number[][] | undefined): V {
  if (!sform || sform.flat().some((v) => !Number.isFinite(v))) return volume;
  const lps = sform.map((row, i) => (i < 2 ? row.map((v) => -v) : row));
  const columns = [0, 1, 2].map((j) => [lps[0]![j]!, lps[1]![j]!, lps[2]![j]!]);
  const spacing = columns.map((c) => Math.hypot(c[0]!, c[1]!, c[2]!)) as Vec3;
  if (spacing.some((s) => !(s > 0))) return volume;
  const unit = columns.map((c, j) => c.map((v) => v / spacing[j]!));
  const dot = (a: number[], b: number[]) => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;
  if (
    Math.abs(dot(unit[0]!, unit[1]!)) > 1e-3 ||
    Math.abs(dot(unit[0]!, unit[2]!)) > 1e-3 ||
    Math.abs(dot(unit[1]!, unit[2]!)) > 1e-3
  ) {
    return { ...volume, warnings: [...volume.warnings, 'the sform has shear: the qform geometry was used'] };
  }
  const direction = [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => unit[j]![i]!)) as Mat3;
  return { ...volume, origin: [lps[0]![3]!, lps[1]![3]!, lps[2]![3]!], spacing, direction };
}
