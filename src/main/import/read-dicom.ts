// DICOM file → records for the indexer (headers only: the pixels stay in the store).
import { readDicom } from '../imaging/dicom';
import { nativeByteLength } from '../imaging/dicom/native';
import { DECODED_PHOTOMETRIC } from '../imaging/dicom/color';
import { isImageStorage } from '../imaging/dicom/sop-classes';
import type { DicomImageHeader } from '../imaging/dicom/types';
import { bytesOf, failureReason, missingUids, reasonForThrown } from './reasons';
import type { FrameRecord, ReadOutcome, SeriesRecord } from './records';

export function readDicomRecords(bytes: Uint8Array): ReadOutcome {
  let file;
  try {
    file = readDicom(bytes);
  } catch (e) {
    return { status: 'failed', ...reasonForThrown(e, 'dicom') };
  }
  const parsed = file.parsed;
  if (parsed.kind === 'non-image') {
    // An object of an image storage class without its pixels (a file cut before Pixel Data) is
    // damaged, not an object with nothing to show.
    if (isImageStorage(parsed.header.sopClassUid)) return { status: 'failed', reason: failureReason('pixels-missing') };
    return { status: 'skipped', reason: parsed.reason };
  }
  const h = parsed.header;
  if (parsed.kind === 'segmentation') {
    // Without a Referenced Series Sequence, a SEG whose frames are placed by position in a Frame
    // of Reference is kept too: its series is found by that frame of reference (label-sets.ts).
    const referenced = parsed.referencedSeriesUids[0] ?? '';
    if (!referenced && !parsed.frameOfReferenceUid)
      return {
        status: 'skipped',
        reason: 'DICOM SEG without a Referenced Series Sequence or Frame of Reference: cannot tell which series it labels',
      };
    return { status: 'label-set', sopInstanceUid: h.sopInstanceUid, referencedSeriesUid: referenced, segments: parsed.segments };
  }
  if (!h.studyInstanceUid || !h.seriesInstanceUid)
    return { status: 'failed', reason: failureReason('missing-attribute', missingUids(h.studyInstanceUid, h.seriesInstanceUid)) };
  // The header has Pixel Data, but it could not be located under a transfer syntax the
  // workstation does not know (readDicom refuses every other case): not "no pixel data".
  if (!file.pixelData) return { status: 'failed', reason: failureReason('unsupported-syntax') };
  // Every photometric interpretation is converted when shown (PALETTE COLOR through its tables)
  // or refused here: none is stored to be shown as raw samples.
  if (typeof h.palette === 'string')
    return {
      status: 'failed',
      reason: failureReason('unsupported-pixels', 'PALETTE COLOR lookup tables missing or damaged'),
      detail: h.palette,
    };
  if (!DECODED_PHOTOMETRIC.has(h.photometricInterpretation)) {
    // A defined term (PS3.5 §6.2 CS: capitals, digits, space, underscore) not shown here is named; a damaged value is not echoed.
    if (!/^[A-Z0-9 _]{1,16}$/.test(h.photometricInterpretation))
      return {
        status: 'failed',
        reason: failureReason('missing-attribute', 'Photometric Interpretation'),
        detail: `Photometric Interpretation ${JSON.stringify(h.photometricInterpretation)}`,
      };
    return {
      status: 'failed',
      reason: failureReason('unsupported-pixels', `Photometric Interpretation ${h.photometricInterpretation}`),
    };
  }
  if (h.rows <= 0 || h.columns <= 0)
    return { status: 'failed', reason: failureReason('bad-geometry', `image size ${h.rows}×${h.columns}`) };
  // Pixels cut short are refused here, not found out when the image is first shown (Part 5 §8.1.1:
  // native Pixel Data holds Rows × Columns × Samples × Bits Allocated × Frames bits).
  if (!file.pixelData.encapsulated) {
    const expected = nativeByteLength(h, file.pixelData.kind);
    if (file.pixelData.data.length < expected)
      return { status: 'failed', reason: failureReason('pixels-cut-short', bytesOf(file.pixelData.data.length, expected)) };
  } else if (file.pixelData.truncation || file.pixelData.fragments.length === 0) {
    return {
      status: 'failed',
      reason: failureReason('pixels-cut-short', 'the compressed frames end early'),
      detail: file.pixelData.truncation ?? 'no fragments',
    };
  }
  return {
    status: 'image',
    series: seriesRecord(h),
    frames: frameRecords(h),
    ...(parsed.repairs.length ? { notes: [...new Set(parsed.repairs)] } : {}),
  };
}

function seriesRecord(h: DicomImageHeader): SeriesRecord {
  const patientKey = h.patient.id
    ? `id:${h.patient.id}`
    : h.patient.name
      ? `name:${h.patient.name}|${h.patient.birthDate}`
      : `study:${h.studyInstanceUid}`;
  return {
    patientKey,
    patient: { id: h.patient.id, name: h.patient.name, birthDate: h.patient.birthDate, sex: h.patient.sex },
    studyUid: h.studyInstanceUid,
    study: { date: h.study.date, time: h.study.time, description: h.study.description, accession: h.study.accessionNumber },
    seriesUid: h.seriesInstanceUid,
    series: { modality: h.series.modality, number: h.series.number, description: h.series.description },
    format: 'dicom',
  };
}
function frameRecords(h: DicomImageHeader): FrameRecord[] {
  const frames: FrameRecord[] = [];
  for (let i = 0; i < Math.max(1, h.numberOfFrames); i++) {
    const own = h.perFrame?.[i];
    frames.push({
      frameIndex: i,
      sopInstanceUid: h.sopInstanceUid || null,
      instanceNumber: h.instanceNumber,
      rows: h.rows,
      columns: h.columns,
      // A palette image is stored as indices and shown as RGB: the index says what is shown.
      samplesPerPixel: h.palette ? 3 : h.samplesPerPixel,
      photometric: h.palette ? 'RGB' : h.photometricInterpretation,
      pixelSpacing: own ? own.pixelSpacing : h.pixelSpacing,
      sliceThickness: own ? own.sliceThickness : h.sliceThickness,
      position: h.framePositions?.[i] ?? h.imagePositionPatient,
      orientation: own ? own.imageOrientationPatient : h.imageOrientationPatient,
      rescaleSlope: own ? own.rescaleSlope : h.rescaleSlope,
      rescaleIntercept: own ? own.rescaleIntercept : h.rescaleIntercept,
      windowCenter: own ? own.windowCenter : h.windowCenter,
      windowWidth: own ? own.windowWidth : h.windowWidth,
      transferSyntax: h.transferSyntaxUid,
      stack: h.stack,
    });
  }
  return frames;
}
