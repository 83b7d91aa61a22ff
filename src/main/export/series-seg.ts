// Turns one imported series and its final labels into a DICOM SEG (and, for a source that is
// not DICOM, the Secondary Capture images it references), with new UIDs on every export.
import { createRequire } from 'node:module';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import type { ContentStore } from '../store/content-store';
import { LOCAL_SCHEME } from '../../shared/model/codes';
import { STARTER_TASK_ID } from '../db/migrations/0130-tasks';
import { readTask } from '../tasks/queries';
import {
  modelVersion,
  seriesImages,
  seriesLabels,
  type ImageLabel,
  type ImageRow,
  type ModelVersionRow,
  type SeriesRow,
} from './queries';
import { newUid, type Dataset } from './write-part10';
import { buildSecondaryCapture } from './secondary-capture';
import { buildSeg, type SegmentAlgorithmType, type SegSegment, type SegSource } from './seg';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: {
      readFile(
        buffer: ArrayBuffer,
        options?: { untilTag?: string; includeUntilTagValue?: boolean; ignoreErrors?: boolean },
      ): { dict: Dataset };
    };
    DicomMetaDictionary: { naturalizeDataset(dict: Dataset): Dataset };
  };
};

export interface SeriesSegResult {
  /** The SEG file's bytes and its SOP Instance UID. */
  seg: { bytes: Uint8Array; sopInstanceUid: string; seriesInstanceUid: string };
  /** Secondary Capture files written for a non-DICOM source (empty for DICOM sources). */
  secondaryCaptures: { bytes: Uint8Array; sopInstanceUid: string }[];
  /** Which labels went in: 'labels' (final) or 'predictions' (the active model's). */
  used: 'labels' | 'predictions';
  /** Model versions whose predictions the segments came from (never lost, PS3.3 C.8.20.2). */
  modelVersionIds: number[];
  /** Images of the series with no label map, so no frame in the SEG. */
  imagesWithoutLabel: number;
}

export interface SeriesSegDeps {
  db: Database;
  store: ContentStore;
  frames: FrameLoader;
  softwareVersion: string;
}

/**
 * Exports a series' current labels as a SEG; with `fallBackToPredictions`, a series without
 * labels uses the active model's predictions instead. Throws Error('…no labels…') when there is
 * nothing to export. Only images with a label map are in it (one frame per segment × labelled
 * image, empty frames of those included): an image without a label has no frame, so the SEG says
 * nothing about it rather than "background" (a sparsely labelled volume stays sparse on import).
 */
export async function seriesToSeg(
  deps: SeriesSegDeps,
  series: SeriesRow,
  options: {
    fallBackToPredictions: boolean;
    at?: Date;
    taskId?: number;
    /** The SEG's UIDs, where the caller fixed them beforehand (a push repeated after a crash stores the same instance); default new ones. */
    uids?: { sopInstanceUid: string; seriesInstanceUid: string };
  },
): Promise<SeriesSegResult> {
  const at = options.at ?? new Date();
  const taskId = options.taskId ?? STARTER_TASK_ID;
  const labels = seriesLabels(deps.db, series.id, options.fallBackToPredictions, taskId);
  if (labels.size === 0) throw new NoLabelsError(series);
  // Only the images that have a label map: a slice nobody labelled is unknown, not background (a
  // volume labelled every k-th slice, issue 25), and an empty frame would say "nothing here" to
  // every reader of the SEG — a viewer, another workstation pulling it from the PACS, a trainer.
  const all = seriesImages(deps.db, series.id);
  const images = all.filter((im) => labels.has(im.id));
  const used = [...labels.values()].some((l) => l.origin === 'prediction') ? 'predictions' : 'labels';
  const pixels = series.rows * series.columns;
  const maps = images.map((im) => labels.get(im.id)?.map ?? new Uint8Array(im.rows * im.columns));
  if (images.some((im) => im.rows * im.columns !== pixels))
    throw new Error(`series ${series.seriesUid} mixes image sizes; a SEG needs one size`);

  const secondaryCaptures: SeriesSegResult['secondaryCaptures'] = [];
  let source: SegSource;
  if (series.sourceFormat === 'dicom') source = dicomSource(deps, series, images);
  else {
    const patientStudy = patientStudyOf(series);
    const scSeries = {
      seriesInstanceUid: newUid(),
      seriesNumber: 9000 + (series.seriesNumber ?? 0),
      description: `${series.description || 'Images'} (DICOM copy)`,
    };
    // The DICOM copy holds every image of the series; the SEG references the labelled ones.
    const scImages = [];
    for (const [i, im] of all.entries()) {
      const sopInstanceUid = newUid();
      const frame = await deps.frames.load(im.id);
      secondaryCaptures.push({
        sopInstanceUid,
        bytes: buildSecondaryCapture(patientStudy, scSeries, { sopInstanceUid, instanceNumber: i + 1, pixels: frame }, at),
      });
      if (labels.has(im.id))
        scImages.push({ sopClassUid: '1.2.840.10008.5.1.4.1.1.7', sopInstanceUid, frameNumber: null, position: null });
    }
    source = {
      patientStudy,
      seriesInstanceUid: scSeries.seriesInstanceUid,
      frameOfReferenceUid: null,
      rows: series.rows,
      columns: series.columns,
      orientation: null,
      pixelSpacing: images[0]?.pixelSpacing ?? null,
      sliceThickness: null,
      images: scImages,
    };
  }
  const { segments, modelVersionIds } = segmentsFor(deps.db, taskId, [...labels.values()]);
  const seg = options.uids ?? { sopInstanceUid: newUid(), seriesInstanceUid: newUid() };
  const bytes = buildSeg(source, maps, segments, {
    ...seg,
    seriesNumber: 9900 + (series.seriesNumber ?? 0),
    seriesDescription: `Segmentation of ${series.description || series.modality || 'series'}`.slice(0, 64),
    // Content Creator's Name is one PN value: the reader who labelled the most slices.
    contentCreatorName: mostFrequent([...labels.values()].map((l) => l.author).filter(Boolean)) ?? '',
    softwareVersion: deps.softwareVersion,
    at,
  });
  return { seg: { ...seg, bytes }, secondaryCaptures, used, modelVersionIds, imagesWithoutLabel: all.length - images.length };
}

function mostFrequent(values: string[]): string | undefined {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  return [...counts.entries()].sort((a, b) => b[1] - a[1])[0]?.[0];
}

export class NoLabelsError extends Error {
  constructor(readonly series: SeriesRow) {
    super(`series ${series.description || series.seriesUid} has no labels to export`);
  }
}

/**
 * The segments of a series' SEG under its task, and the rule that numbers them (issue 22):
 * - one segment per label of the task in use (empty ones too), plus a retired label whose value a
 *   label map still holds, plus a value no label of the task names (written "value N", a local
 *   code) so that no pixel is dropped;
 * - Segment Numbers 1…n in ascending label value; Segment Description "label value N" records the
 *   value, and the Segmented Property Type code is the label's code (both read back on import);
 * - Segment Algorithm Type per segment, from the provenance of the slices whose label map holds
 *   that segment's value (all slices for an empty segment): only accepted predictions (or
 *   predictions) → AUTOMATIC; any edited slice, or model-made slices mixed with drawn or
 *   imported ones → SEMIAUTOMATIC; only drawn or imported → MANUAL. The model (Segmentation
 *   Algorithm Identification) is named only for a segment a model made or started.
 */
export function segmentsFor(
  db: Database,
  taskId: number,
  labels: ImageLabel[],
): { segments: SegSegment[]; modelVersionIds: number[] } {
  const task = readTask(db, taskId);
  const modelIds = [...new Set(labels.map((l) => l.modelVersionId).filter((id): id is number => id !== null))];
  const models = new Map(modelIds.map((id) => [id, modelVersion(db, id)] as const));
  const present = new Set<number>();
  const slicesWith = new Map<number, ImageLabel[]>();
  for (const l of labels)
    for (const v of new Set(l.map))
      if (v !== 0) {
        present.add(v);
        let list = slicesWith.get(v);
        if (!list) slicesWith.set(v, (list = []));
        list.push(l);
      }
  const byValue = new Map((task?.labels ?? []).map((l) => [l.value, l]));
  const values = new Set<number>([...(task?.labels ?? []).filter((l) => l.retiredAt === null).map((l) => l.value), ...present]);
  const segments = [...values]
    .sort((a, b) => a - b)
    .map((value, i): SegSegment => {
      const label = byValue.get(value);
      const slices = slicesWith.get(value) ?? labels;
      const { type, algorithm } = provenance(slices, models);
      return {
        number: i + 1,
        value,
        label: label?.name ?? `value ${value}`,
        description: `label value ${value}${task ? ` of task ${task.name}` : ''}`,
        category: label?.category ?? { value: '85756007', scheme: 'SCT', meaning: 'Tissue' },
        type: label?.type ?? { value: `V${value}`, scheme: LOCAL_SCHEME, meaning: `value ${value} (no label in the task)` },
        ...(label ? { colour: label.colour } : {}),
        algorithmType: type,
        algorithm,
      };
    });
  return { segments, modelVersionIds: modelIds };
}

/** Segment Algorithm Type and the model named, from the provenance of a segment's slices (see segmentsFor). */
function provenance(
  slices: ImageLabel[],
  models: Map<number, ModelVersionRow | undefined>,
): { type: SegmentAlgorithmType; algorithm: SegSegment['algorithm'] } {
  const fromModel = slices.filter((l) => l.origin === 'accepted' || l.origin === 'prediction');
  const manual = slices.filter((l) => l.origin === 'drawn' || l.origin === 'imported');
  const edited = slices.filter((l) => l.origin === 'edited');
  const named = [...new Set([...fromModel, ...edited].map((l) => l.modelVersionId))]
    .map((id) => (id === null ? undefined : models.get(id)))
    .filter((m): m is ModelVersionRow => m !== undefined);
  const type: SegmentAlgorithmType =
    named.length === 0
      ? 'MANUAL'
      : edited.length > 0 || (fromModel.length > 0 && manual.length > 0)
        ? 'SEMIAUTOMATIC'
        : fromModel.length > 0
          ? 'AUTOMATIC'
          : 'MANUAL';
  const algorithm =
    type === 'MANUAL'
      ? null
      : {
          name: [...new Set(named.map((m) => m.name))].join(' + ').slice(0, 64),
          version: named
            .map((m) => `${m.modelId} ${m.version}`)
            .join(', ')
            .slice(0, 64),
        };
  return { type, algorithm };
}

function patientStudyOf(series: SeriesRow): Dataset {
  return {
    PatientName: series.patientName,
    PatientID: series.patientId || series.patientKey.slice(0, 64),
    PatientBirthDate: series.birthDate,
    PatientSex: series.sex,
    StudyInstanceUID: series.studyUid,
    StudyDate: series.studyDate,
    StudyTime: series.studyTime,
    AccessionNumber: series.accession,
    StudyDescription: series.studyDescription,
  };
}

function dicomSource(deps: SeriesSegDeps, series: SeriesRow, images: ImageRow[]): SegSource {
  const headers = new Map<number, Dataset>();
  const header = (im: ImageRow): Dataset => {
    let ds = headers.get(im.fileId);
    if (!ds) {
      const bytes = deps.store.read({ relative: im.storePath, offset: im.packOffset }, im.size);
      const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
      ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
        dcmjs.data.DicomMessage.readFile(buffer, { untilTag: '7FE00010', includeUntilTagValue: false, ignoreErrors: true }).dict,
      );
      headers.set(im.fileId, ds);
    }
    return ds;
  };
  const first = header(images[0]!);
  const frameOfReferenceUid =
    typeof first.FrameOfReferenceUID === 'string' && first.FrameOfReferenceUID ? first.FrameOfReferenceUID : null;
  const orientation = images[0]!.orientation;
  const sameOrientation =
    orientation !== null && images.every((im) => im.orientation?.every((v, k) => Math.abs(v - orientation[k]!) < 1e-4));
  const thickness = Number(Array.isArray(first.SliceThickness) ? first.SliceThickness[0] : first.SliceThickness);
  return {
    patientStudy: first,
    seriesInstanceUid: series.seriesUid,
    frameOfReferenceUid: sameOrientation ? frameOfReferenceUid : null,
    rows: series.rows,
    columns: series.columns,
    orientation: sameOrientation ? orientation : null,
    pixelSpacing: images[0]!.pixelSpacing,
    sliceThickness: Number.isFinite(thickness) && thickness > 0 ? thickness : null,
    images: images.map((im) => {
      const ds = header(im);
      const frames = Number(ds.NumberOfFrames ?? 1);
      return {
        sopClassUid: String(ds.SOPClassUID),
        sopInstanceUid: im.sopInstanceUid ?? String(ds.SOPInstanceUID),
        frameNumber: frames > 1 ? im.frameIndex + 1 : null,
        position: im.position,
      };
    }),
  };
}
