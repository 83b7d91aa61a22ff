// Non-DICOM sources → records for the indexer. A volume (NIfTI, NRRD, MetaImage) becomes a
// study with one series of axial slices, orientation and spacing kept; a PNG or JPEG (ultrasound,
// endoscopy, dermoscopy) becomes a single-frame series, grouped into one study per folder.
import path from 'node:path';
import { readRaster } from '../imaging/raster/read';
import { axialSlices, readVolume } from '../imaging/volume/read';
import type { FrameRecord, ReadOutcome, SeriesRecord, SourceFormat } from './records';
import { uidFrom } from './uids';

/** Formats whose pixels live in another file: the store keeps one file per image source. */
const DETACHED = /\.(mhd|nhdr|hdr)$/i;

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function stem(file: string): string {
  return path.basename(file).replace(/\.(nii\.gz|nii|nrrd|mha|png|jpe?g)$/i, '');
}

export async function readVolumeRecords(file: string, sha256: string, format: 'nifti' | 'nrrd' | 'metaimage'): Promise<ReadOutcome> {
  if (DETACHED.test(file)) {
    return { status: 'skipped', reason: 'a header whose voxels are in a separate file: import the single-file form (.nii.gz, .nrrd, .mha)' };
  }
  let volume;
  try {
    volume = await readVolume(file);
  } catch (e) {
    return { status: 'failed', reason: describe(e) };
  }
  const slices = axialSlices(volume);
  const series: SeriesRecord = {
    patientKey: `file:${sha256}`,
    patient: { id: '', name: stem(file), birthDate: '', sex: '' },
    studyUid: uidFrom('study', sha256),
    study: { date: '', time: '', description: `${format.toUpperCase()} ${path.basename(file)}`, accession: '' },
    seriesUid: uidFrom('series', sha256),
    series: { modality: 'OT', number: 1, description: `${path.basename(file)} (axial)` },
    format,
  };
  const frames: FrameRecord[] = slices.map((s) => ({
    frameIndex: s.index,
    sopInstanceUid: null,
    instanceNumber: s.index + 1,
    rows: s.rows,
    columns: s.columns,
    samplesPerPixel: s.samplesPerPixel,
    photometric: s.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    pixelSpacing: s.pixelSpacing,
    position: s.position,
    orientation: s.orientation,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windowCenter: null,
    windowWidth: null,
    transferSyntax: '',
  }));
  return { status: 'image', series, frames };
}

export async function readRasterRecords(file: string, bytes: Uint8Array, sha256: string, format: 'png' | 'jpeg'): Promise<ReadOutcome> {
  let raster;
  try {
    raster = await readRaster(bytes);
  } catch (e) {
    return { status: 'failed', reason: describe(e) };
  }
  const folder = path.dirname(file);
  const series: SeriesRecord = {
    patientKey: `folder:${folder}`,
    patient: { id: '', name: path.basename(folder), birthDate: '', sex: '' },
    studyUid: uidFrom('folder', folder),
    study: { date: '', time: '', description: `Images in ${path.basename(folder)}`, accession: '' },
    seriesUid: uidFrom('series', sha256),
    series: { modality: 'OT', number: null, description: path.basename(file) },
    format: format as SourceFormat,
  };
  const frame: FrameRecord = {
    frameIndex: 0,
    sopInstanceUid: null,
    instanceNumber: null,
    rows: raster.rows,
    columns: raster.columns,
    samplesPerPixel: raster.samplesPerPixel,
    photometric: raster.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    pixelSpacing: null,
    position: null,
    orientation: null,
    rescaleSlope: 1,
    rescaleIntercept: 0,
    windowCenter: null,
    windowWidth: null,
    transferSyntax: '',
  };
  return { status: 'image', series, frames: [frame] };
}

/** The extension kept on a stored file so readers that go by name still recognise it. */
export function storedExtension(file: string, format: SourceFormat): string {
  if (format === 'dicom') return '';
  const m = /\.(nii\.gz|nii|nrrd|mha|png|jpe?g)$/i.exec(file);
  return m ? `.${m[1]!.toLowerCase()}` : '';
}
