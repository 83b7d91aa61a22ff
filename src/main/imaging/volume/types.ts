// The typed records the volume reader (NIfTI, NRRD, MetaImage) hands to the rest of the backend.
// Geometry follows ITK: patient coordinates are LPS (x → patient Left, y → Posterior,
// z → Superior), the same frame as DICOM's Image Position/Orientation (Patient).

import type { PixelArray } from '../../../shared/imaging/pixels';

export type Vec3 = [number, number, number];

/**
 * A 3×3 matrix, row-major: `m[3 * i + j]` is row i, column j. For `Volume.direction`, column j
 * is the unit LPS direction of index axis j (ITK's `GetDirection()`), so the LPS position of
 * voxel (i, j, k) is `origin + direction · (i·sx, j·sy, k·sz)`.
 */
export type Mat3 = [number, number, number, number, number, number, number, number, number];

export type VolumeFormat = 'nifti' | 'nrrd' | 'metaimage';

/** 64-bit integer files are converted (see `Volume.warnings`); everything else is kept as stored. */
export type ComponentType = 'int8' | 'uint8' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32' | 'float64';

export type VolumePixels = PixelArray;

export interface Volume {
  format: VolumeFormat;
  /** Voxels along index axes i, j, k. A 2D file is a volume of one slice (k size 1). */
  size: Vec3;
  /** Millimetres between voxel centres along i, j, k (NIfTI metres/microns are converted by ITK). */
  spacing: Vec3;
  /** LPS position (mm) of voxel (0, 0, 0). */
  origin: Vec3;
  /** LPS direction cosines, row-major; column j is index axis j. See `Mat3`. */
  direction: Mat3;
  componentType: ComponentType;
  /** 1 (scalar) or 3 (RGB; an alpha channel is dropped). */
  components: 1 | 3;
  /**
   * size[0]·size[1]·size[2]·components values, i fastest, then j, then k; RGB interleaved.
   * NIfTI scl_slope/scl_inter are already applied by ITK (such files come back as float32).
   */
  pixels: VolumePixels;
  /** Every volume of a 4D file in time order (`pixels` is the first); one entry for a 3D file. */
  timePoints: VolumePixels[];
  sourcePath: string;
  /** Volumes in the file: 1, or N time points for a 4D file (all in `timePoints`). */
  volumesInFile: number;
  /** Everything the reader changed or could not honour, in words, for the import log. */
  warnings: string[];
  /** Milliseconds spent reading and converting. */
  readMs: number;
}

/** One axial 2D slice of a volume, with DICOM-style geometry. */
export interface VolumeSlice {
  /** 0-based position in the output order (inferior → superior). */
  index: number;
  rows: number;
  columns: number;
  samplesPerPixel: 1 | 3;
  /** rows·columns·samplesPerPixel values, row by row, same element type as the volume's. */
  pixels: VolumePixels;
  /** [spacing between rows, spacing between columns] in mm, as DICOM Pixel Spacing. */
  pixelSpacing: [number, number];
  /** Distance between neighbouring slices (mm) along the volume's slice axis. */
  sliceSpacing: number;
  /** LPS position of the slice's first pixel (row 0, column 0), as DICOM Image Position (Patient). */
  position: Vec3;
  /** Row direction then column direction (LPS), as DICOM Image Orientation (Patient). */
  orientation: [number, number, number, number, number, number];
}
