// NIfTI and PNG files of a series' label maps (and, for nnU-Net, of its image): a series' slices
// stacked into one volume in the source's patient geometry, written with itk-wasm.
import { niftiWriteImageNode } from '@itk-wasm/image-io';
import { randomBytes } from 'node:crypto';
import { mkdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { encodeGrayPng } from '../imaging/raster/png-encoder';
import type { ImageRow } from './queries';

type Vec3 = [number, number, number];

/** Voxel grid → patient coordinates (LPS, mm), in ITK's terms. */
export interface VolumeGeometry {
  origin: Vec3;
  /** Column spacing, row spacing, slice spacing (mm). */
  spacing: Vec3;
  /** Row-major 3 × 3: column j is the direction of voxel axis j (x = along a row, y = down a column, z = across slices). */
  direction: number[];
}

/**
 * The geometry of a series' images stacked in display order: origin at the first image's
 * Image Position (Patient), x and y along its Image Orientation (Patient), z from the first to
 * the last image's position (PS3.3 C.7.6.2.1.1). Images without positions get an identity
 * geometry with their pixel spacing (1 mm when unknown).
 */
export function stackGeometry(images: readonly ImageRow[]): VolumeGeometry {
  const first = images[0]!;
  const [rowSpacing, columnSpacing] = first.pixelSpacing ?? [1, 1];
  const last = images[images.length - 1]!;
  if (!first.position || !first.orientation)
    return { origin: [0, 0, 0], spacing: [columnSpacing, rowSpacing, 1], direction: [1, 0, 0, 0, 1, 0, 0, 0, 1] };
  const x = first.orientation.slice(0, 3) as Vec3;
  const y = first.orientation.slice(3, 6) as Vec3;
  let z: Vec3 = [x[1] * y[2] - x[2] * y[1], x[2] * y[0] - x[0] * y[2], x[0] * y[1] - x[1] * y[0]];
  let sliceSpacing = 1;
  if (images.length > 1 && last.position) {
    const d = last.position.map((v, i) => v - first.position![i]!) as Vec3;
    const length = Math.hypot(...d);
    if (length > 0) {
      z = d.map((v) => v / length) as Vec3;
      sliceSpacing = length / (images.length - 1);
    }
  }
  return {
    origin: first.position,
    spacing: [columnSpacing, rowSpacing, sliceSpacing],
    direction: [x[0], y[0], z[0], x[1], y[1], z[1], x[2], y[2], z[2]],
  };
}

/** Slices (each rows × columns, row-major) stacked as x fastest, then y, then z. */
export function stack<T extends Uint8Array | Int16Array | Float32Array>(slices: readonly T[], make: (n: number) => T): T {
  const n = slices[0]?.length ?? 0;
  const out = make(n * slices.length);
  slices.forEach((s, i) => out.set(s, i * n));
  return out;
}

/** Writes a scalar volume as NIfTI (gzip when the name ends in .gz), via a temporary name. */
export async function writeNifti(
  file: string,
  voxels: Uint8Array | Int16Array | Float32Array,
  size: Vec3,
  geometry: VolumeGeometry,
): Promise<void> {
  mkdirSync(path.dirname(file), { recursive: true });
  const componentType = voxels instanceof Uint8Array ? 'uint8' : voxels instanceof Int16Array ? 'int16' : 'float32';
  // ITK picks the format from the extension, so the temporary name keeps it.
  const temporary = path.join(path.dirname(file), `.${randomBytes(6).toString('hex')}.${path.basename(file)}`);
  const image = {
    imageType: { dimension: 3, componentType, pixelType: 'Scalar', components: 1 },
    name: path.basename(file),
    origin: [...geometry.origin],
    spacing: [...geometry.spacing],
    direction: new Float64Array(geometry.direction),
    size: [...size],
    metadata: new Map(),
    data: voxels,
  };
  try {
    const { couldWrite } = await niftiWriteImageNode(image as unknown as Parameters<typeof niftiWriteImageNode>[0], temporary, {
      useCompression: file.endsWith('.gz'),
    });
    if (!couldWrite) throw new Error(`ITK's NIfTI writer could not write ${path.basename(file)}`);
    renameSync(temporary, file);
  } finally {
    rmSync(temporary, { force: true });
  }
}

/** One 8-bit grey PNG per slice; pixel value = segment number (0 = background). */
export function writeLabelPng(file: string, map: Uint8Array, rows: number, columns: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file + '.part', encodeGrayPng(columns, rows, map));
  renameSync(file + '.part', file);
}
