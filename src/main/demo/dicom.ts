// Writes a phantom as a DICOM Part-10 Ultrasound Image Storage file (Explicit VR Little Endian,
// MONOCHROME2, 8-bit) with dcmjs. Everything, UIDs and dates included, follows from the seed,
// so the same call writes the same bytes.

import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { writePart10 } from '../export/write-part10';
import type { Phantom } from './phantom';

export const US_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.6.1';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const MANUFACTURER = 'LGMS Demo Phantom';

type Dataset = Record<string, unknown>;

/** The part of dcmjs used here (the package ships no type declarations). */
export interface Dcmjs {
  data: {
    DicomMetaDictionary: {
      denaturalizeDataset(dataset: Dataset): Dataset;
      naturalizeDataset(dict: Dataset): Dataset;
      namifyDataset(dict: Dataset): Dataset;
    };
    DicomDict: new (meta: Dataset) => { dict: Dataset; write(): ArrayBuffer };
    DicomMessage: { readFile(buffer: ArrayBuffer): { meta: Dataset; dict: Dataset } };
  };
}

let dcmjsModule: Dcmjs | undefined;

/** dcmjs, loaded through require: its CommonJS build needs no type declarations here. */
export function dcmjs(): Dcmjs {
  dcmjsModule ??= createRequire(import.meta.url)('dcmjs') as Dcmjs;
  return dcmjsModule;
}

/** A UID of the form 2.25.<decimal of 128 bits of SHA-256(parts)>: valid characters, at most 44 long. */
export function demoUid(...parts: ReadonlyArray<string | number>): string {
  const digest = createHash('sha256')
    .update(['lgms-demo-phantom', ...parts].join('\u0000'))
    .digest();
  let value = 0n;
  for (let i = 0; i < 16; i++) value = (value << 8n) | BigInt(digest[i] ?? 0);
  return `2.25.${value.toString()}`;
}

const IMPLEMENTATION_CLASS_UID = demoUid('implementation-class', 1);

export interface DicomIds {
  patientName: string;
  patientId: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  /** DICOM DA (YYYYMMDD) and TM (HHMMSS). */
  studyDate: string;
  studyTime: string;
  contentTime: string;
  accessionNumber: string;
  studyId: string;
  studyDescription: string;
  seriesDescription: string;
  seriesNumber: number;
  instanceNumber: number;
  /** Written only for paired organs (breast): dciodvfy rejects Laterality for the thyroid. */
  laterality: 'L' | 'R';
}

/** Encodes one phantom image as a DICOM Part-10 file. */
export function phantomToDicom(phantom: Phantom, ids: DicomIds): Uint8Array {
  const { width, height, image, meta } = phantom;
  const [rowMm, colMm] = meta.pixelSpacingMm;
  // The field of view as an ultrasound region, calibrated in cm per pixel (PS3.3 C.8.5.5).
  const [x0, y0, x1, y1] = meta.fieldBox;
  const pixels = new Uint8Array(image.length + (image.length & 1));
  pixels.set(image);
  const dataset: Dataset = {
    ImageType: ['ORIGINAL', 'PRIMARY'],
    SOPClassUID: US_IMAGE_STORAGE,
    SOPInstanceUID: ids.sopInstanceUid,
    StudyDate: ids.studyDate,
    SeriesDate: ids.studyDate,
    ContentDate: ids.studyDate,
    StudyTime: ids.studyTime,
    SeriesTime: ids.studyTime,
    ContentTime: ids.contentTime,
    AccessionNumber: ids.accessionNumber,
    Modality: 'US',
    Manufacturer: MANUFACTURER,
    InstitutionName: 'LGMS Workstation demo data',
    ReferringPhysicianName: '',
    StudyDescription: ids.studyDescription,
    SeriesDescription: ids.seriesDescription,
    ManufacturerModelName: meta.probe === 'linear' ? 'Phantom L12 (base domain)' : 'Phantom C5 (shifted domain)',
    PatientName: ids.patientName,
    PatientID: ids.patientId,
    PatientBirthDate: '',
    PatientSex: meta.anatomy === 'breast' ? 'F' : 'O',
    PatientIdentityRemoved: 'YES',
    DeidentificationMethod: 'Synthetic phantom: no real patient',
    BodyPartExamined: meta.anatomy === 'breast' ? 'BREAST' : 'THYROID',
    SoftwareVersions: 'lgms-demo-phantom 1',
    StudyInstanceUID: ids.studyInstanceUid,
    SeriesInstanceUID: ids.seriesInstanceUid,
    StudyID: ids.studyId,
    SeriesNumber: ids.seriesNumber,
    InstanceNumber: ids.instanceNumber,
    PatientOrientation: '',
    Laterality: meta.anatomy === 'breast' ? ids.laterality : undefined,
    BurnedInAnnotation: 'NO',
    SamplesPerPixel: 1,
    PhotometricInterpretation: 'MONOCHROME2',
    Rows: height,
    Columns: width,
    PixelSpacing: [round6(rowMm), round6(colMm)],
    BitsAllocated: 8,
    BitsStored: 8,
    HighBit: 7,
    PixelRepresentation: 0,
    WindowCenter: 128,
    WindowWidth: 256,
    LossyImageCompression: '00',
    SequenceOfUltrasoundRegions: [
      {
        RegionSpatialFormat: 1,
        RegionDataType: 1,
        RegionFlags: 0,
        RegionLocationMinX0: x0,
        RegionLocationMinY0: y0,
        RegionLocationMaxX1: x1,
        RegionLocationMaxY1: y1,
        PhysicalUnitsXDirection: 3,
        PhysicalUnitsYDirection: 3,
        PhysicalDeltaX: colMm / 10,
        PhysicalDeltaY: rowMm / 10,
      },
    ],
    PixelData: pixels.buffer,
    _vrMap: { PixelData: 'OB' },
  };
  return writePart10(dataset, { classUid: IMPLEMENTATION_CLASS_UID, versionName: 'LGMS_DEMO_1' });
}

/** Reads a Part-10 file into dcmjs' natural form (keyword → value), with its file meta under _meta. */
export function readDicom(bytes: Uint8Array): Dataset {
  const { DicomMessage, DicomMetaDictionary } = dcmjs().data;
  const copy = bytes.slice().buffer;
  const file = DicomMessage.readFile(copy);
  const dataset = DicomMetaDictionary.naturalizeDataset(file.dict);
  dataset._meta = DicomMetaDictionary.namifyDataset(file.meta);
  return dataset;
}

function round6(v: number): number {
  return Math.round(v * 1e6) / 1e6;
}
