// The `viewer` service: a series as the viewer shows it (overlay text, images in display order
// with geometry and window defaults), decoded frames, and the reader's label drafts.
import type { DraftView, ViewerFrame, ViewerFrameBatch, ViewerImage, ViewerSeries, ViewerService } from '../../shared/contract';
import { viewerMethods } from '../../shared/contract';
import type { z } from 'zod';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import { DraftStore } from './drafts';
import { toWireFrame } from './wire';

interface ImageRow {
  imageId: number;
  rows: number;
  columns: number;
  samplesPerPixel: number;
  photometric: string;
  psRow: number | null;
  psCol: number | null;
  sliceThickness: number | null;
  position: string | null;
  orientation: string | null;
  instanceNumber: number | null;
  windowCenter: number | null;
  windowWidth: number | null;
}

export class ViewerMainService implements ViewerService {
  private readonly drafts: DraftStore;

  constructor(
    private readonly db: Database,
    private readonly loader: FrameLoader,
  ) {
    this.drafts = new DraftStore(db);
  }

  async series({ seriesId }: { seriesId: number }): Promise<ViewerSeries> {
    const s = this.db
      .prepare(
        `SELECT se.id AS seriesId, se.study_id AS studyId, se.series_uid AS seriesUid, se.modality, se.series_number AS seriesNumber,
                se.description, se.source_format AS sourceFormat,
                p.name AS patientName, p.patient_id AS patientId, p.birth_date AS birthDate, p.sex,
                st.study_date AS studyDate, st.study_time AS studyTime, st.description AS studyDescription, st.accession
         FROM series se JOIN studies st ON st.id = se.study_id JOIN patients p ON p.id = st.patient_id WHERE se.id = ?`,
      )
      .get(seriesId) as Record<string, string | number | null> | undefined;
    if (!s) throw new ServiceError('not-found', `no series ${seriesId}`);
    const rows = this.db
      .prepare(
        `SELECT id AS imageId, rows, columns, samples_per_pixel AS samplesPerPixel, photometric,
                pixel_spacing_row AS psRow, pixel_spacing_col AS psCol, slice_thickness AS sliceThickness, image_position AS position, image_orientation AS orientation,
                instance_number AS instanceNumber, window_center AS windowCenter, window_width AS windowWidth
         FROM images WHERE series_id = ? ORDER BY position_index, id`,
      )
      .all(seriesId) as ImageRow[];
    const images: ViewerImage[] = rows.map((r, index) => ({
      imageId: r.imageId,
      index,
      rows: r.rows,
      columns: r.columns,
      samplesPerPixel: r.samplesPerPixel,
      photometric: r.photometric,
      pixelSpacing: r.psRow && r.psCol ? [r.psRow, r.psCol] : null,
      sliceThickness: r.sliceThickness,
      position: r.position ? (JSON.parse(r.position) as [number, number, number]) : null,
      orientation: r.orientation ? (JSON.parse(r.orientation) as ViewerImage['orientation']) : null,
      instanceNumber: r.instanceNumber,
      windowCenter: r.windowCenter,
      windowWidth: r.windowWidth,
    }));
    const text = (v: string | number | null | undefined) => (v === null || v === undefined ? '' : String(v));
    return {
      seriesId,
      studyId: Number(s.studyId),
      seriesUid: text(s.seriesUid),
      modality: text(s.modality),
      seriesNumber: s.seriesNumber === null ? null : Number(s.seriesNumber),
      description: text(s.description),
      sourceFormat: text(s.sourceFormat),
      patient: { name: text(s.patientName), id: text(s.patientId), birthDate: text(s.birthDate), sex: text(s.sex) },
      study: {
        date: text(s.studyDate),
        time: text(s.studyTime),
        description: text(s.studyDescription),
        accession: text(s.accession),
      },
      images,
    };
  }

  async frame({ imageId }: { imageId: number }): Promise<ViewerFrame> {
    return toWireFrame(await this.loader.load(imageId));
  }

  async frames({ imageIds }: { imageIds: number[] }): Promise<ViewerFrameBatch> {
    const batch: ViewerFrameBatch = { frames: [], failed: [] };
    for (const imageId of imageIds) {
      try {
        batch.frames.push(toWireFrame(await this.loader.load(imageId)));
      } catch (e) {
        // The words `viewer.frame` would answer with; anything else is a bug, logged, not shown raw.
        if (!(e instanceof ServiceError)) console.error(`[viewer.frames] image ${imageId}:`, e);
        batch.failed.push({
          imageId,
          message: e instanceof ServiceError ? e.message : 'this image could not be read (details in the log)',
        });
      }
    }
    return batch;
  }

  async draft(input: z.input<typeof viewerMethods.draft>): Promise<DraftView | null> {
    const { seriesId, taskId, storedLabel } = viewerMethods.draft.parse(input);
    return this.drafts.read(seriesId, taskId) ?? (storedLabel ? this.drafts.readStoredLabel(seriesId, taskId) : null);
  }

  async saveDraft(input: z.input<typeof viewerMethods.saveDraft>): Promise<{ revision: number; updatedAt: string }> {
    return this.drafts.save(viewerMethods.saveDraft.parse(input));
  }

  async discardDraft(input: z.input<typeof viewerMethods.discardDraft>): Promise<{ discarded: boolean }> {
    const { seriesId, taskId } = viewerMethods.discardDraft.parse(input);
    return { discarded: this.drafts.discard(seriesId, taskId) };
  }
}
