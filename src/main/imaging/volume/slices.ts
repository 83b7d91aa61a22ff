// A volume as one series of axial 2D slices, for a 2D network and a DICOM-style viewer. No voxel
// is resampled: slices are taken along one of the stored index axes, so geometry stays exact and
// each slice carries its true (possibly oblique) orientation.
//
// How the axes are chosen (LPS: x → Left, y → Posterior, z → Superior):
//  - slice axis: the index axis whose direction is closest to patient S/I (largest |z|), so a
//    volume stored sagittally or coronally is cut across its stored slices; ties go to the
//    lower axis. Slices are ordered inferior → superior (flipped where that axis points down).
//  - of the other two, the one closer to R/L runs along a row (columns), the other down the
//    image (rows); the assignment maximises |column·x| + |row·y|.
//  - flips follow the radiological display: column index increases toward patient Left (the
//    patient's right on the viewer's left), row index increases toward Posterior (anterior at
//    the top). Slice normal = row cosine × column cosine then points Superior.
// An oblique volume (e.g. tilted 20° about L/R) keeps its tilt in `orientation`; `obliquityDeg`
// says by how much its slices are off true axial (at most ~55° since the closest axis is taken).
import type { Vec3, Volume, VolumePixels, VolumeSlice } from './types';

type Axis = 0 | 1 | 2;

export interface AxialLayout {
  sliceAxis: Axis;
  rowAxis: Axis;
  columnAxis: Axis;
  flip: { slice: boolean; row: boolean; column: boolean };
  slices: number;
  rows: number;
  columns: number;
  /**
   * Voxel index (components not counted) of slice s, row r, column c:
   * start + s·sliceStride + r·rowStride + c·columnStride. The inverse map, for assembling
   * per-slice masks back into the volume's grid on export.
   */
  start: number;
  sliceStride: number;
  rowStride: number;
  columnStride: number;
  /** Angle between the slice normal and patient S/I, in degrees (0 for a true axial stack). */
  obliquityDeg: number;
}

/** Column j of the direction matrix: the LPS direction of index axis j. */
function axisDirection(volume: Volume, j: Axis): Vec3 {
  const d = volume.direction;
  return [d[j] ?? 0, d[3 + j] ?? 0, d[6 + j] ?? 0];
}

export function axialLayout(volume: Volume): AxialLayout {
  const dirs = ([0, 1, 2] as const).map((j) => axisDirection(volume, j));
  const dir = (j: Axis): Vec3 => dirs[j] as Vec3;
  let sliceAxis: Axis = 0;
  for (const j of [1, 2] as const) if (Math.abs(dir(j)[2]) > Math.abs(dir(sliceAxis)[2]) + 1e-9) sliceAxis = j;
  const [a, b] = ([0, 1, 2] as const).filter((j) => j !== sliceAxis) as [Axis, Axis];
  const keep = Math.abs(dir(a)[0]) + Math.abs(dir(b)[1]);
  const swap = Math.abs(dir(b)[0]) + Math.abs(dir(a)[1]);
  const [columnAxis, rowAxis] = swap > keep + 1e-9 ? [b, a] : [a, b];

  const flip = { slice: dir(sliceAxis)[2] < 0, row: dir(rowAxis)[1] < 0, column: dir(columnAxis)[0] < 0 };
  const size = volume.size;
  const stride: Vec3 = [1, size[0], size[0] * size[1]];
  const signed = (axis: Axis, flipped: boolean) => (flipped ? -stride[axis] : stride[axis]);
  const start =
    (flip.slice ? (size[sliceAxis] - 1) * stride[sliceAxis] : 0) +
    (flip.row ? (size[rowAxis] - 1) * stride[rowAxis] : 0) +
    (flip.column ? (size[columnAxis] - 1) * stride[columnAxis] : 0);
  const cosine = Math.min(1, Math.abs(dir(sliceAxis)[2]));
  return {
    sliceAxis,
    rowAxis,
    columnAxis,
    flip,
    slices: size[sliceAxis],
    rows: size[rowAxis],
    columns: size[columnAxis],
    start,
    sliceStride: signed(sliceAxis, flip.slice),
    rowStride: signed(rowAxis, flip.row),
    columnStride: signed(columnAxis, flip.column),
    obliquityDeg: (Math.acos(cosine) * 180) / Math.PI,
  };
}

/** Voxel index (i + j·nx + k·nx·ny) of a slice pixel; multiply by `components` for the array. */
export function voxelIndex(layout: AxialLayout, slice: number, row: number, column: number): number {
  return layout.start + slice * layout.sliceStride + row * layout.rowStride + column * layout.columnStride;
}

function copyPixels(volume: Volume, layout: AxialLayout, slice: number): VolumePixels {
  const src = volume.pixels;
  const comps = volume.components;
  const { rows, columns, rowStride, columnStride } = layout;
  const out = new (src.constructor as new (n: number) => VolumePixels)(rows * columns * comps);
  const base = layout.start + slice * layout.sliceStride;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    const rowStart = base + r * rowStride;
    if (comps === 1 && columnStride === 1) {
      out.set(src.subarray(rowStart, rowStart + columns), o);
      o += columns;
      continue;
    }
    let v = rowStart;
    if (comps === 1) {
      for (let c = 0; c < columns; c++, v += columnStride) out[o++] = src[v] as number;
    } else {
      for (let c = 0; c < columns; c++, v += columnStride) {
        for (let k = 0; k < comps; k++) out[o++] = src[v * comps + k] as number;
      }
    }
  }
  return out;
}

/** One axial slice (0 = most inferior). */
export function axialSlice(volume: Volume, slice: number, layout: AxialLayout = axialLayout(volume)): VolumeSlice {
  if (!Number.isInteger(slice) || slice < 0 || slice >= layout.slices) {
    throw new RangeError(`slice ${slice} is outside 0…${layout.slices - 1}`);
  }
  const { spacing, origin } = volume;
  const dirOf = (j: Axis) => axisDirection(volume, j);
  // Index of the slice's first pixel along each volume axis.
  const index: Vec3 = [0, 0, 0];
  index[layout.sliceAxis] = layout.flip.slice ? layout.slices - 1 - slice : slice;
  index[layout.rowAxis] = layout.flip.row ? layout.rows - 1 : 0;
  index[layout.columnAxis] = layout.flip.column ? layout.columns - 1 : 0;
  const position: Vec3 = [origin[0], origin[1], origin[2]];
  for (const j of [0, 1, 2] as const) {
    const d = dirOf(j);
    for (let i = 0; i < 3; i++) position[i] = (position[i] ?? 0) + (d[i] ?? 0) * index[j] * spacing[j];
  }
  const rowCos = dirOf(layout.columnAxis).map((v) => (layout.flip.column ? -v : v) + 0) as Vec3;
  const colCos = dirOf(layout.rowAxis).map((v) => (layout.flip.row ? -v : v) + 0) as Vec3;
  return {
    index: slice,
    rows: layout.rows,
    columns: layout.columns,
    samplesPerPixel: volume.components,
    pixels: copyPixels(volume, layout, slice),
    pixelSpacing: [spacing[layout.rowAxis], spacing[layout.columnAxis]],
    sliceSpacing: spacing[layout.sliceAxis],
    position,
    orientation: [...rowCos, ...colCos],
  };
}

/** Every axial slice, inferior → superior (a copy of the volume's voxels in slice order). */
export function axialSlices(volume: Volume): VolumeSlice[] {
  const layout = axialLayout(volume);
  return Array.from({ length: layout.slices }, (_, s) => axialSlice(volume, s, layout));
}

/**
 * The axial slices of every time point, time point after time point: slice k of time point t is
 * element t·slices + k, its `index` that number too (the frame index the import stores).
 */
export function timePointSlices(volume: Volume): { timePoint: number; slice: VolumeSlice }[] {
  const layout = axialLayout(volume);
  return volume.timePoints.flatMap((pixels, t) =>
    Array.from({ length: layout.slices }, (_, s) => {
      const slice = axialSlice({ ...volume, pixels }, s, layout);
      return { timePoint: t, slice: { ...slice, index: t * layout.slices + s } };
    }),
  );
}
