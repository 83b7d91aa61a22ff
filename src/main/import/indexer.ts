// Commits one series in one transaction: patient, study, series, files and image rows, the
// slice order, and the study's aggregates. A crash mid-import therefore leaves whole series
// or none — never a series with half its images.
import { repeatedPositionsNote, sliceOrder, type Orderable, type Orientation, type Vec3 } from '../../shared/imaging/geometry';
import type { Database } from '../db/database';
import type { StoredLocation } from '../store/content-store';
import type { FrameRecord, SeriesRecord, SourceFormat } from './records';

export interface StagedFile {
  path: string;
  sha256: string;
  stored: StoredLocation;
  size: number;
  /** True when this import wrote the bytes to the store (so a cancel may remove them again). */
  written: boolean;
  format: SourceFormat;
  frames: FrameRecord[];
  /** The reader's notes on this file, for the import report. */
  notes: string[];
}

export interface SeriesGroup {
  series: SeriesRecord;
  files: StagedFile[];
}

export interface CommitResult {
  studyId: number;
  seriesId: number;
  imagesAdded: number;
  /** Per input path: whether it added anything. */
  outcomes: { path: string; added: boolean; notes: string[] }[];
}

export class Indexer {
  private readonly stmts;

  constructor(private readonly db: Database) {
    this.stmts = {
      patient: db.prepare(`
        INSERT INTO patients (patient_key, patient_id, name, birth_date, sex) VALUES (@key, @id, @name, @birthDate, @sex)
        ON CONFLICT (patient_key) DO UPDATE SET
          name = CASE WHEN patients.name = '' THEN excluded.name ELSE patients.name END,
          birth_date = CASE WHEN patients.birth_date = '' THEN excluded.birth_date ELSE patients.birth_date END,
          sex = CASE WHEN patients.sex = '' THEN excluded.sex ELSE patients.sex END
        RETURNING id`),
      study: db.prepare(`
        INSERT INTO studies (patient_id, study_uid, study_date, study_time, description, accession)
        VALUES (@patientId, @uid, @date, @time, @description, @accession)
        ON CONFLICT (study_uid) DO UPDATE SET description = CASE WHEN studies.description = '' THEN excluded.description ELSE studies.description END
        RETURNING id`),
      series: db.prepare(`
        INSERT INTO series (study_id, series_uid, modality, series_number, description, source_format, rows, columns)
        VALUES (@studyId, @uid, @modality, @number, @description, @format, @rows, @columns)
        ON CONFLICT (series_uid) DO UPDATE SET modality = series.modality
        RETURNING id`),
      file: db.prepare(`
        INSERT INTO files (sha256, store_path, pack_offset, size, format, original_path) VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (sha256) DO UPDATE SET sha256 = excluded.sha256
        RETURNING id`),
      image: db.prepare(`
        INSERT OR IGNORE INTO images (series_id, file_id, frame_index, sop_instance_uid, instance_number, rows, columns,
          samples_per_pixel, photometric, pixel_spacing_row, pixel_spacing_col, image_position, image_orientation,
          rescale_slope, rescale_intercept, window_center, window_width, transfer_syntax, position_index, slice_thickness,
          temporal_position_identifier, echo_numbers, acquisition_number)
        VALUES (@seriesId, @fileId, @frameIndex, @sop, @instanceNumber, @rows, @columns, @samples, @photometric,
          @spacingRow, @spacingCol, @position, @orientation, @slope, @intercept, @wc, @ww, @ts, @positionIndex, @thickness,
          @temporalPosition, @echo, @acquisition)`),
      hasImages: db.prepare('SELECT 1 FROM images WHERE series_id = ? LIMIT 1').pluck(),
      seriesImages: db.prepare(`
        SELECT id, image_position, image_orientation, instance_number, frame_index, temporal_position_identifier, echo_numbers, acquisition_number
        FROM images WHERE series_id = ? ORDER BY id`),
      setPosition: db.prepare('UPDATE images SET position_index = ? WHERE id = ?'),
      seriesCount: db.prepare(
        'UPDATE series SET image_count = (SELECT count(*) FROM images WHERE series_id = @id) WHERE id = @id',
      ),
      studyAggregates: db.prepare(`
        UPDATE studies SET
          series_count = (SELECT count(*) FROM series WHERE study_id = @id),
          image_count = (SELECT coalesce(sum(image_count), 0) FROM series WHERE study_id = @id),
          modalities = (SELECT coalesce(group_concat(modality, '\\'), '') FROM (SELECT DISTINCT modality FROM series WHERE study_id = @id AND modality != '' ORDER BY modality))
        WHERE id = @id`),
    };
  }

  commit(group: SeriesGroup): CommitResult {
    return this.db.transaction(() => this.commitInTransaction(group)).immediate();
  }

  private commitInTransaction({ series: s, files }: SeriesGroup): CommitResult {
    const first = files[0]?.frames[0];
    if (!first) throw new Error(`series ${s.seriesUid} has no frames`);
    const patientId = (this.stmts.patient.get({ key: s.patientKey, ...s.patient }) as { id: number }).id;
    const studyId = (this.stmts.study.get({ patientId, uid: s.studyUid, ...s.study }) as { id: number }).id;
    const seriesId = (
      this.stmts.series.get({
        studyId,
        uid: s.seriesUid,
        ...s.series,
        format: s.format,
        rows: first.rows,
        columns: first.columns,
      }) as { id: number }
    ).id;
    // A new series is ordered in memory and its rows written with their positions; a series that
    // already has images is ordered again from the database, old and new images together.
    const fresh = this.stmts.hasImages.get(seriesId) === undefined;
    const frameCount = files.reduce((n, f) => n + f.frames.length, 0);
    const positionOf = new Int32Array(frameCount);
    // Several images at one position (time points, echoes) are said so, once, with the first file.
    let note: string | null = null;
    if (fresh) {
      const all = files.flatMap((f) => f.frames.map(orderable));
      sliceOrder(all).forEach((frame, position) => (positionOf[frame] = position));
      note = repeatedPositionsNote(all);
    }
    let imagesAdded = 0;
    let flat = 0;
    const outcomes: CommitResult['outcomes'] = [];
    for (const f of files) {
      const fileId = (
        this.stmts.file.get(f.sha256, f.stored.relative, f.stored.offset, f.size, f.format, f.path) as { id: number }
      ).id;
      let added = 0;
      for (const fr of f.frames) {
        added += this.stmts.image.run({
          seriesId,
          fileId,
          frameIndex: fr.frameIndex,
          sop: fr.sopInstanceUid,
          instanceNumber: fr.instanceNumber,
          rows: fr.rows,
          columns: fr.columns,
          samples: fr.samplesPerPixel,
          photometric: fr.photometric,
          spacingRow: fr.pixelSpacing?.[0] ?? null,
          spacingCol: fr.pixelSpacing?.[1] ?? null,
          position: fr.position ? JSON.stringify(fr.position) : null,
          orientation: fr.orientation ? JSON.stringify(fr.orientation) : null,
          slope: fr.rescaleSlope,
          intercept: fr.rescaleIntercept,
          wc: fr.windowCenter,
          ww: fr.windowWidth,
          ts: fr.transferSyntax,
          positionIndex: positionOf[flat++]!,
          thickness: fr.sliceThickness,
          temporalPosition: fr.stack?.[0] ?? null,
          echo: fr.stack?.[1] ?? null,
          acquisition: fr.stack?.[2] ?? null,
        }).changes;
      }
      imagesAdded += added;
      outcomes.push({ path: f.path, added: added > 0, notes: note && outcomes.length === 0 ? [...f.notes, note] : f.notes });
    }
    if (imagesAdded > 0) {
      // Rows the database ignored (already there) leave gaps: order what is there instead.
      if (!fresh || imagesAdded !== frameCount) this.reorder(seriesId);
      this.stmts.seriesCount.run({ id: seriesId });
      this.stmts.studyAggregates.run({ id: studyId });
    }
    return { studyId, seriesId, imagesAdded, outcomes };
  }

  private reorder(seriesId: number): void {
    // Rows in insertion order, as orderable() would see them in memory: ties keep that order.
    const rows = this.stmts.seriesImages.all(seriesId) as {
      id: number;
      image_position: string | null;
      image_orientation: string | null;
      instance_number: number | null;
      frame_index: number;
      temporal_position_identifier: number | null;
      echo_numbers: number | null;
      acquisition_number: number | null;
    }[];
    const order = sliceOrder(
      rows.map((r) => ({
        position: r.image_position ? (JSON.parse(r.image_position) as Vec3) : null,
        orientation: r.image_orientation ? (JSON.parse(r.image_orientation) as Orientation) : null,
        instanceNumber: r.instance_number,
        frameIndex: r.frame_index,
        // As orderable() gives them for a fresh series, so an append orders as one import would.
        stack: [r.temporal_position_identifier, r.echo_numbers, r.acquisition_number],
      })),
    );
    order.forEach((rowIndex, position) => this.stmts.setPosition.run(position, rows[rowIndex]!.id));
  }
}

function orderable(fr: FrameRecord): Orderable {
  return {
    position: fr.position,
    orientation: fr.orientation,
    instanceNumber: fr.instanceNumber,
    frameIndex: fr.frameIndex,
    stack: fr.stack,
  };
}
