// The itk-wasm side of reading a volume: run the format's ITK reader on a file whose header we
// have already checked, and turn its image into a `Volume`. What ITK does for us (measured against
// nibabel): RAS → LPS for NIfTI and for NRRD's declared space, NIfTI scl_slope/scl_inter applied
// (result float32), NIfTI metres/microns converted to mm. What it does that we would not choose:
// NaN voxels of a NIfTI come back as 0, and a failing read prints "Exception while running
// pipeline" (itk-wasm) and ITK's own std::cerr ("Uncompress failed") to the console: both are
// collected while the reader runs and become part of the error's message (the import log).
//
// Each call instantiates the reader's WebAssembly module afresh (itk-wasm keeps none) and runs it
// on the calling thread, blocking it: on the shared 2-core machine ~20–60 ms of set-up plus the
// read (mricron ch2 T1, 181×217×181 uint8 .nii.gz: 80–120 ms warm, ~250–350 ms for the first
// call in a process). Callers that must keep an event loop responsive run this in a worker_thread.
import { metaReadImageNode, niftiReadImageNode, nrrdReadImageNode } from '@itk-wasm/image-io';
import path from 'node:path';
import { VolumeError, describe } from './errors';
import type { ComponentType, Mat3, Vec3, Volume, VolumeFormat, VolumePixels } from './types';

type ItkImage = Awaited<ReturnType<typeof niftiReadImageNode>>['image'];
type ItkResult = { couldRead: unknown; image: ItkImage | undefined };

const READERS: Record<VolumeFormat, (file: string) => Promise<ItkResult>> = {
  nifti: niftiReadImageNode,
  nrrd: nrrdReadImageNode,
  metaimage: metaReadImageNode,
};

const FORMAT_NAME: Record<VolumeFormat, string> = { nifti: 'NIfTI', nrrd: 'NRRD', metaimage: 'MetaImage' };

/** Runs ITK's reader for `format` on an absolute path. */
export async function itkRead(format: VolumeFormat, file: string): Promise<ItkImage> {
  const name = path.basename(file);
  const printed = collectConsole();
  let result: ItkResult;
  try {
    result = await READERS[format](file);
  } catch (e) {
    throw new VolumeError(
      'read-failed',
      `ITK's ${FORMAT_NAME[format]} reader failed on ${name} (${describe(e)})${printed.end(false)}`,
      e,
    );
  } finally {
    printed.end(true);
  }
  // A refused file comes back as a return code with no message and no outputs.
  if (!result.couldRead || !result.image || !result.image.data) {
    throw new VolumeError('read-failed', `ITK's ${FORMAT_NAME[format]} reader could not read ${name}${printed.output()}`);
  }
  // ITK reports a compressed voxel block it cannot inflate on std::cerr and returns the image
  // anyway (zeros where the voxels should be): a damaged file, not an image to store.
  if (/uncompress failed/i.test(printed.output()))
    throw new VolumeError(
      'read-failed',
      `ITK's ${FORMAT_NAME[format]} reader could not decompress the voxels of ${name}${printed.output()}`,
    );
  printed.replay();
  return result.image;
}

/**
 * Collects what is written with console.log / .warn / .error from now until `end`, instead of
 * printing it (issue 23 item 7: no library's raw line on the app's stderr). Emscripten binds
 * these when each reader's module is instantiated, that is inside the call. `output()` gives the
 * lines for an error's message; `replay()` prints them after all, for a read that succeeded, so
 * that nothing another part of the thread logged meanwhile is lost.
 */
function collectConsole(): { end(keep: boolean): string; output(): string; replay(): void } {
  const lines: [keyof typeof saved, unknown[]][] = [];
  const saved = { log: console.log, warn: console.warn, error: console.error };
  for (const method of Object.keys(saved) as (keyof typeof saved)[])
    console[method] = (...args: unknown[]) => void lines.push([method, args]);
  let ended = false;
  const output = () =>
    lines.length
      ? `: ${lines
          .map(([, args]) => args.map(String).join(' ').trim())
          .filter(Boolean)
          .join(' | ')}`
      : '';
  return {
    end(keep) {
      if (!ended) Object.assign(console, saved);
      ended = true;
      return keep ? '' : output();
    },
    output,
    replay() {
      for (const [method, args] of lines.splice(0)) saved[method](...args);
    },
  };
}

function componentType(t: string): ComponentType | 'int64' | 'uint64' | null {
  switch (t) {
    case 'int8':
    case 'uint8':
    case 'int16':
    case 'uint16':
    case 'int32':
    case 'uint32':
    case 'float32':
    case 'float64':
    case 'int64':
    case 'uint64':
      return t;
    default:
      return null;
  }
}

/** 64-bit integers have no place downstream: int32 when every value fits, else float64. */
function narrow64(data: BigInt64Array | BigUint64Array, warnings: string[], type: string): [VolumePixels, ComponentType] {
  let fits = true;
  for (let i = 0; i < data.length && fits; i++) {
    const v = data[i] ?? 0n;
    if (v < -2147483648n || v > 2147483647n) fits = false;
  }
  if (fits) {
    const out = new Int32Array(data.length);
    for (let i = 0; i < data.length; i++) out[i] = Number(data[i] ?? 0n);
    warnings.push(`${type} voxels converted to int32 (every value fits)`);
    return [out, 'int32'];
  }
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) out[i] = Number(data[i] ?? 0n);
  warnings.push(`${type} voxels converted to float64 (exact up to 2^53)`);
  return [out, 'float64'];
}

/** Keeps the first 3 of every `from` interleaved components (drops alpha). */
function dropAlpha(data: VolumePixels, from: number): VolumePixels {
  const n = data.length / from;
  const out = new (data.constructor as new (n: number) => VolumePixels)(n * 3);
  for (let i = 0; i < n; i++) {
    out[i * 3] = data[i * from] ?? 0;
    out[i * 3 + 1] = data[i * from + 1] ?? 0;
    out[i * 3 + 2] = data[i * from + 2] ?? 0;
  }
  return out;
}

/** Converts ITK's image to a `Volume` (everything but `readMs`). */
export function toVolume(image: ItkImage, format: VolumeFormat, sourcePath: string, warnings: string[]): Omit<Volume, 'readMs'> {
  const name = path.basename(sourcePath);
  const dim = image.imageType.dimension;
  if (dim < 2 || dim > 4)
    throw new VolumeError('unsupported', `${name} is ${dim}-dimensional; 2D, 3D and 4D images are supported`);

  const at = (a: ArrayLike<number>, i: number, fallback: number) => (i < dim ? (a[i] ?? fallback) : fallback);
  const size: Vec3 = [at(image.size, 0, 1), at(image.size, 1, 1), at(image.size, 2, 1)];
  const spacing: Vec3 = [at(image.spacing, 0, 1), at(image.spacing, 1, 1), at(image.spacing, 2, 1)];
  const origin: Vec3 = [at(image.origin, 0, 0), at(image.origin, 1, 0), at(image.origin, 2, 0)];
  const direction = [0, 0, 0, 0, 0, 0, 0, 0, 0] as Mat3;
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++)
      direction[3 * i + j] = i < dim && j < dim ? Number(image.direction[i * dim + j] ?? 0) : i === j ? 1 : 0;
  }
  const volumesInFile = dim === 4 ? (image.size[3] ?? 1) : 1;
  if (volumesInFile > 1) warnings.push(`4D file with ${volumesInFile} volumes (time points): each read as its own series`);

  const { components, pixelType } = image.imageType;
  const type = componentType(image.imageType.componentType);
  if (type === null)
    throw new VolumeError('unsupported', `${name} has ${image.imageType.componentType} components, which are not supported`);
  const colour = pixelType === 'RGB' || pixelType === 'RGBA' || type === 'uint8';
  if (components !== 1 && !((components === 3 || components === 4) && colour)) {
    throw new VolumeError(
      'unsupported',
      `${name} has ${components}-component ${pixelType} voxels (e.g. complex or vector data), not an image to segment`,
    );
  }

  const voxels = size[0] * size[1] * size[2];
  const data = image.data;
  if (data === null || data.length < voxels * components * volumesInFile) {
    throw new VolumeError(
      'read-failed',
      `ITK returned ${data?.length ?? 0} values for a ${image.size.join('×')}×${components} image`,
    );
  }
  // Each volume of a 4D file (time point t = voxels t·n … (t+1)·n − 1, NIfTI-1 §dim), copied so
  // the full buffer can be freed; the conversions' notes are given once, for the first.
  let outType = type as ComponentType;
  const convert = (t: number): VolumePixels => {
    const chunk = data.length === voxels * components ? data : data.slice(t * voxels * components, (t + 1) * voxels * components);
    let out: VolumePixels;
    if (chunk instanceof BigInt64Array || chunk instanceof BigUint64Array)
      [out, outType] = narrow64(chunk, t === 0 ? warnings : [], type);
    else out = chunk as VolumePixels;
    return components === 4 ? dropAlpha(out, 4) : out;
  };
  const timePoints = Array.from({ length: volumesInFile }, (_, t) => convert(t));
  const pixels = timePoints[0]!;
  if (components === 4) warnings.push('RGBA voxels: alpha dropped');
  else if (components === 3 && pixelType !== 'RGB') warnings.push(`3-component ${pixelType} voxels read as RGB`);
  return {
    format,
    size,
    spacing,
    origin,
    direction,
    componentType: outType,
    components: components === 1 ? 1 : 3,
    pixels,
    timePoints,
    sourcePath,
    volumesInFile,
    warnings,
  };
}
