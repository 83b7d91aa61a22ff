// Writes DICOM Part-10 files with dcmjs (Explicit VR Little Endian), and makes the new UIDs
// every exported object needs.
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';

export type Dataset = Record<string, unknown>;

interface DcmjsWriter {
  data: {
    DicomMetaDictionary: { denaturalizeDataset(dataset: Dataset): Dataset };
    DicomDict: new (meta: Dataset) => { dict: Dataset; write(options?: { allowInvalidVRLength?: boolean }): ArrayBuffer };
  };
}

const dcmjs = createRequire(import.meta.url)('dcmjs') as DcmjsWriter;

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
/** Our implementation's UID and name in every file's meta header (PS3.7 D.3.3.2). */
export const IMPLEMENTATION_CLASS_UID = '2.25.171453904283931842236226932497512337871';
export const IMPLEMENTATION_VERSION_NAME = 'LGMS_WS_0.1';

/** A fresh UID: 2.25 and the decimal of 128 random bits (PS3.5 B.2). Never the same twice. */
export function newUid(): string {
  return `2.25.${BigInt('0x' + randomBytes(16).toString('hex')).toString(10)}`;
}

/** DICOM DA and TM (UTC) of a moment. */
export function dicomDateTime(at: Date): { date: string; time: string } {
  const iso = at.toISOString();
  return { date: iso.slice(0, 10).replaceAll('-', ''), time: iso.slice(11, 19).replaceAll(':', '') };
}

/** Who wrote a file: its meta header's Implementation Class UID and Version Name (PS3.10 7.1). */
export interface Implementation {
  classUid: string;
  versionName?: string;
}

/**
 * Encodes a naturalized data set (dcmjs keywords) as a Part-10 file, Explicit VR Little Endian.
 * `dataset` must hold SOPClassUID and SOPInstanceUID; the meta header is derived from them
 * (PS3.10 7.1), naming this workstation as the implementation unless `implementation` is given.
 */
export function writePart10(
  dataset: Dataset,
  implementation: Implementation = { classUid: IMPLEMENTATION_CLASS_UID, versionName: IMPLEMENTATION_VERSION_NAME },
): Uint8Array {
  const { DicomMetaDictionary, DicomDict } = dcmjs.data;
  const meta = DicomMetaDictionary.denaturalizeDataset({
    FileMetaInformationVersion: Uint8Array.of(0, 1).buffer,
    MediaStorageSOPClassUID: dataset.SOPClassUID,
    MediaStorageSOPInstanceUID: dataset.SOPInstanceUID,
    TransferSyntaxUID: EXPLICIT_VR_LITTLE_ENDIAN,
    ImplementationClassUID: implementation.classUid,
    ...(implementation.versionName === undefined ? {} : { ImplementationVersionName: implementation.versionName }),
    _vrMap: { FileMetaInformationVersion: 'OB' },
  });
  const dict = new DicomDict(meta);
  dict.dict = DicomMetaDictionary.denaturalizeDataset(dataset);
  return new Uint8Array(dict.write());
}
