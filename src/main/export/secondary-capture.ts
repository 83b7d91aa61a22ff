// Secondary Capture Image objects (PS3.3 A.8.1) for sources that are not DICOM (PNG, JPEG,
// NIfTI slices), so a SEG has DICOM images to reference: one SC per 2D image, grey or RGB,
// 8 or 16 bits, in a new series of the source's study.
import type { FramePixels } from '../../shared/imaging/pixels';
import { dicomDateTime, type Dataset, writePart10 } from './write-part10';
import { patientStudyAttributes } from './seg';

export const SECONDARY_CAPTURE_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.7';

export interface ScImage {
  sopInstanceUid: string;
  instanceNumber: number;
  pixels: Pick<FramePixels, 'rows' | 'columns' | 'samplesPerPixel' | 'pixels'>;
}

/**
 * One SC Image Storage file. Integer pixels that fit 8 bits are stored as 8 bits, those that fit
 * unsigned 16 bits as 16 bits; anything else (signed, float) is mapped linearly onto 0..65535,
 * which keeps the image but not its units — the label maps, not the intensities, are the point.
 */
export function buildSecondaryCapture(
  patientStudy: Dataset,
  series: { seriesInstanceUid: string; seriesNumber: number; description: string },
  image: ScImage,
  at: Date,
): Uint8Array {
  const { rows, columns, samplesPerPixel, pixels } = image.pixels;
  const stored = storedPixels(pixels);
  const content = dicomDateTime(at);
  const bits = stored.BYTES_PER_ELEMENT * 8;
  const dataset: Dataset = {
    SpecificCharacterSet: 'ISO_IR 192',
    SOPClassUID: SECONDARY_CAPTURE_IMAGE_STORAGE,
    SOPInstanceUID: image.sopInstanceUid,
    ...patientStudyAttributes(patientStudy),
    Modality: 'OT',
    Laterality: '',
    SeriesInstanceUID: series.seriesInstanceUid,
    SeriesNumber: series.seriesNumber,
    SeriesDescription: series.description,
    ConversionType: 'WSD',
    Manufacturer: 'LGMS',
    InstanceNumber: image.instanceNumber,
    PatientOrientation: '',
    ContentDate: content.date,
    ContentTime: content.time,
    ImageType: ['DERIVED', 'SECONDARY'],
    SamplesPerPixel: samplesPerPixel,
    PhotometricInterpretation: samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
    ...(samplesPerPixel === 3 ? { PlanarConfiguration: 0 } : {}),
    Rows: rows,
    Columns: columns,
    BitsAllocated: bits,
    BitsStored: bits,
    HighBit: bits - 1,
    PixelRepresentation: 0,
    PixelData: evenBuffer(stored),
    _vrMap: { PixelData: bits === 8 ? 'OB' : 'OW' },
  };
  return writePart10(dataset);
}

function storedPixels(pixels: FramePixels['pixels']): Uint8Array | Uint16Array {
  if (pixels instanceof Uint8Array) return new Uint8Array(pixels);
  let min = Infinity;
  let max = -Infinity;
  for (const v of pixels) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  const integer = !(pixels instanceof Float32Array || pixels instanceof Float64Array);
  if (integer && min >= 0 && max <= 255) return Uint8Array.from(pixels);
  if (integer && min >= 0 && max <= 65535) return Uint16Array.from(pixels);
  const scale = max > min ? 65535 / (max - min) : 0;
  return Uint16Array.from(pixels, (v) => Math.round((v - min) * scale));
}

function evenBuffer(a: Uint8Array | Uint16Array): ArrayBuffer {
  const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const out = new Uint8Array(bytes.length + (bytes.length % 2));
  out.set(bytes);
  return out.buffer;
}
