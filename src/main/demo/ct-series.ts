// Writes a CT phantom (ct.ts) as a DICOM CT Image Storage series, one Part-10 file per axial
// slice, and its ground truth: one 8-bit PNG label map per slice (pixel = label value, as the
// thyroid phantom's labels/<name>.png) and ground-truth.json naming the labels, their SNOMED CT
// codes and the slice each map belongs to. Written slice by slice: memory holds one slice.
// The ground truth goes to its own folder so that importing the DICOM folder never imports it.

import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { writePart10 } from '../export/write-part10';
import { encodeGrayPng } from '../imaging/raster/png-encoder';
import { createCtPhantom, CT_LABELS, HU_RANGES, type CtPhantomMeta, type CtSlice } from './ct';
import { demoUid, MANUFACTURER } from './dicom';
import { writeFileAtomic } from './write-atomic';
import { hashInts, hashLabel } from './prng';
import type { Domain } from './scanner';

export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
const IMPLEMENTATION_CLASS_UID = demoUid('implementation-class', 1);

/** The identifiers one series shares. */
export interface CtSeriesIds {
  patientName: string;
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  studyDate: string;
  studyTime: string;
  accessionNumber: string;
  seriesNumber: number;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}

/**
 * One slice as a CT Image Storage Part-10 file (PS3.3 A.3: Patient, General Study, General
 * Series, Frame of Reference, General Equipment, General Image, Image Plane, Image Pixel,
 * Contrast/Bolus, CT Image and SOP Common modules). Stored value = HU − Rescale Intercept.
 */
export function ctSliceToDicom(meta: CtPhantomMeta, slice: CtSlice, ids: CtSeriesIds, sopInstanceUid: string): Uint8Array {
  const s = meta.scanner;
  const unsigned = s.pixelRepresentation === 0;
  const stored = unsigned ? new Uint16Array(slice.hu.length) : new Int16Array(slice.hu.length);
  for (let i = 0; i < slice.hu.length; i++) stored[i] = (slice.hu[i] ?? 0) - s.rescaleIntercept;
  const [px, py, pz] = slice.imagePositionPatient;
  const contrast = s.contrastPhase === 'portal-venous';
  const dataset: Record<string, unknown> = {
    SpecificCharacterSet: 'ISO_IR 100',
    ImageType: ['ORIGINAL', 'PRIMARY', 'AXIAL'],
    SOPClassUID: CT_IMAGE_STORAGE,
    SOPInstanceUID: sopInstanceUid,
    StudyDate: ids.studyDate,
    SeriesDate: ids.studyDate,
    ContentDate: ids.studyDate,
    StudyTime: ids.studyTime,
    SeriesTime: ids.studyTime,
    ContentTime: ids.studyTime,
    AccessionNumber: ids.accessionNumber,
    Modality: 'CT',
    Manufacturer: MANUFACTURER,
    InstitutionName: 'LGMS Workstation demo data',
    ReferringPhysicianName: '',
    StudyDescription: 'Demo abdomen CT (synthetic phantom)',
    SeriesDescription: `Synthetic phantom abdomen CT (${s.domain} domain), not a patient`,
    ManufacturerModelName: s.manufacturerModelName,
    PatientName: ids.patientName,
    PatientID: ids.patientId,
    PatientBirthDate: '',
    PatientSex: 'O',
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'Synthetic phantom: no real patient',
    ContrastBolusAgent: contrast ? 'Iodinated contrast (simulated portal venous phase)' : '',
    BodyPartExamined: 'ABDOMEN',
    SliceThickness: s.sliceThicknessMm,
    KVP: s.kvp,
    SoftwareVersions: 'lgms-demo-phantom 1',
    ReconstructionDiameter: round6(s.fieldOfViewMm),
    ConvolutionKernel: s.convolutionKernel,
    PatientPosition: 'FFS',
    StudyInstanceUID: ids.studyInstanceUid,
    SeriesInstanceUID: ids.seriesInstanceUid,
    StudyID: '1',
    SeriesNumber: ids.seriesNumber,
    AcquisitionNumber: 1,
    InstanceNumber: slice.index + 1,
    ImagePositionPatient: [round6(px), round6(py), round6(pz)],
    ImageOrientationPatient: meta.imageOrientationPatient,
    FrameOfReferenceUID: ids.frameOfReferenceUid,
    PositionReferenceIndicator: '',
    SliceLocation: round6(pz),
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: meta.rows,
    Columns: meta.columns,
    PixelSpacing: meta.pixelSpacingMm.map(round6),
    BitsAllocated: 16,
    BitsStored: unsigned ? 12 : 16,
    HighBit: unsigned ? 11 : 15,
    PixelRepresentation: s.pixelRepresentation,
    WindowCenter: 40,
    WindowWidth: 400,
    RescaleIntercept: s.rescaleIntercept,
    RescaleSlope: 1,
    RescaleType: 'HU',
    BurnedInAnnotation: 'NO',
    LossyImageCompression: '00',
    PixelData: stored.buffer,
    _vrMap: { PixelData: 'OW' },
  };
  return writePart10(dataset, { classUid: IMPLEMENTATION_CLASS_UID, versionName: 'LGMS_DEMO_1' });
}

export interface CtSeriesOptions {
  /** DICOM files go to dicomDir/<PatientID>/CT-<domain>/IM0001.dcm … */
  dicomDir: string;
  /** Label maps and ground-truth.json go to groundTruthDir/<PatientID>/CT-<domain>/. */
  groundTruthDir: string;
  seed: number;
  /** Patient index within the seed (default 0): the same patient in both domains. */
  index?: number;
  domain?: Domain;
  size?: number;
  slices?: number;
}

export interface CtSeriesResult {
  meta: CtPhantomMeta;
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  frameOfReferenceUid: string;
  /** DICOM files in slice order (superior to inferior). */
  files: string[];
  /** Label-map PNGs in the same order. */
  labelMaps: string[];
  groundTruthJson: string;
}

function pad(v: number, n: number): string {
  return String(v).padStart(n, '0');
}

/**
 * Writes one phantom CT series and its ground truth (see the file comment), slice by slice,
 * each file atomically. Patient Name DEMO^CT PHANTOM^<n> and the series description say the
 * data are synthetic. Throws RangeError on sizes createCtPhantom refuses.
 */
export async function writeCtPhantomSeries(opts: CtSeriesOptions): Promise<CtSeriesResult> {
  const { seed } = opts;
  const index = opts.index ?? 0;
  const domain = opts.domain ?? 'base';
  const phantom = createCtPhantom({ seed, index, domain, size: opts.size, slices: opts.slices });
  const { meta } = phantom;
  const patientId = `DEMO-CT-${seed}-${pad(index + 1, 4)}`;
  const h = hashInts(seed, index, hashLabel(`ct-${domain}`));
  const day = new Date(Date.UTC(2024, 0, 1) + (h % 366) * 86_400_000);
  const seconds = 8 * 3600 + (Math.floor(h / 366) % (9 * 3600));
  const ids: CtSeriesIds = {
    patientName: `DEMO^CT PHANTOM^${pad(index + 1, 4)}`,
    patientId,
    studyInstanceUid: demoUid(seed, domain, 'ct-study', index),
    seriesInstanceUid: demoUid(seed, domain, 'ct-series', index),
    frameOfReferenceUid: demoUid(seed, domain, 'ct-frame-of-reference', index),
    studyDate: `${day.getUTCFullYear()}${pad(day.getUTCMonth() + 1, 2)}${pad(day.getUTCDate(), 2)}`,
    studyTime: `${pad(Math.floor(seconds / 3600), 2)}${pad(Math.floor(seconds / 60) % 60, 2)}${pad(seconds % 60, 2)}`,
    accessionNumber: `DEMOCT${pad(seed % 100000, 5)}${pad(index + 1, 4)}`,
    seriesNumber: 2,
  };
  const seriesFolder = `CT-${domain}`;
  const dicomSeriesDir = path.join(opts.dicomDir, patientId, seriesFolder);
  const truthDir = path.join(opts.groundTruthDir, patientId, seriesFolder);
  await mkdir(dicomSeriesDir, { recursive: true });
  await mkdir(truthDir, { recursive: true });
  const files: string[] = [];
  const labelMaps: string[] = [];
  const slices: {
    instanceNumber: number;
    sopInstanceUid: string;
    imagePositionPatient: number[];
    labelMap: string;
    file: string;
  }[] = [];
  for (let k = 0; k < meta.slices; k++) {
    const slice = phantom.slice(k);
    const sopInstanceUid = demoUid(seed, domain, 'ct-image', index, k);
    const name = `IM${pad(k + 1, 4)}`;
    const file = path.join(dicomSeriesDir, `${name}.dcm`);
    await writeFileAtomic(file, ctSliceToDicom(meta, slice, ids, sopInstanceUid));
    const labelMap = path.join(truthDir, `${name}.png`);
    await writeFileAtomic(labelMap, encodeGrayPng(meta.columns, meta.rows, slice.labelMap));
    files.push(file);
    labelMaps.push(labelMap);
    slices.push({
      instanceNumber: k + 1,
      sopInstanceUid,
      imagePositionPatient: slice.imagePositionPatient.map(round6),
      labelMap: `${name}.png`,
      file: path.relative(truthDir, file),
    });
  }
  const groundTruthJson = path.join(truthDir, 'ground-truth.json');
  const description = {
    name: `LGMS demo CT phantom (${domain} domain)`,
    description:
      'Synthetic abdomen CT with exact organ label maps. Not a real patient; for demos, tests and smoke-training only.',
    generator: 'lgms-demo-phantom',
    generatorVersion: 1,
    seed,
    index,
    domain,
    patientId,
    studyInstanceUid: ids.studyInstanceUid,
    seriesInstanceUid: ids.seriesInstanceUid,
    frameOfReferenceUid: ids.frameOfReferenceUid,
    rows: meta.rows,
    columns: meta.columns,
    pixelSpacingMm: meta.pixelSpacingMm.map(round6),
    sliceSpacingMm: meta.sliceSpacingMm,
    imageOrientationPatient: meta.imageOrientationPatient,
    scanner: meta.scanner,
    huRanges: HU_RANGES[meta.scanner.contrastPhase],
    tissueHu: Object.fromEntries(Object.entries(meta.tissueHu).map(([k, v]) => [k, round6(v)])),
    labelMapFormat: 'png-gray8',
    labelMapValues: Object.fromEntries(CT_LABELS.map((l) => [String(l.value), l.name])),
    labels: CT_LABELS,
    slices,
  };
  await writeFileAtomic(groundTruthJson, `${JSON.stringify(description, null, 2)}\n`);
  return {
    meta,
    patientId,
    studyInstanceUid: ids.studyInstanceUid,
    seriesInstanceUid: ids.seriesInstanceUid,
    frameOfReferenceUid: ids.frameOfReferenceUid,
    files,
    labelMaps,
    groundTruthJson,
  };
}
