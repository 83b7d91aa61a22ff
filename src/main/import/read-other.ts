// Non-DICOM sources → records for the indexer. A volume (NIfTI, NRRD, MetaImage) becomes a
// study with one series of axial slices, orientation and spacing kept; a PNG or JPEG (ultrasound,
// endoscopy, dermoscopy) becomes a single-frame series, grouped into one study per folder.
import path from 'node:path';
import { readRaster } from '../imaging/raster/read';
import { readVolume, timePointSlices } from '../imaging/volume/read';
import type { FrameRecord, ReadOutcome, SeriesRecord, SourceFormat } from './records';
import { reasonForThrown } from './reasons';
import { uidFrom } from './uids';

/** Formats whose pixels live in another file: the store keeps one file per image source. */
const DETACHED = /\.(mhd|nhdr|hdr)$/i;

function stem(file: string): string {
  return path.basename(file).replace(/\.(nii\.gz|nii|nrrd|mha|png|jpe?g)$/i, '');
}

export async function readVolumeRecords(
  file: string,
  sha256: string,
  format: 'nifti' | 'nrrd' | 'metaimage',
): Promise<ReadOutcome> {
  if (DETACHED.test(file)) {
    return {
      status: 'skipped',
      reason: 'a header whose voxels are in a separate file: import the single-file form (.nii.gz, .nrrd, .mha)',
    };
  }
  let volume;
  try {
    volume = await readVolume(file);
  } catch (e) {
    return { status: 'failed', ...reasonForThrown(e, 'volume') };
  }
  // A 4D file: one series per time point (nibabel's dim[4]), frames numbered time point after
  // time point so the stored file's frame i is the same slice when shown (frames.ts).
  const all = timePointSlices(volume);
  const timePoints = volume.timePoints.length;
  const seriesOf = (t: number): SeriesRecord => ({
    patientKey: `file:${sha256}`,
    patient: { id: '', name: stem(file), birthDate: '', sex: '' },
    studyUid: uidFrom('study', sha256),
    study: { date: '', time: '', description: `${format.toUpperCase()} ${path.basename(file)}`, accession: '' },
    seriesUid: t === 0 ? uidFrom('series', sha256) : uidFrom('series', `${sha256}:t${t}`),
    series: {
      modality: 'OT',
      number: t + 1,
      description:
        timePoints > 1
          ? `${path.basename(file)} (axial, time point ${t + 1} of ${timePoints})`
          : `${path.basename(file)} (axial)`,
    },
    format,
  });
  const framesOf = (t: number): FrameRecord[] =>
    all
      .filter((x) => x.timePoint === t)
      .map(({ slice: s }) => ({
        frameIndex: s.index,
        sopInstanceUid: null,
        instanceNumber: s.index - t * (all.length / timePoints) + 1,
        rows: s.rows,
        columns: s.columns,
        samplesPerPixel: s.samplesPerPixel,
        photometric: s.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
        pixelSpacing: s.pixelSpacing,
        // NIfTI's third voxel size is the spacing between slices, not a slice thickness.
        sliceThickness: null,
        position: s.position,
        orientation: s.orientation,
        rescaleSlope: 1,
        rescaleIntercept: 0,
        windowCenter: null,
        windowWidth: null,
        transferSyntax: '',
      }));
  const more = Array.from({ length: timePoints - 1 }, (_, i) => ({ series: seriesOf(i + 1), frames: framesOf(i + 1) }));
  return {
    status: 'image',
    series: seriesOf(0),
    frames: framesOf(0),
    ...(volume.warnings.length ? { notes: [...volume.warnings] } : {}),
    ...(more.length ? { more } : {}),
  };
}

export async function readRasterRecords(
  file: string,
  bytes: Uint8Array,
  sha256: string,
  format: 'png' | 'jpeg',
): Promise<ReadOutcome> {
  let raster;
  try {
    raster = await readRaster(bytes);
  } catch (e) {
    return { status: 'failed', ...reasonForThrown(e, 'picture') };
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
    sliceThickness: null,
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
