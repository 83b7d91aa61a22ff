// DICOM file → records for the indexer (headers only: the pixels stay in the store).
import { readDicom } from '../imaging/dicom';
import { isDicomError } from '../imaging/dicom';
import type { DicomImageHeader } from '../imaging/dicom/types';
import type { FrameRecord, ReadOutcome, SeriesRecord } from './records';

export function readDicomRecords(bytes: Uint8Array): ReadOutcome {
  let file;
  try {
    file = readDicom(bytes);
  } catch (e) {
    return { status: 'failed', reason: isDicomError(e) ? e.message : `cannot parse: ${(e as Error).message}` };
  }
  const parsed = file.parsed;
  if (parsed.kind === 'non-image') return { status: 'skipped', reason: parsed.reason };
  const h = parsed.header;
  if (parsed.kind === 'segmentation') {
    const referenced = parsed.referencedSeriesUids[0];
    if (!referenced) return { status: 'skipped', reason: 'DICOM SEG without a Referenced Series Sequence: cannot tell which series it labels' };
    return { status: 'label-set', sopInstanceUid: h.sopInstanceUid, referencedSeriesUid: referenced, segments: parsed.segments };
  }
  if (!h.studyInstanceUid || !h.seriesInstanceUid) return { status: 'failed', reason: 'missing Study or Series Instance UID' };
  if (!file.pixelData) return { status: 'skipped', reason: 'no pixel data' };
  if (h.rows <= 0 || h.columns <= 0) return { status: 'failed', reason: `invalid image size ${h.rows}×${h.columns}` };
  return { status: 'image', series: seriesRecord(h), frames: frameRecords(h) };
}

function seriesRecord(h: DicomImageHeader): SeriesRecord {
  const patientKey = h.patient.id ? `id:${h.patient.id}` : h.patient.name ? `name:${h.patient.name}|${h.patient.birthDate}` : `study:${h.studyInstanceUid}`;
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
    frames.push({
      frameIndex: i,
      sopInstanceUid: h.sopInstanceUid || null,
      instanceNumber: h.instanceNumber,
      rows: h.rows,
      columns: h.columns,
      samplesPerPixel: h.samplesPerPixel,
      photometric: h.photometricInterpretation,
      pixelSpacing: h.pixelSpacing,
      position: h.framePositions?.[i] ?? h.imagePositionPatient,
      orientation: h.imageOrientationPatient,
      rescaleSlope: h.rescaleSlope,
      rescaleIntercept: h.rescaleIntercept,
      windowCenter: h.windowCenter,
      windowWidth: h.windowWidth,
      transferSyntax: h.transferSyntaxUid,
    });
  }
  return frames;
}
