// The import's fast path: index records straight from the fast DICOM header walk
// (src/main/imaging/dicom/fast-header.ts). Anything unusual — a segmentation, a character set
// other than ASCII, Latin-1 or UTF-8, an odd pixel module — returns null and the import falls
// back to the full dcmjs-based reader (read-dicom.ts), which gives the same records (tested).
import { readFastHeader, T } from '../imaging/dicom/fast-header';
import type { FrameRecord, ReadOutcome, SeriesRecord } from './records';

const SEGMENTATION = '1.2.840.10008.5.1.4.1.1.66.4';

/** The records of one DICOM file on the fast path, or null for the full reader to decide. */
export function readFastRecords(b: Uint8Array): ReadOutcome | null {
  try {
    return read(b);
  } catch (e) {
    if (e instanceof RangeError) return null;
    throw e;
  }
}

function read(b: Uint8Array): ReadOutcome | null {
  const header = readFastHeader(b);
  if (header === null) return null;
  const { values, mode, transferSyntax: ts } = header;
  const charset = values.text(T.charset).toUpperCase();
  if (charset !== '' && charset !== 'ISO_IR 100' && charset !== 'ISO_IR 192' && charset !== 'ISO_IR 6') return null;
  const sopClass = values.text(T.sopClass);
  if (sopClass === SEGMENTATION) return null;

  const encoding = charset === 'ISO_IR 192' ? 'utf-8' : 'latin1';
  const str = (tag: number) => values.text(tag, encoding);
  const us = (tag: number) => values.u16(tag, mode.little);
  const ds = (tag: number) => {
    const value = str(tag);
    if (!value.includes('\\')) {
      // One value, the common case: no arrays to split into.
      const n = value.trim() === '' ? NaN : Number(value);
      return Number.isFinite(n) ? [n] : null;
    }
    const parts = value.split('\\').map((s) => s.trim());
    const numbers = parts.map((s) => (s === '' ? NaN : Number(s)));
    return numbers.every(Number.isFinite) ? numbers : null;
  };
  const first = (tag: number) => ds(tag)?.[0] ?? null;
  const studyUid = str(T.studyUid);
  const seriesUid = str(T.seriesUid);
  const sopInstance = str(T.sopInstance);
  const rows = us(T.rows);
  const columns = us(T.columns);
  if (!studyUid || !seriesUid || !sopInstance || !rows || !columns) return null;
  const samples = us(T.samples) ?? 1;
  const photometric = str(T.photometric) || (samples === 3 ? 'RGB' : 'MONOCHROME2');
  const framesValue = first(T.frames);
  const frames = framesValue && framesValue > 0 ? Math.round(framesValue) : 1;
  // Sanity-check the pixel module before trusting it; oddities go to the full reader.
  const bits = us(T.bitsAllocated);
  if (bits === null || ![1, 8, 16, 32].includes(bits) || (samples !== 1 && samples !== 3)) return null;

  const patientName = str(T.patientName).replace(/=+$/, '');
  const patient = { id: str(T.patientId), name: patientName, birthDate: str(T.birthDate), sex: str(T.sex) };
  const series: SeriesRecord = {
    patientKey: patient.id
      ? `id:${patient.id}`
      : patient.name
        ? `name:${patient.name}|${patient.birthDate}`
        : `study:${studyUid}`,
    patient,
    studyUid,
    study: { date: str(T.studyDate), time: str(T.studyTime), description: str(T.studyDescription), accession: str(T.accession) },
    seriesUid,
    series: { modality: str(T.modality), number: intOrNull(first(T.seriesNumber)), description: str(T.seriesDescription) },
    format: 'dicom',
  };
  // Projection radiographs often carry only Imager Pixel Spacing.
  const spacing = ds(T.spacing) ?? ds(T.imagerSpacing);
  const position = ds(T.position);
  const orientation = ds(T.orientation);
  const slope = first(T.slope);
  const frameRecords: FrameRecord[] = [];
  for (let i = 0; i < frames; i++) {
    frameRecords.push({
      frameIndex: i,
      sopInstanceUid: sopInstance,
      instanceNumber: intOrNull(first(T.instanceNumber)),
      rows,
      columns,
      samplesPerPixel: samples,
      photometric,
      pixelSpacing: spacing && spacing.length >= 2 ? [spacing[0]!, spacing[1]!] : null,
      position: position && position.length >= 3 ? [position[0]!, position[1]!, position[2]!] : null,
      orientation: orientation && orientation.length >= 6 ? (orientation.slice(0, 6) as FrameRecord['orientation']) : null,
      rescaleSlope: slope !== null && slope !== 0 ? slope : 1,
      rescaleIntercept: first(T.intercept) ?? 0,
      windowCenter: first(T.windowCenter),
      windowWidth: positiveOrNull(first(T.windowWidth)),
      transferSyntax: ts,
    });
  }
  return { status: 'image', series, frames: frameRecords };
}

/** A window width of 0 or less is a writer's error: treat it as absent. */
function positiveOrNull(n: number | null): number | null {
  return n !== null && n > 0 ? n : null;
}

function intOrNull(n: number | null): number | null {
  return n === null ? null : Math.round(n);
}
