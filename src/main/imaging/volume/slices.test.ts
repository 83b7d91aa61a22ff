// axialSlices on hand-built volumes stored every way a file can store them. The invariant: every
// slice pixel, placed in the patient by the slice's own position/orientation/spacing, lands
// exactly where its source voxel is in the volume's geometry — and the display is radiological.
import { describe, expect, it } from 'vitest';
import { axialLayout, axialSlices, voxelIndex } from './slices';
import type { Mat3, Vec3, Volume } from './types';

/** Direction matrix from three axis vectors (the columns). */
function columns(a: Vec3, b: Vec3, c: Vec3): Mat3 {
  return [a[0], b[0], c[0], a[1], b[1], c[1], a[2], b[2], c[2]];
}

function rotation(ax: number, ay: number, az: number): Mat3 {
  const [cx, sx, cy, sy, cz, sz] = [Math.cos(ax), Math.sin(ax), Math.cos(ay), Math.sin(ay), Math.cos(az), Math.sin(az)];
  const mul = (p: number[], q: number[]) =>
    [0, 1, 2].flatMap((i) => [0, 1, 2].map((j) => [0, 1, 2].reduce((s, k) => s + (p[3 * i + k] ?? 0) * (q[3 * k + j] ?? 0), 0)));
  const rx = [1, 0, 0, 0, cx, -sx, 0, sx, cx];
  const ry = [cy, 0, sy, 0, 1, 0, -sy, 0, cy];
  const rz = [cz, -sz, 0, sz, cz, 0, 0, 0, 1];
  return mul(rz, mul(ry, rx)) as Mat3;
}

function volume(direction: Mat3, size: Vec3 = [4, 5, 6], components: 1 | 3 = 1): Volume {
  const n = size[0] * size[1] * size[2];
  const pixels = new Float64Array(n * components);
  for (let v = 0; v < n; v++) for (let c = 0; c < components; c++) pixels[v * components + c] = v * 10 + c;
  return {
    format: 'nifti',
    size,
    spacing: [0.7, 1.1, 2.5],
    origin: [12, -30, 45],
    direction,
    componentType: 'float64',
    components,
    pixels,
    timePoints: [pixels],
    sourcePath: '/synthetic',
    volumesInFile: 1,
    warnings: [],
    readMs: 0,
  };
}

function voxelPosition(vol: Volume, v: number): Vec3 {
  const [nx, ny] = vol.size;
  const idx = [v % nx, Math.floor(v / nx) % ny, Math.floor(v / (nx * ny))];
  const d = vol.direction;
  return [0, 1, 2].map(
    (r) => vol.origin[r]! + [0, 1, 2].reduce((s, j) => s + d[3 * r + j]! * idx[j]! * vol.spacing[j]!, 0),
  ) as Vec3;
}

function checkGeometry(vol: Volume): void {
  const slices = axialSlices(vol);
  const layout = axialLayout(vol);
  expect(slices.length).toBe(layout.slices);
  let lastZ = -Infinity;
  for (const s of slices) {
    const row = s.orientation.slice(0, 3);
    const col = s.orientation.slice(3);
    // Radiological display: columns run toward patient left, rows toward posterior, as far as
    // the stored axes allow; slices climb toward superior.
    const normal = [
      row[1]! * col[2]! - row[2]! * col[1]!,
      row[2]! * col[0]! - row[0]! * col[2]!,
      row[0]! * col[1]! - row[1]! * col[0]!,
    ];
    expect(normal[2]!).toBeGreaterThan(0);
    expect(row[0]!).toBeGreaterThanOrEqual(0);
    expect(col[1]!).toBeGreaterThanOrEqual(0);
    const z = s.position[0] * normal[0]! + s.position[1] * normal[1]! + s.position[2] * normal[2]!;
    expect(z).toBeGreaterThan(lastZ);
    lastZ = z;
    for (let r = 0; r < s.rows; r++) {
      for (let c = 0; c < s.columns; c++) {
        const o = (r * s.columns + c) * s.samplesPerPixel;
        const v = (s.pixels[o] ?? 0) / 10;
        expect(voxelIndex(layout, s.index, r, c)).toBe(v);
        for (let k = 1; k < s.samplesPerPixel; k++) expect(s.pixels[o + k]).toBe(v * 10 + k);
        const want = voxelPosition(vol, v);
        for (let i = 0; i < 3; i++) {
          const got = s.position[i]! + c * s.pixelSpacing[1] * row[i]! + r * s.pixelSpacing[0] * col[i]!;
          expect(got).toBeCloseTo(want[i]!, 9);
        }
      }
    }
  }
}

describe('axialSlices', () => {
  it('keeps an LPS-aligned volume as stored', () => {
    const vol = volume(columns([1, 0, 0], [0, 1, 0], [0, 0, 1]));
    const l = axialLayout(vol);
    expect([l.sliceAxis, l.rowAxis, l.columnAxis]).toEqual([2, 1, 0]);
    expect(l.flip).toEqual({ slice: false, row: false, column: false });
    const [first] = axialSlices(vol);
    expect(first?.pixelSpacing).toEqual([1.1, 0.7]);
    expect(first?.sliceSpacing).toBe(2.5);
    expect(first?.position).toEqual([12, -30, 45]);
    expect(first?.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    checkGeometry(vol);
  });

  it('flips a RAS-stored NIfTI (direction diag(-1,-1,1)) to radiological order', () => {
    const vol = volume(columns([-1, 0, 0], [0, -1, 0], [0, 0, 1]));
    expect(axialLayout(vol).flip).toEqual({ slice: false, row: true, column: true });
    checkGeometry(vol);
  });

  it('cuts a sagittally stored volume across its stored slices', () => {
    // i → anterior-to-posterior, j → superior-to-inferior, k → right-to-left.
    const vol = volume(columns([0, 1, 0], [0, 0, -1], [1, 0, 0]), [6, 7, 5]);
    const l = axialLayout(vol);
    expect([l.sliceAxis, l.rowAxis, l.columnAxis]).toEqual([1, 0, 2]);
    expect(l.flip.slice).toBe(true);
    expect([l.slices, l.rows, l.columns]).toEqual([7, 6, 5]);
    const [first] = axialSlices(vol);
    expect(first?.pixelSpacing).toEqual([0.7, 2.5]);
    checkGeometry(vol);
  });

  it('cuts a coronally stored volume', () => {
    const vol = volume(columns([-1, 0, 0], [0, 0, -1], [0, -1, 0]));
    const l = axialLayout(vol);
    expect([l.sliceAxis, l.rowAxis, l.columnAxis]).toEqual([1, 2, 0]);
    checkGeometry(vol);
  });

  it('keeps an oblique volume oblique and reports by how much', () => {
    const deg = Math.PI / 180;
    const vol = volume(rotation(20 * deg, -10 * deg, 30 * deg));
    const l = axialLayout(vol);
    expect(l.sliceAxis).toBe(2);
    expect(l.obliquityDeg).toBeGreaterThan(15);
    expect(l.obliquityDeg).toBeLessThan(30);
    checkGeometry(vol);
    // Tilted 40° about L/R, with i and j reversed: still cut along k, still consistent.
    const steep = volume(rotation(40 * deg, 0, 180 * deg));
    expect(axialLayout(steep).sliceAxis).toBe(2);
    expect(axialLayout(steep).obliquityDeg).toBeCloseTo(40, 6);
    checkGeometry(steep);
    // Past 45° the j axis is the one nearer S/I: slices are cut along it, 30° off axial.
    const beyond = volume(rotation(60 * deg, 0, 0));
    expect(axialLayout(beyond).sliceAxis).toBe(1);
    expect(axialLayout(beyond).obliquityDeg).toBeCloseTo(30, 6);
    checkGeometry(beyond);
  });

  it('carries RGB voxels and single-slice images', () => {
    checkGeometry(volume(columns([-1, 0, 0], [0, -1, 0], [0, 0, 1]), [3, 4, 5], 3));
    const flat = volume(columns([1, 0, 0], [0, 1, 0], [0, 0, 1]), [7, 3, 1]);
    expect(axialSlices(flat)).toHaveLength(1);
    checkGeometry(flat);
  });

  it('keeps the element type', () => {
    const vol = volume(columns([1, 0, 0], [0, 1, 0], [0, 0, 1]));
    const int16 = { ...vol, componentType: 'int16' as const, pixels: Int16Array.from(vol.pixels, (v) => v / 10) };
    expect(axialSlices(int16)[0]?.pixels).toBeInstanceOf(Int16Array);
  });
});
