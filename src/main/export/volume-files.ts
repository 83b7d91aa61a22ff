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

/**
 * Why a series' images, stacked in display order, do not form one volume — null when they do.
 * A volume needs one size, one pixel spacing and one orientation, and positions evenly spaced
 * along the slice normal (PS3.3 C.7.6.2.1.1; tolerances: 0.1 % of a spacing, 10⁻⁴ of a direction
 * cosine, 1 % of the slice spacing). A single image is always a (one-slice) volume. The reason is
 * in words for the reader; it names the values that differ (mm).
 */
export function volumeProblem(images: readonly ImageRow[]): string | null {
  if (images.length < 2) return null;
  const mm = (v: number) => `${Number(v.toFixed(3))}`;
  const range = (values: number[]) => `${mm(Math.min(...values))}–${mm(Math.max(...values))} mm`;
  const first = images[0]!;
  if (images.some((im) => im.rows !== first.rows || im.columns !== first.columns)) {
    const sizes = [...new Set(images.map((im) => `${im.columns}×${im.rows}`))];
    return `its images differ in size (${sizes.join(', ')} pixels)`;
  }
  const spacings = images.map((im) => im.pixelSpacing);
  if (spacings.some((sp) => sp === null) && spacings.some((sp) => sp !== null))
    return 'some of its images have a pixel spacing and others none';
  const s0 = spacings[0];
  if (s0 && spacings.some((sp) => Math.abs(sp![0] - s0[0]) > 1e-3 * s0[0] || Math.abs(sp![1] - s0[1]) > 1e-3 * s0[1]))
    return `its images have different pixel spacings (${range(spacings.flatMap((sp) => sp!))})`;
  if (images.some((im) => !im.position || !im.orientation))
    return 'its images carry no position in the patient (Image Position and Orientation (Patient)), so their order and spacing in space are unknown';
  const o0 = first.orientation!;
  if (images.some((im) => im.orientation!.some((v, i) => Math.abs(v - o0[i]!) > 1e-4)))
    return 'its images have different orientations (Image Orientation (Patient))';
  const normal = [o0[1] * o0[5] - o0[2] * o0[4], o0[2] * o0[3] - o0[0] * o0[5], o0[0] * o0[4] - o0[1] * o0[3]];
  const along = images.map((im) => im.position!.reduce((sum, v, i) => sum + v * normal[i]!, 0));
  const gaps = along.slice(1).map((v, i) => v - along[i]!);
  const mean = (along[along.length - 1]! - along[0]!) / gaps.length;
  if (Math.abs(mean) < 1e-3) return 'its images lie at the same position (frames over time, not slices through the body)';
  if (gaps.some((g) => Math.abs(g - mean) > 0.01 * Math.abs(mean) + 1e-3))
    return `its slices are not evenly spaced (${range(gaps.map(Math.abs))} apart)`;
  return null;
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
