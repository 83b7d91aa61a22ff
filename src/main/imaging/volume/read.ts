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
import type { Volume, VolumeFormat } from './types';

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
  return { ...volume, readMs: performance.now() - started };
}

export { axialLayout, axialSlice, axialSlices, timePointSlices, voxelIndex, type AxialLayout } from './slices';
export { detectFile, detectFormat, type FileFormat } from '../detect';
export { VolumeError, isVolumeError, type VolumeFailure } from './errors';
export type { ComponentType, Mat3, Vec3, Volume, VolumeFormat, VolumePixels, VolumeSlice } from './types';
