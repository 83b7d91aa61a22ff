// Issue 25 acceptance: the phantom CT volumes export as DICOM SEG and NIfTI. The demo's two
// volumes (demo.load with ctVolume: 256 × 256 × 48; base scanner: 2.5 mm slices, unsigned pixels;
// shifted: 5 mm, signed) and a small generated one re-placed obliquely with rectangular pixels
// (the case that catches a row/column spacing swap) are imported through the real import, their
// slices get the phantom's own label maps (the PNG ground
// truth) as labels of a four-organ 3D task, and the real export service writes SEG and NIfTI. The
// files are then read by tools that share no code with ours: dciodvfy, pydicom and nibabel.
// The expected geometry comes from the source DICOM files themselves (pydicom), the expected
// voxels from the generator's label maps, matched by SOP Instance UID and by position in space —
// so a flipped axis, a reversed slice order, a wrong spacing or a swapped label all show.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackend, type Backend } from '../../src/main/backend';
import { CT_LABELS, writeCtPhantomSeries } from '../../src/main/demo';
import { seriesByUid, seriesImages, seriesLabels } from '../../src/main/export/queries';
import { writeTaskLabels } from '../../src/main/import/task-labels';
import type { ExportResult, Job, Task } from '../../src/shared/contract';
import { call } from '../helpers/api';
import { readPng8 } from '../helpers/png';
import { skipTitle } from '../helpers/skip';
import { tempDir } from '../helpers/temp';

const PYTHON = '/usr/bin/python3';
const noDciodvfy =
  spawnSync('dciodvfy', ['-'], { stdio: 'ignore' }).error === undefined ? '' : 'dciodvfy (apt dicom3tools) is not installed';
const noPython =
  spawnSync(PYTHON, ['-c', 'import pydicom, nibabel, numpy'], { stdio: 'ignore' }).status === 0
    ? ''
    : 'Debian python3-pydicom and python3-nibabel are not installed';

interface SegView {
  frames: number;
  rows: number;
  columns: number;
  frameOfReference: string;
  segments: { number: number; label: string; code: string; scheme: string; category: string }[];
  /** Per frame: segment number, referenced SOP Instance UID, Image Position (Patient), bits as hex (one byte per pixel). */
  perFrame: { segment: number; sop: string; position: number[]; bits: string }[];
}

/** pydicom's reading of a SEG: its segments, and each frame's segment, source image, position and pixels. */
function pydicomSeg(file: string): SegView {
  const script = `
import json, sys, pydicom, numpy as np
ds = pydicom.dcmread(sys.argv[1])
px = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns)).astype(np.uint8)
frames = []
for i, f in enumerate(ds.PerFrameFunctionalGroupsSequence):
    frames.append({"segment": int(f.SegmentIdentificationSequence[0].ReferencedSegmentNumber),
      "sop": str(f.DerivationImageSequence[0].SourceImageSequence[0].ReferencedSOPInstanceUID),
      "position": [float(v) for v in f.PlanePositionSequence[0].ImagePositionPatient],
      "bits": px[i].tobytes().hex()})
print(json.dumps({"frames": int(ds.NumberOfFrames), "rows": int(ds.Rows), "columns": int(ds.Columns),
  "frameOfReference": str(ds.FrameOfReferenceUID),
  "segments": [{"number": int(s.SegmentNumber), "label": str(s.SegmentLabel),
    "code": str(s.SegmentedPropertyTypeCodeSequence[0].CodeValue), "scheme": str(s.SegmentedPropertyTypeCodeSequence[0].CodingSchemeDesignator),
    "category": str(s.SegmentedPropertyCategoryCodeSequence[0].CodeValue)} for s in ds.SegmentSequence],
  "perFrame": frames}))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, file], { encoding: 'utf8', maxBuffer: 1 << 28 })) as SegView;
}

interface NiftiView {
  shape: number[];
  /** nibabel's affine (RAS+, mm). */
  affine: number[][];
  /** The affine derived from the source DICOM files (pydicom): IOP, IPP of the slices sorted along the normal, Pixel Spacing. */
  derived: number[][];
  /** Per NIfTI slice k: the patient position (LPS, mm) of voxel (0, 0, k) by nibabel's affine, and its rows × columns as hex. */
  planes: { lps: number[]; map: string }[];
}

/**
 * nibabel's reading of the exported NIfTI beside the affine a third party derives from the source
 * files: columns along the first IOP vector × column spacing, rows along the second × row spacing,
 * slices along the sorted positions (PS3.3 C.7.6.2.1.1), LPS → RAS by negating x and y (NIfTI-1).
 */
function nibabelVolume(file: string, dicomDir: string): NiftiView {
  const script = `
import json, sys, glob, os, pydicom, nibabel as nb, numpy as np
img = nb.load(sys.argv[1])
data = np.asanyarray(img.dataobj)
A = img.affine
dss = [pydicom.dcmread(f, stop_before_pixels=True) for f in sorted(glob.glob(os.path.join(sys.argv[2], "*.dcm")))]
iop = np.array([float(v) for v in dss[0].ImageOrientationPatient])
x, y = iop[:3], iop[3:]
n = np.cross(x, y)
dss.sort(key=lambda d: float(np.dot(n, [float(v) for v in d.ImagePositionPatient])))
p0 = np.array([float(v) for v in dss[0].ImagePositionPatient])
p1 = np.array([float(v) for v in dss[-1].ImagePositionPatient])
dz = (p1 - p0) / (len(dss) - 1)
sr, sc = [float(v) for v in dss[0].PixelSpacing]
lps = np.eye(4)
lps[:3, 0] = x * sc
lps[:3, 1] = y * sr
lps[:3, 2] = dz
lps[:3, 3] = p0
derived = np.diag([-1, -1, 1, 1]) @ lps
planes = []
for k in range(data.shape[2]):
    ras = A @ np.array([0, 0, k, 1.0])
    planes.append({"lps": [-ras[0], -ras[1], ras[2]], "map": np.ascontiguousarray(data[:, :, k].T).astype(np.uint8).tobytes().hex()})
print(json.dumps({"shape": list(data.shape), "affine": A.tolist(), "derived": derived.tolist(), "planes": planes}))`;
  return JSON.parse(execFileSync(PYTHON, ['-c', script, file, dicomDir], { encoding: 'utf8', maxBuffer: 1 << 28 })) as NiftiView;
}

/**
 * Re-places a written series in space with pydicom, as an oblique acquisition with rectangular
 * pixels would be: Image Orientation (Patient) rotated 20° about z then tilted 15° about the new
 * row axis, Pixel Spacing 0.7 mm between rows and 1.3 mm between columns, and each slice's Image
 * Position (Patient) moved along the new normal (file order still descending). Returns each
 * SOP Instance UID's new position (LPS, mm).
 */
function placeOblique(dicomDir: string, sliceSpacing: number): Map<string, number[]> {
  const script = `
import json, sys, glob, os, math, pydicom, numpy as np
a, t = math.radians(20), math.radians(15)
x = np.array([math.cos(a), math.sin(a), 0.0])
y0 = np.array([-math.sin(a), math.cos(a), 0.0])
y = y0 * math.cos(t) + np.array([0, 0, 1.0]) * math.sin(t)
n = np.cross(x, y)
out = {}
for k, f in enumerate(sorted(glob.glob(os.path.join(sys.argv[1], "*.dcm")))):
    ds = pydicom.dcmread(f)
    p = np.array([-20.0, 12.0, 30.0]) - k * float(sys.argv[2]) * n
    ds.ImageOrientationPatient = [f"{v:.6f}" for v in (*x, *y)]
    ds.ImagePositionPatient = [f"{v:.6f}" for v in p]
    ds.PixelSpacing = ["0.7", "1.3"]
    ds.save_as(f)
    out[str(ds.SOPInstanceUID)] = [float(v) for v in ds.ImagePositionPatient]
print(json.dumps(out))`;
  const moved = JSON.parse(execFileSync(PYTHON, ['-c', script, dicomDir, String(sliceSpacing)], { encoding: 'utf8' })) as Record<
    string,
    number[]
  >;
  return new Map(Object.entries(moved));
}

function dciodvfyErrors(file: string): string[] {
  const out = spawnSync('dciodvfy', [file], { encoding: 'utf8' });
  return `${out.stdout}${out.stderr}`.split('\n').filter((l) => /^Error/.test(l));
}

/** The fields of the phantom's ground-truth.json (src/main/demo/ct-series.ts) this test reads. */
interface GroundTruth {
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  rows: number;
  columns: number;
  /** Row spacing, column spacing (mm). */
  pixelSpacingMm: [number, number];
  sliceSpacingMm: number;
  /** `file`: the DICOM file, relative to the ground truth's folder. */
  slices: { sopInstanceUid: string; imagePositionPatient: number[]; labelMap: string; file: string }[];
}

/**
 * The CT volumes tested: the demo's two (demo.load with ctVolume: 256 × 256 × 48, base and
 * shifted scanner), and a small generated one placed obliquely with rectangular pixels.
 */
const CASES = [
  { title: "the demo's base-domain CT volume", source: 'demo', domain: 'base', every: 1 },
  { title: "the demo's shifted-domain CT volume", source: 'demo', domain: 'shifted', every: 1 },
  { title: "the demo's shifted-domain CT volume labelled on every 4th slice", source: 'demo', domain: 'shifted', every: 4 },
  { title: 'a CT phantom placed obliquely with rectangular pixels', source: 'oblique', domain: 'base', every: 1 },
] as const;

describe.each(CASES)('$title exports as SEG and NIfTI', ({ source, domain, every }) => {
  const oblique = source === 'oblique';
  const tmp = tempDir(`lgms-ct-export-${source}-${domain}-`);
  let b: Backend;
  let task: Task;
  /** The phantom's ground-truth.json, and the folder of its DICOM files. */
  let gt: GroundTruth;
  let dicomDir = '';
  /** The phantom's label map of each source slice, by SOP Instance UID, with its position (LPS, mm). */
  const truth = new Map<string, { position: number[]; map: Uint8Array }>();
  /** SOP Instance UIDs of the slices given a label (every `every`-th in display order). */
  const labelled = new Set<string>();
  let segFile = '';
  let nifti: ExportResult;
  let niftiFile = '';

  const exportTo = async (format: 'seg' | 'nifti', seriesId: number): Promise<ExportResult> => {
    const { jobId } = await call(b).export.start({
      seriesIds: [seriesId],
      format,
      outDir: path.join(tmp.dir, format),
      taskId: task.id,
    });
    const job: Job = await b.exporter.wait(jobId);
    expect(job.status, job.error ?? '').toBe('done');
    return job.result as ExportResult;
  };

  /** Writes the case's series; returns its ground-truth.json. */
  async function generate(): Promise<string> {
    if (source === 'demo') {
      const { jobId } = await call(b).demo.load({ patients: 1, imagesPerSeries: 1, domain, ctVolume: true });
      expect((await b.importer.wait(jobId)).status).toBe('done');
      return path.join(tmp.dir, 'data', 'demo-ground-truth', 'DEMO-CT-4101-0001', `CT-${domain}`, 'ground-truth.json');
    }
    const phantom = await writeCtPhantomSeries({
      seed: 25,
      domain,
      size: 64,
      slices: 20,
      dicomDir: path.join(tmp.dir, 'ct', 'dicom'),
      groundTruthDir: path.join(tmp.dir, 'ct', 'truth'),
    });
    return phantom.groundTruthJson;
  }

  beforeAll(async () => {
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
    const gtFile = await generate();
    gt = JSON.parse(readFileSync(gtFile, 'utf8')) as GroundTruth;
    dicomDir = path.dirname(path.resolve(path.dirname(gtFile), gt.slices[0]!.file));
    for (const s of gt.slices)
      truth.set(s.sopInstanceUid, {
        position: s.imagePositionPatient,
        map: readPng8(readFileSync(path.join(path.dirname(gtFile), s.labelMap))).data,
      });
    if (oblique) {
      expect(noPython, 'the oblique case rewrites the headers with pydicom').toBe('');
      for (const [sop, position] of placeOblique(dicomDir, gt.sliceSpacingMm)) truth.get(sop)!.position = position;
      const { jobId } = await call(b).import.start({ paths: [dicomDir] });
      expect((await b.importer.wait(jobId)).status).toBe('done');
    }
    task = await call(b).tasks.create({
      name: 'Abdominal organs (phantom)',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      modelKind: '3d',
      labels: CT_LABELS.map((l) => ({ name: l.name, type: l.code })),
    });
    const series = seriesByUid(b.db, gt.seriesInstanceUid)!;
    const images = seriesImages(b.db, series.id);
    expect(images).toHaveLength(gt.slices.length);
    const given = images.filter((_, z) => z % every === 0);
    for (const im of given) labelled.add(im.sopInstanceUid!);
    writeTaskLabels(
      b.db,
      task.id,
      series.id,
      given.map((im) => ({ imageId: im.id, map: truth.get(im.sopInstanceUid!)!.map })),
      'drawn',
      'DR^PHANTOM',
    );
    // Every organ is on some slice, and some slices hold several organs: a multi-label volume.
    const values = new Set(given.flatMap((im) => [...new Set(truth.get(im.sopInstanceUid!)!.map)]));
    expect([...values].sort()).toEqual([0, 1, 2, 3, 4]);
    segFile = (await exportTo('seg', series.id)).series[0]!.files[0]!;
    nifti = await exportTo('nifti', series.id);
    niftiFile = nifti.series[0]!.files[0]!;
  }, 120_000);
  afterAll(() => {
    b?.close();
    tmp.cleanup();
  });

  it('stored the label maps it was given (the reference the exports are compared with)', () => {
    const series = seriesByUid(b.db, gt.seriesInstanceUid)!;
    const labels = seriesLabels(b.db, series.id, false, task.id);
    for (const im of seriesImages(b.db, series.id))
      if (labelled.has(im.sopInstanceUid!))
        expect(Buffer.from(labels.get(im.id)!.map).equals(Buffer.from(truth.get(im.sopInstanceUid!)!.map))).toBe(true);
      else expect(labels.get(im.id)).toBeUndefined();
    expect(labels.size).toBe(Math.ceil(gt.slices.length / every));
  });

  it('imports its SEG back as the same labels on the same slices, and none on a slice nobody labelled', async () => {
    const again = await call(b).tasks.create({
      name: 'Abdominal organs (from the SEG)',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      labels: CT_LABELS.map((l) => ({ name: l.name, type: l.code })),
    });
    const { jobId } = await call(b).import.start({ paths: [path.dirname(segFile)], taskId: again.id });
    expect((await b.importer.wait(jobId)).status).toBe('done');
    const series = seriesByUid(b.db, gt.seriesInstanceUid)!;
    const back = seriesLabels(b.db, series.id, false, again.id);
    const images = seriesImages(b.db, series.id);
    expect(images.filter((im) => back.has(im.id)).map((im) => im.sopInstanceUid)).toEqual(
      images.filter((im) => labelled.has(im.sopInstanceUid!)).map((im) => im.sopInstanceUid),
    );
    for (const im of images.filter((i) => back.has(i.id)))
      expect(Buffer.from(back.get(im.id)!.map).equals(Buffer.from(truth.get(im.sopInstanceUid!)!.map))).toBe(true);
  });

  it('imports its NIfTI back (with the sidecar) as the same labels on the same slices, none on a slice nobody labelled', async () => {
    const again = await call(b).tasks.create({
      name: 'Abdominal organs (from the NIfTI)',
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      labels: CT_LABELS.map((l) => ({ name: l.name, type: l.code })),
    });
    const series = seriesByUid(b.db, gt.seriesInstanceUid)!;
    const proposal = await call(b).import.proposeLabelMap({ path: niftiFile, seriesId: series.id, taskId: again.id });
    expect(proposal.unresolved).toEqual([]);
    const applied = await call(b).import.applyLabelMap({ path: niftiFile, seriesId: series.id, taskId: again.id });
    expect(applied.imagesLabelled).toBe(labelled.size);
    if (every > 1) expect(applied.message).toMatch(/slices are marked as not labelled and were left out/);
    const back = seriesLabels(b.db, series.id, false, again.id);
    for (const im of seriesImages(b.db, series.id))
      if (labelled.has(im.sopInstanceUid!))
        expect(Buffer.from(back.get(im.id)!.map).equals(Buffer.from(truth.get(im.sopInstanceUid!)!.map))).toBe(true);
      else expect(back.get(im.id), `slice ${im.sopInstanceUid} was not labelled`).toBeUndefined();
  });

  it.skipIf(noPython)(
    skipTitle("writes an nnU-Net case whose slices nobody labelled hold nnU-Net's ignore label, not background", noPython),
    async () => {
      const series = seriesByUid(b.db, gt.seriesInstanceUid)!;
      const { jobId } = await call(b).export.start({
        seriesIds: [series.id],
        format: 'nnunet',
        outDir: path.join(tmp.dir, 'nnunet'),
        taskId: task.id,
        datasetId: 25,
      });
      const job: Job = await b.exporter.wait(jobId);
      expect(job.status, job.error ?? '').toBe('done');
      const result = job.result as ExportResult;
      const dataset = path.join(tmp.dir, 'nnunet', 'Dataset025_LGMS');
      const labels = (JSON.parse(readFileSync(path.join(dataset, 'dataset.json'), 'utf8')) as { labels: Record<string, number> })
        .labels;
      // The ignore label is the highest value, after the task's four consecutive labels (nnU-Net v2's rule).
      const ignore = CT_LABELS.length + 1;
      expect(labels).toEqual({
        background: 0,
        ...Object.fromEntries(CT_LABELS.map((l) => [l.name, l.value])),
        ...(every > 1 ? { ignore } : {}),
      });
      const nii = nibabelVolume(path.join(dataset, 'labelsTr', 'LGMS_0001.nii.gz'), dicomDir);
      const bySlice = [...truth.entries()];
      for (const [k, plane] of nii.planes.entries()) {
        const [sop, slice] = bySlice.find(([, t]) => t.position.every((v, j) => Math.abs(v - plane.lps[j]!) < 1e-3))!;
        const expected = labelled.has(sop) ? slice.map : new Uint8Array(slice.map.length).fill(ignore);
        expect(plane.map === Buffer.from(expected).toString('hex'), `nnU-Net label slice ${k}`).toBe(true);
      }
      if (every > 1) expect(result.notes.join('\n')).toMatch(/written as nnU-Net's ignore label \(value 5\)/);
    },
    60_000,
  );

  it.skipIf(noDciodvfy)(skipTitle('writes a SEG that dciodvfy passes with no errors', noDciodvfy), () => {
    expect(dciodvfyErrors(segFile)).toEqual([]);
  });

  it.skipIf(noPython)(
    skipTitle(
      "writes one SEG segment per organ with the task's names and codes, and each frame the organ on its slice",
      noPython,
    ),
    () => {
      const seg = pydicomSeg(segFile);
      expect(seg.segments).toEqual(
        CT_LABELS.map((l, i) => ({
          number: i + 1,
          label: l.name,
          code: l.code.value,
          scheme: l.code.scheme,
          category: task.labels[i]!.category.value,
        })),
      );
      expect(task.labels.map((l) => l.type.value)).toEqual(CT_LABELS.map((l) => l.code.value));
      expect(seg.frameOfReference).toBe(gt.frameOfReferenceUid);
      expect([seg.rows, seg.columns]).toEqual([gt.rows, gt.columns]);
      // Every (segment, labelled slice) pair exactly once; a slice nobody labelled has no frame.
      expect(seg.frames).toBe(CT_LABELS.length * labelled.size);
      expect(seg.perFrame.every((f) => labelled.has(f.sop))).toBe(true);
      const pairs = new Set(seg.perFrame.map((f) => `${f.segment}/${f.sop}`));
      expect(pairs.size).toBe(seg.frames);
      for (const [i, f] of seg.perFrame.entries()) {
        const source = truth.get(f.sop);
        expect(source, `frame ${i + 1} references a slice of the series`).toBeDefined();
        f.position.forEach((v, j) => expect(v, `frame ${i + 1} position[${j}]`).toBeCloseTo(source!.position[j]!, 3));
        const value = CT_LABELS[f.segment - 1]!.value;
        const expected = Buffer.from(source!.map.map((v) => (v === value ? 1 : 0))).toString('hex');
        expect(f.bits === expected, `frame ${i + 1} (segment ${f.segment}) holds its organ's pixels`).toBe(true);
      }
    },
    60_000,
  );

  it.skipIf(noPython)(
    skipTitle("writes a NIfTI that nibabel reads as the same label map in the source's patient geometry", noPython),
    () => {
      const nii = nibabelVolume(niftiFile, dicomDir);
      expect(nii.shape).toEqual([gt.columns, gt.rows, gt.slices.length]);
      // The affine agrees with the one derived from the source files, within 1e-3 mm.
      nii.affine.forEach((row, i) =>
        row.forEach((v, j) => expect(Math.abs(v - nii.derived[i]![j]!), `affine[${i}][${j}]`).toBeLessThan(1e-3)),
      );
      const column = Math.hypot(...nii.affine.slice(0, 3).map((row) => row[0]!));
      const slice = Math.hypot(...nii.affine.slice(0, 3).map((row) => row[2]!));
      expect(column).toBeCloseTo(oblique ? 1.3 : gt.pixelSpacingMm[1], 3);
      expect(slice).toBeCloseTo(gt.sliceSpacingMm, 3);
      // Each NIfTI slice lies where a source slice lies, and holds that slice's label map.
      const bySlice = [...truth.values()];
      const bySop = [...truth.keys()];
      const labelledPlanes: number[] = [];
      const seen = new Set<number>();
      nii.planes.forEach((plane, k) => {
        const at = bySlice.findIndex((s) => s.position.every((v, j) => Math.abs(v - plane.lps[j]!) < 1e-3));
        expect(at, `NIfTI slice ${k} lies on a source slice`).toBeGreaterThanOrEqual(0);
        seen.add(at);
        // A slice nobody labelled holds 0, and the sidecar says it is not a label.
        const expected = labelled.has(bySop[at]!) ? bySlice[at]!.map : new Uint8Array(bySlice[at]!.map.length);
        expect(plane.map === Buffer.from(expected).toString('hex'), `NIfTI slice ${k} holds its label map`).toBe(true);
        if (labelled.has(bySop[at]!)) labelledPlanes.push(k);
      });
      expect(seen.size).toBe(gt.slices.length);
      const sidecar = JSON.parse(readFileSync(nifti.series[0]!.files[1]!, 'utf8')) as { labelledSlices?: number[] };
      if (every === 1) {
        expect(sidecar.labelledSlices).toBeUndefined();
        expect(nifti.notes).toEqual([]);
      } else {
        expect(sidecar.labelledSlices).toEqual(labelledPlanes);
        expect(nifti.notes).toEqual([
          expect.stringMatching(
            new RegExp(`${gt.slices.length - labelled.size} of ${gt.slices.length} slices have no label and are written as 0`),
          ),
        ]);
      }
    },
    60_000,
  );
});
