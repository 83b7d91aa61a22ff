// readVolume / axialSlices on real files — the mricron T1 brain templates, nibabel's and ITK's test
// data (tests/fixtures/setup.sh copies them; the Debian package paths are the fallback) and files
// nibabel / numpy write here into a temp folder — checked against nibabel run in a child process.
//
// The mapping to nibabel: nibabel's array is indexed arr[i, j, k] with i fastest on disk (Fortran
// order), which is our pixels[i + j·nx + k·nx·ny]; its affine A maps (i, j, k) to RAS mm, and ours
// maps to LPS, so origin = (−A[0,3], −A[1,3], A[2,3]) and direction column j = (−A[0,j], −A[1,j],
// A[2,j]) / spacing[j]. nibabel's get_fdata() applies scl_slope/scl_inter, as ITK does.
import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { axialLayout, axialSlices, readVolume, VolumeError, type Vec3, type Volume } from '../../src/main/imaging/volume/read';
import { skipTitle } from '../helpers/skip';

const PYTHON = '/usr/bin/python3';
const hasNibabel = spawnSync(PYTHON, ['-c', 'import nibabel, numpy'], { stdio: 'ignore' }).status === 0;
const noNibabel = hasNibabel ? '' : '/usr/bin/python3 has no nibabel and numpy (apt-get install python3-nibabel)';
const DATA = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures/data');

/** A fixture from tests/fixtures/data, else from the Debian package it came from, else null. */
function findFixture(rel: string): string | null {
  const [source, ...rest] = rel.split('/');
  const nibabelDir = '/usr/lib/python3/dist-packages/nibabel';
  const system: Record<string, string> = {
    mricron: '/usr/share/mricron/templates',
    nibabel: nibabelDir,
    itk: '/usr/share/doc/insighttoolkit5-examples/examples/Data',
  };
  const candidates = [path.join(DATA, rel)];
  if (source && system[source])
    candidates.push(path.join(system[source], ...(source === 'nibabel' ? ['tests', 'data', ...rest.slice(1)] : rest)));
  return candidates.find((c) => existsSync(c)) ?? null;
}

/** A fixture that must be there (tests/fixtures/setup.sh gathers every one): a missing one fails the test. */
function fixture(rel: string): string {
  const found = findFixture(rel);
  if (!found) throw new Error(`fixture ${rel} is missing: run bash tests/fixtures/setup.sh`);
  return found;
}

// `ref FILE…`: what nibabel sees. `gen DIR`: synthetic files in every layout and type.
const PY = String.raw`
import json, sys, gzip, zlib
import numpy as np
import nibabel as nib

def ref(files):
    out = {}
    for f in files:
        img = nib.load(f)
        arr = np.asanyarray(img.dataobj)
        if arr.ndim > 3: arr = arr[..., 0]
        arr = arr.astype(np.float64) if arr.dtype.kind in 'iuf' else arr
        rng = np.random.default_rng(3)
        idx = [tuple(int(rng.integers(0, n)) for n in arr.shape) for _ in range(25)]
        idx.append(tuple(int(v) for v in np.unravel_index(int(np.nanargmax(arr)), arr.shape)))
        out[f] = dict(shape=list(img.shape), zooms=[float(z) for z in img.header.get_zooms()],
                      affine=img.affine.tolist(), dtype=str(img.get_data_dtype()), sum=float(np.nansum(arr)),
                      nans=int(np.isnan(arr).sum()),
                      samples=[[*i, None if np.isnan(arr[i]) else float(arr[i])] for i in idx])
    json.dump(out, sys.stdout)

def rot(ax, ay, az):
    cx, sx, cy, sy, cz, sz = np.cos(ax), np.sin(ax), np.cos(ay), np.sin(ay), np.cos(az), np.sin(az)
    rx = np.array([[1, 0, 0], [0, cx, -sx], [0, sx, cx]])
    ry = np.array([[cy, 0, sy], [0, 1, 0], [-sy, 0, cy]])
    rz = np.array([[cz, -sz, 0], [sz, cz, 0], [0, 0, 1]])
    return rz @ ry @ rx

def gen(d):
    shape = (11, 13, 7)
    ramp = np.arange(np.prod(shape)).reshape(shape, order='F')
    def aff(r, zooms, origin):
        a = np.eye(4); a[:3, :3] = r @ np.diag(zooms); a[:3, 3] = origin; return a
    oblique = aff(rot(np.radians(12), np.radians(-7), np.radians(25)), (0.9, 1.2, 3.0), (10, -20, 30))
    nib.Nifti1Image((ramp * 3 - 500).astype(np.int16), oblique).to_filename(f'{d}/oblique.nii')
    nib.Nifti1Image((ramp * 3 - 500).astype(np.int16), oblique).to_filename(f'{d}/oblique.nii.gz')
    # Sagittal acquisition: i runs anterior→posterior, j superior→inferior, k right→left (RAS axes).
    sag = np.zeros((4, 4)); sag[:3, :3] = np.array([[0, 0, 1.1], [-0.8, 0, 0], [0, -0.9, 0]]); sag[:3, 3] = (-40, 60, 50); sag[3, 3] = 1
    nib.Nifti1Image(ramp.astype(np.uint16), sag).to_filename(f'{d}/sagittal.nii.gz')
    nib.Nifti1Pair(ramp.astype(np.float32) / 7, aff(np.eye(3), (1, 1, 2), (0, 0, 0))).to_filename(f'{d}/pair.hdr')
    be = nib.Nifti1Header(endianness='>'); be.set_data_dtype(np.float64)
    nib.Nifti1Image(ramp.astype(np.float64) * 0.25, aff(np.eye(3), (2, 2, 2), (1, 2, 3)), header=be).to_filename(f'{d}/bigendian.nii')
    scaled = nib.Nifti1Image(ramp.astype(np.int16), aff(np.eye(3), (1, 1, 1), (0, 0, 0)))
    scaled.header.set_slope_inter(0.5, -10); scaled.to_filename(f'{d}/scaled.nii')
    nib.Nifti1Image(ramp.astype(np.int64) - 300, np.eye(4), dtype=np.int64).to_filename(f'{d}/int64.nii')
    nib.Nifti1Image((ramp % 200 - 100).astype(np.int8), np.eye(4)).to_filename(f'{d}/int8.nii')
    nib.Nifti1Image(np.stack([ramp, ramp * 2], -1).astype(np.float32), np.eye(4)).to_filename(f'{d}/two-volumes.nii.gz')
    rgb = np.zeros(shape, dtype=[('R', 'u1'), ('G', 'u1'), ('B', 'u1')])
    rgb['R'] = ramp % 256; rgb['G'] = (ramp * 3) % 256; rgb['B'] = 255 - ramp % 256
    nib.Nifti1Image(rgb, np.eye(4)).to_filename(f'{d}/rgb.nii')
    metres = nib.Nifti1Image(ramp.astype(np.uint8), aff(np.eye(3), (0.001, 0.001, 0.002), (0, 0, 0)))
    metres.header.set_xyzt_units('meter'); metres.to_filename(f'{d}/metres.nii')
    none = nib.Nifti1Image(ramp.astype(np.uint8), None); none.set_qform(None, 0); none.set_sform(None, 0); none.to_filename(f'{d}/no-orientation.nii')
    nib.Nifti2Image(ramp.astype(np.uint8), np.eye(4)).to_filename(f'{d}/nifti2.nii')

    # NRRD and MetaImage: data = (linear index · 7 − 100) as int16, x fastest.
    data = (np.arange(np.prod(shape)) * 7 - 100).astype('<i2')
    raw = data.tobytes()
    sizes = ' '.join(map(str, shape))
    def nrrd(enc, extra=''):
        return (f'NRRD0004\n# written by the test\ntype: short\ndimension: 3\nspace: left-posterior-superior\nsizes: {sizes}\n'
                f'space directions: (0,1.5,0) (-2,0,0) (0,0,3)\nspace origin: (5,6,7)\nkinds: domain domain domain\n'
                f'endian: little\nencoding: {enc}\n{extra}').encode()
    open(f'{d}/raw.nrrd', 'wb').write(nrrd('raw') + b'\n' + raw)
    open(f'{d}/gzip.nrrd', 'wb').write(nrrd('gzip') + b'\n' + gzip.compress(raw))
    open(f'{d}/ascii.nrrd', 'wb').write(nrrd('ascii') + b'\n' + '\n'.join(map(str, data)).encode() + b'\n')
    open(f'{d}/detached.nhdr', 'wb').write(nrrd('raw', 'data file: detached.raw\n'))
    open(f'{d}/detached.raw', 'wb').write(raw)
    open(f'{d}/ras.nrrd', 'wb').write(nrrd('raw').replace(b'left-posterior-superior', b'right-anterior-superior') + b'\n' + raw)
    open(f'{d}/bzip2.nrrd', 'wb').write(nrrd('bzip2') + b'\n' + raw)
    def mha(extra, datafile):
        return (f'ObjectType = Image\nNDims = 3\nBinaryData = True\nBinaryDataByteOrderMSB = False\n{extra}'
                f'TransformMatrix = 0 1 0 -1 0 0 0 0 1\nOffset = 5 6 7\nElementSpacing = 1.5 2 3\nDimSize = {sizes}\n'
                f'ElementType = MET_SHORT\nElementDataFile = {datafile}\n').encode()
    open(f'{d}/local.mha', 'wb').write(mha('', 'LOCAL') + raw)
    z = zlib.compress(raw)
    open(f'{d}/compressed.mha', 'wb').write(mha(f'CompressedData = True\nCompressedDataSize = {len(z)}\n', 'LOCAL') + z)
    open(f'{d}/detached.mhd', 'wb').write(mha('', 'detached-mhd.raw'))
    open(f'{d}/detached-mhd.raw', 'wb').write(raw)

if sys.argv[1] == 'ref': ref(sys.argv[2:])
else: gen(sys.argv[2])
`;

interface NibRef {
  shape: number[];
  zooms: number[];
  affine: number[][];
  dtype: string;
  /** Sum of the first volume, NaN voxels left out (inia19 has NaN outside the brain). */
  sum: number;
  nans: number;
  /** [i, j, k, value]; value null where the voxel is NaN. */
  samples: [number, number, number, number | null][];
}

function nibabel(files: string[]): Record<string, NibRef> {
  const out = execFileSync(PYTHON, ['-c', PY, 'ref', ...files], { maxBuffer: 1 << 26 });
  return JSON.parse(out.toString()) as Record<string, NibRef>;
}

function sumOf(v: Volume): { sum: number; nans: number } {
  let sum = 0;
  let nans = 0;
  for (let i = 0; i < v.pixels.length; i++) {
    const x = Number(v.pixels[i]);
    if (Number.isNaN(x)) nans++;
    else sum += x;
  }
  return { sum, nans };
}

/** ITK's NIfTI reader turns NaN voxels into 0 (measured on resampled_anat_moved.nii: 153 NaN). */
function closeTo(got: number, want: number | null): boolean {
  if (want === null) return got === 0;
  return Math.abs(got - want) <= Math.abs(want) * 1e-6 + 1e-6;
}

function value(v: Volume, i: number, j: number, k: number): number {
  return Number(v.pixels[i + j * v.size[0] + k * v.size[0] * v.size[1]]);
}

/** Our geometry and voxels against nibabel's (see the mapping at the top). */
function expectMatchesNibabel(v: Volume, ref: NibRef, { unitScale = 1 } = {}): void {
  const A = ref.affine;
  const row = (r: number) => A[r] ?? [];
  const shape3 = [ref.shape[0] ?? 1, ref.shape[1] ?? 1, ref.shape[2] ?? 1];
  expect(v.size).toEqual(shape3);
  for (let j = 0; j < 3; j++) expect(v.spacing[j]).toBeCloseTo((ref.zooms[j] ?? 1) * unitScale, 4);
  const lps = [-1, -1, 1];
  for (let r = 0; r < 3; r++) {
    expect(v.origin[r]).toBeCloseTo((lps[r] ?? 1) * (row(r)[3] ?? 0) * unitScale, 3);
    for (let j = 0; j < 3; j++) {
      const want = ((lps[r] ?? 1) * (row(r)[j] ?? 0)) / (ref.zooms[j] ?? 1);
      expect(v.direction[3 * r + j], `direction[${r}][${j}]`).toBeCloseTo(want, 4);
    }
  }
  expect(v.volumesInFile).toBe(ref.shape[3] ?? 1);
  for (const [i, j, k, want] of ref.samples) {
    const got = value(v, i, j, k);
    expect(closeTo(got, want), `voxel (${i},${j},${k}): ${got} vs nibabel ${want}`).toBe(true);
  }
  const { sum, nans } = sumOf(v);
  expect(nans).toBe(0);
  expect(Math.abs(sum - ref.sum)).toBeLessThanOrEqual(Math.abs(ref.sum) * 1e-6 + 1e-3);
}

const dot = (a: readonly number[], b: readonly number[]) =>
  (a[0] ?? 0) * (b[0] ?? 0) + (a[1] ?? 0) * (b[1] ?? 0) + (a[2] ?? 0) * (b[2] ?? 0);

/** Finds nibabel's sample voxels in the axial slices by patient position alone. */
function expectSlicesMatchNibabel(v: Volume, ref: NibRef): void {
  const slices = axialSlices(v);
  const first = slices[0];
  if (!first) throw new Error('no slices');
  const rowCos = first.orientation.slice(0, 3);
  const colCos = first.orientation.slice(3);
  const normal = [
    (rowCos[1] ?? 0) * (colCos[2] ?? 0) - (rowCos[2] ?? 0) * (colCos[1] ?? 0),
    (rowCos[2] ?? 0) * (colCos[0] ?? 0) - (rowCos[0] ?? 0) * (colCos[2] ?? 0),
    (rowCos[0] ?? 0) * (colCos[1] ?? 0) - (rowCos[1] ?? 0) * (colCos[0] ?? 0),
  ];
  for (const [i, j, k, want] of ref.samples) {
    const ras = [0, 1, 2].map(
      (r) =>
        (ref.affine[r]?.[0] ?? 0) * i + (ref.affine[r]?.[1] ?? 0) * j + (ref.affine[r]?.[2] ?? 0) * k + (ref.affine[r]?.[3] ?? 0),
    );
    const p: Vec3 = [-(ras[0] ?? 0), -(ras[1] ?? 0), ras[2] ?? 0];
    const rel0 = p.map((x, a) => x - (first.position[a] ?? 0));
    const s = Math.round(dot(rel0, normal) / first.sliceSpacing);
    const slice = slices[s];
    if (!slice) throw new Error(`sample (${i},${j},${k}) falls outside the slices (s=${s})`);
    const rel = p.map((x, a) => x - (slice.position[a] ?? 0));
    const c = dot(rel, rowCos) / slice.pixelSpacing[1];
    const r = dot(rel, colCos) / slice.pixelSpacing[0];
    expect(Math.abs(c - Math.round(c)) + Math.abs(r - Math.round(r)), 'off the pixel grid').toBeLessThan(1e-3);
    const got = Number(slice.pixels[(Math.round(r) * slice.columns + Math.round(c)) * slice.samplesPerPixel]);
    expect(closeTo(got, want), `slice ${s} row ${Math.round(r)} col ${Math.round(c)}: ${got} vs nibabel ${want}`).toBe(true);
  }
}

const REAL_NIFTI = [
  'mricron/ch2.nii.gz', // Colin27 T1, 181×217×181 uint8, 1 mm
  'mricron/ch2better.nii.gz', // Colin27 T1, 301×370×316 uint8, 0.5 mm
  'mricron/inia19-t1-brain.nii.gz', // float32
  'mricron/aal.nii.gz', // label map
  'nibabel/tests/anatomical.nii', // big-endian int16
  'nibabel/tests/functional.nii', // 4D, scl_slope/scl_inter
  'nibabel/tests/example4d.nii.gz', // 4D, oblique (9.3°)
  'nibabel/tests/standard.nii.gz',
  'nibabel/tests/reoriented_anat_moved.nii',
  'nibabel/tests/resampled_anat_moved.nii',
  'itk/KmeansTest_T1UCharRaw.nii.gz',
  'itk/KmeansTest_T1RawSkullStrip.nii.gz',
];

let tmp = '';
let refs: Record<string, NibRef> = {};
const present = REAL_NIFTI.map((rel) => [rel, findFixture(rel)] as const).filter(
  (e): e is readonly [string, string] => e[1] !== null,
);

beforeAll(() => {
  if (!hasNibabel) return;
  tmp = mkdtempSync(path.join(os.tmpdir(), 'lgms-volume-'));
  execFileSync(PYTHON, ['-c', PY, 'gen', tmp], { stdio: ['ignore', 'ignore', 'inherit'] });
  const generated = [
    'oblique.nii',
    'oblique.nii.gz',
    'sagittal.nii.gz',
    'pair.hdr',
    'bigendian.nii',
    'scaled.nii',
    'int64.nii',
    'int8.nii',
    'two-volumes.nii.gz',
    'metres.nii',
  ];
  refs = nibabel([...present.map(([, f]) => f), ...generated.map((g) => path.join(tmp, g))]);
}, 120_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

const gen = (name: string) => path.join(tmp, name);
const refOf = (file: string): NibRef => {
  const r = refs[file];
  if (!r) throw new Error(`no nibabel reference for ${file}`);
  return r;
};

describe.skipIf(noNibabel)(skipTitle('readVolume against nibabel', noNibabel), () => {
  it('reads the mricron T1 brain (ch2) and times it', async () => {
    const file = fixture('mricron/ch2.nii.gz');
    const times: number[] = [];
    let v: Volume | null = null;
    for (let n = 0; n < 3; n++) {
      v = await readVolume(file);
      times.push(v.readMs);
    }
    if (!v) throw new Error('unreachable');
    expect(v.componentType).toBe('uint8');
    expectMatchesNibabel(v, refOf(file));
    console.log(`ch2.nii.gz (181×217×181 uint8): readVolume ${times.map((t) => t.toFixed(0)).join(' / ')} ms`);
    const t = performance.now();
    const slices = axialSlices(v);
    console.log(`ch2.nii.gz: axialSlices ${(performance.now() - t).toFixed(0)} ms for ${slices.length} slices`);
    expect(slices).toHaveLength(181);
    expect(slices[0]?.orientation).toEqual([1, 0, 0, 0, 1, 0]);
    expect([slices[0]?.rows, slices[0]?.columns]).toEqual([217, 181]);
    // Radiological: the first pixel is the patient's right-anterior corner of the lowest slice.
    expect(slices[0]?.position).toEqual([-90, -91, -71]);
    expectSlicesMatchNibabel(v, refOf(file));
  });

  it.each(REAL_NIFTI)('%s matches nibabel', async (rel) => {
    const file = fixture(rel);
    const v = await readVolume(file);
    expectMatchesNibabel(v, refOf(file));
    expectSlicesMatchNibabel(v, refOf(file));
    if (rel.includes('resampled_anat_moved')) expect(refOf(file).nans).toBe(153); // all read as 0
    if (rel.includes('functional')) {
      expect(v.componentType).toBe('float32');
      expect(v.warnings.join('; ')).toMatch(/scl_slope .* applied.*4D file with 20 volumes/);
    }
    if (rel.includes('example4d')) expect(axialLayout(v).obliquityDeg).toBeCloseTo(9.3, 1);
  });

  it('reads files nibabel wrote in every layout and type', async () => {
    for (const name of [
      'oblique.nii',
      'oblique.nii.gz',
      'sagittal.nii.gz',
      'pair.hdr',
      'bigendian.nii',
      'scaled.nii',
      'int64.nii',
      'int8.nii',
      'two-volumes.nii.gz',
    ]) {
      const v = await readVolume(gen(name));
      expectMatchesNibabel(v, refOf(gen(name)));
      expectSlicesMatchNibabel(v, refOf(gen(name)));
    }
    const sagittal = await readVolume(gen('sagittal.nii.gz'));
    const l = axialLayout(sagittal);
    expect([l.sliceAxis, l.rows, l.columns]).toEqual([1, 11, 7]); // cut across the sagittal stack
    expect(axialSlices(sagittal)[0]?.pixelSpacing.map((x) => +x.toFixed(4))).toEqual([0.8, 1.1]);

    expect((await readVolume(gen('scaled.nii'))).componentType).toBe('float32');
    const i64 = await readVolume(gen('int64.nii'));
    expect([i64.componentType, i64.warnings.join()]).toEqual(['int32', 'int64 voxels converted to int32 (every value fits)']);
    expect((await readVolume(gen('int8.nii'))).pixels).toBeInstanceOf(Int8Array);
    expect((await readVolume(gen('bigendian.nii'))).pixels).toBeInstanceOf(Float64Array);
    const two = await readVolume(gen('two-volumes.nii.gz'));
    expect([two.volumesInFile, two.warnings]).toEqual([2, ['4D file with 2 volumes (time points): each read as its own series']]);

    // ITK converts NIfTI metres to millimetres (nibabel reports the file's own unit).
    expectMatchesNibabel(await readVolume(gen('metres.nii')), refOf(gen('metres.nii')), { unitScale: 1000 });
    const none = await readVolume(gen('no-orientation.nii'));
    expect(none.warnings.join()).toMatch(/no orientation/);
  });

  it('reads RGB NIfTI as 3 interleaved components', async () => {
    const v = await readVolume(gen('rgb.nii'));
    expect([v.components, v.componentType]).toEqual([3, 'uint8']);
    for (const n of [0, 1, 500, 1000]) {
      expect([v.pixels[3 * n], v.pixels[3 * n + 1], v.pixels[3 * n + 2]]).toEqual([n % 256, (n * 3) % 256, 255 - (n % 256)]);
    }
    expect(axialSlices(v)[0]?.samplesPerPixel).toBe(3);
  });

  it('reads NRRD (raw, gzip, ascii, detached, RAS space) and MetaImage (local, zlib, detached)', async () => {
    const expectRamp = (v: Volume, label: string) => {
      expect(v.size, label).toEqual([11, 13, 7]);
      expect(v.pixels, label).toBeInstanceOf(Int16Array);
      for (const n of [0, 1, 77, 500, 1000]) expect(v.pixels[n], `${label} voxel ${n}`).toBe(n * 7 - 100);
    };
    for (const name of ['raw.nrrd', 'gzip.nrrd', 'ascii.nrrd', 'detached.nhdr', 'local.mha', 'compressed.mha', 'detached.mhd']) {
      const v = await readVolume(gen(name));
      expectRamp(v, name);
      // Both formats say: axis i points to +y (1.5 mm), axis j to −x (2 mm), k to +z (3 mm).
      expect(v.spacing, name).toEqual([1.5, 2, 3]);
      expect(v.origin, name).toEqual([5, 6, 7]);
      expect(
        v.direction.map((x) => x + 0),
        name,
      ).toEqual([0, -1, 0, 1, 0, 0, 0, 0, 1]);
      const l = axialLayout(v);
      expect([l.sliceAxis, l.rowAxis, l.columnAxis, l.flip.column], name).toEqual([2, 0, 1, true]);
    }
    const ras = await readVolume(gen('ras.nrrd'));
    expectRamp(ras, 'ras.nrrd');
    expect(ras.origin).toEqual([-5, -6, 7]); // RAS declared → converted to LPS
    await expect(readVolume(gen('bzip2.nrrd'))).rejects.toMatchObject({ failure: 'unsupported', message: /bzip2/ });
  });

  it('reads ITK example data and agrees across MetaImage and NRRD', async () => {
    const mhd = fixture('itk/BrainT1SliceBorder20DirectionPlus30.mhd');
    const nhdr = fixture('itk/BrainT1SliceBorder20DirectionPlus30.nhdr');
    const a = await readVolume(mhd); // zlib-compressed .zraw
    const b = await readVolume(nhdr); // raw
    expect(a.size).toEqual([221, 257, 1]);
    expect(b.pixels).toEqual(a.pixels);
    a.direction.forEach((x, n) => expect(b.direction[n]).toBeCloseTo(x, 5));
    expect(a.direction.slice(0, 2).map((x) => +x.toFixed(4))).toEqual([0.866, -0.5]);
    const three = fixture('itk/BrainProtonDensity3Slices.mha');
    expect((await readVolume(three)).size).toEqual([181, 217, 3]);
    const complex = fixture('itk/itkBrainSliceComplex.mha');
    await expect(readVolume(complex)).rejects.toMatchObject({ failure: 'unsupported', message: /2-component/ });
  });
});

describe.skipIf(noNibabel)(skipTitle('readVolume refuses damaged and unsupported files', noNibabel), () => {
  const halve = (file: string, name: string): string => {
    const out = gen(name);
    const bytes = readFileSync(file);
    writeFileSync(out, bytes.subarray(0, bytes.length >> 1));
    return out;
  };

  it('truncated copies, each with its reason', async () => {
    const ch2 = fixture('mricron/ch2.nii.gz');
    await expect(readVolume(halve(ch2, 'half-ch2.nii.gz'))).rejects.toMatchObject({
      failure: 'truncated',
      message: /decompressed bytes/,
    });
    const anat = fixture('nibabel/tests/anatomical.nii');
    await expect(readVolume(halve(anat, 'half-anatomical.nii'))).rejects.toMatchObject({
      failure: 'truncated',
      message: /is truncated: the header needs \d+ bytes/,
    });
    await expect(readVolume(halve(gen('oblique.nii.gz'), 'half-oblique.nii.gz'))).rejects.toMatchObject({ failure: 'truncated' });
    await expect(readVolume(halve(gen('raw.nrrd'), 'half.nrrd'))).rejects.toMatchObject({ failure: 'truncated' });
    await expect(readVolume(halve(gen('gzip.nrrd'), 'half-gzip.nrrd'))).rejects.toMatchObject({ failure: 'truncated' });
    await expect(readVolume(halve(gen('local.mha'), 'half.mha'))).rejects.toMatchObject({ failure: 'truncated' });
    await expect(readVolume(halve(gen('compressed.mha'), 'half-compressed.mha'))).rejects.toMatchObject({ failure: 'truncated' });
    // Text data cut short: our check cannot count values, ITK refuses it.
    await expect(readVolume(halve(gen('ascii.nrrd'), 'half-ascii.nrrd'))).rejects.toBeInstanceOf(VolumeError);
    // A header cut inside itself.
    writeFileSync(gen('stub.nii'), readFileSync(gen('oblique.nii')).subarray(0, 200));
    await expect(readVolume(gen('stub.nii'))).rejects.toMatchObject({ failure: 'truncated', message: /348-byte/ });
  });

  it('garbage, empty, missing and unsupported files', async () => {
    const garbage = Buffer.alloc(4096);
    for (let i = 0; i < garbage.length; i++) garbage[i] = (i * 7919 + 13) & 0xff;
    for (const name of ['garbage.nii', 'garbage.nrrd', 'garbage.mha']) writeFileSync(gen(name), garbage);
    await expect(readVolume(gen('garbage.nii'))).rejects.toMatchObject({ failure: 'bad-magic', message: /sizeof_hdr/ });
    await expect(readVolume(gen('garbage.nrrd'))).rejects.toMatchObject({ failure: 'bad-magic' });
    await expect(readVolume(gen('garbage.mha'))).rejects.toMatchObject({ failure: 'bad-magic' });
    writeFileSync(gen('garbage.nii.gz'), garbage);
    await expect(readVolume(gen('garbage.nii.gz'))).rejects.toMatchObject({ failure: 'bad-magic', message: /not gzip/ });
    writeFileSync(gen('empty.nii'), '');
    await expect(readVolume(gen('empty.nii'))).rejects.toMatchObject({ failure: 'truncated', message: /empty/ });
    await expect(readVolume(gen('does-not-exist.nii'))).rejects.toMatchObject({ failure: 'not-found', code: 'not-found' });
    // A detached header whose data file is gone.
    copyFileSync(gen('detached.nhdr'), gen('orphan.nhdr'));
    writeFileSync(gen('orphan.nhdr'), readFileSync(gen('detached.nhdr'), 'latin1').replace('detached.raw', 'gone.raw'));
    await expect(readVolume(gen('orphan.nhdr'))).rejects.toMatchObject({ failure: 'not-found', message: /gone\.raw/ });
    const hdrOnly = fixture('nibabel/tests/nifti1.hdr');
    await expect(readVolume(hdrOnly)).rejects.toMatchObject({ failure: 'not-found', message: /\.img is missing/ });
    // A PNG is not a volume.
    const png = fixture('itk/BrainT1Slice.png');
    await expect(readVolume(png)).rejects.toMatchObject({ failure: 'bad-magic', message: /PNG/ });
    // NIfTI-2: recognised, refused by name (ITK in @itk-wasm/image-io 1.6.1 cannot read it).
    await expect(readVolume(gen('nifti2.nii'))).rejects.toMatchObject({ failure: 'unsupported', message: /NIfTI-2/ });
    const nifti2 = fixture('nibabel/tests/example_nifti2.nii.gz');
    await expect(readVolume(nifti2)).rejects.toMatchObject({ failure: 'unsupported' });
  });

  it('checks the size against the limit before ITK allocates anything', async () => {
    const ch2 = fixture('mricron/ch2.nii.gz');
    await expect(readVolume(ch2, { maxBytes: 1 << 20 })).rejects.toMatchObject({ failure: 'too-large', message: /181×217×181/ });
  });
});
