// The `worklist` service: a paginated, sortable, filterable list of studies, their series and
// thumbnails. Aggregates (series and image counts, modalities) are kept on the study row by the
// importer, so a page is one indexed query plus one small status query.
import type {
  ReviewState,
  SeriesStatus,
  SeriesSummary,
  WorklistPage,
  WorklistQuery,
  WorklistService,
  WorklistStudy,
} from '../../shared/contract';
import { worklistQuerySchema, type WORKLIST_SORTS } from '../../shared/contract';
import { searchWords } from '../../shared/dicom/person-name';
import { SERIES_UNLIKE_SHARE } from '../../shared/model/input-statistics';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { FrameLoader } from '../imaging/frames';
import { thumbnailPng } from '../imaging/thumbnail';

/** Uncertainty of each series: mean entropy of the active model's predictions on its images. */
const SERIES_UNCERTAINTY = `(SELECT avg(p.entropy) FROM predictions p JOIN images i ON i.id = p.image_id
   JOIN model_versions m ON m.id = p.model_version_id AND m.status = 'active' WHERE i.series_id = se.id)`;
/**
 * Share of each series' slices whose input is unlike the active model's training images
 * (predictions.input_distance > 0; src/shared/model/input-statistics.ts); null without statistics.
 */
const SERIES_UNLIKE = `(SELECT avg(p.input_distance > 0) FROM predictions p JOIN images i ON i.id = p.image_id
   JOIN model_versions m ON m.id = p.model_version_id AND m.status = 'active' WHERE i.series_id = se.id)`;
/**
 * "Edited": the reader changed the outline — a working draft, or a current label they edited or
 * drew. A prediction accepted unchanged is a label but not an edit (issue 21, item 8).
 */
const SERIES_EDITED = `(EXISTS (SELECT 1 FROM draft_slices d WHERE d.series_id = se.id)
   OR EXISTS (SELECT 1 FROM labels l WHERE l.series_id = se.id AND l.superseded_at IS NULL AND l.origin IN ('edited', 'drawn')))`;
/**
 * Where series `alias` stands in the review loop when several tasks review it (one review item
 * per task): its least advanced state — to review, then in correction, then outside the domain,
 * then labelled — so the worklist shows the work still to do, once per series.
 */
const seriesReviewState = (alias: string) => `(SELECT r.state FROM review_items r WHERE r.series_id = ${alias}.id
   ORDER BY CASE r.state WHEN 'to-review' THEN 0 WHEN 'in-correction' THEN 1 WHEN 'outside-domain' THEN 2 ELSE 3 END, r.task_id LIMIT 1)`;
/** A study's work still to do: its least advanced series' status, in workflow order. */
const STATUS_RANK = `(SELECT min(CASE x.status WHEN 'new' THEN 0 WHEN 'segmenting' THEN 1 WHEN 'segmented' THEN 2
   WHEN 'in-review' THEN 3 ELSE 4 END) FROM series x WHERE x.study_id = s.id)`;
const STUDY_UNCERTAINTY = `(SELECT max(u) FROM (SELECT ${SERIES_UNCERTAINTY} AS u FROM series se WHERE se.study_id = s.id))`;

type WorklistSort = (typeof WORKLIST_SORTS)[number];

const ORDER: Record<WorklistSort, string> = {
  studyDate: 's.study_date %DIR, s.study_time %DIR, s.id %DIR',
  patientName: 'p.name COLLATE NOCASE %DIR, s.id %DIR',
  importedAt: 's.imported_at %DIR, s.id %DIR',
  modality: 's.modalities %DIR, s.id %DIR',
  patientId: 'p.patient_id COLLATE NOCASE %DIR, s.id %DIR',
  description: 's.description COLLATE NOCASE %DIR, s.id %DIR',
  seriesCount: 's.series_count %DIR, s.id %DIR',
  imageCount: 's.image_count %DIR, s.id %DIR',
  status: `${STATUS_RANK} %DIR, s.id %DIR`,
  // Studies not yet segmented go last either way.
  uncertainty: `${STUDY_UNCERTAINTY} IS NULL, ${STUDY_UNCERTAINTY} %DIR, s.id %DIR`,
};

export class WorklistMainService implements WorklistService {
  constructor(
    private readonly db: Database,
    private readonly frames: FrameLoader,
  ) {}

  async list(query: WorklistQuery = {}): Promise<WorklistPage> {
    const q = worklistQuerySchema.parse(query);
    const where: string[] = [];
    const params: Record<string, unknown> = {};
    // Each word of the search in the name or the ID, so what the row shows ("DEMO, PHANTOM 0001")
    // finds it, whatever the carets of the stored DICOM name.
    searchWords(q.patient ?? '').forEach((word, k) => {
      where.push(`(p.name LIKE @w${k} ESCAPE '\\' OR p.patient_id LIKE @w${k} ESCAPE '\\')`);
      params[`w${k}`] = `%${word.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
    });
    if (q.modality) {
      where.push("('\\' || s.modalities || '\\') LIKE @modality");
      params.modality = `%\\${q.modality.toUpperCase()}\\%`;
    }
    if (q.dateFrom) {
      where.push('s.study_date >= @dateFrom');
      params.dateFrom = q.dateFrom;
    }
    if (q.dateTo) {
      where.push("s.study_date <= @dateTo AND s.study_date != ''");
      params.dateTo = q.dateTo;
    }
    if (q.status) {
      where.push('EXISTS (SELECT 1 FROM series x WHERE x.study_id = s.id AND x.status = @status)');
      params.status = q.status;
    }
    if (q.reviewState) {
      where.push(`EXISTS (SELECT 1 FROM series x WHERE x.study_id = s.id AND ${seriesReviewState('x')} = @reviewState)`);
      params.reviewState = q.reviewState;
    }
    const whereSql = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const order = ORDER[q.sort]!.replaceAll('%DIR', q.direction === 'asc' ? 'ASC' : 'DESC');
    const total =
      (this.db
        .prepare(`SELECT count(*) FROM studies s JOIN patients p ON p.id = s.patient_id ${whereSql}`)
        .pluck()
        .get(params) as number) ?? 0;
    const rows = this.db
      .prepare(
        `SELECT s.id AS studyId, s.study_uid AS studyUid, p.name AS patientName, p.patient_id AS patientId, p.birth_date AS birthDate,
                p.sex AS sex, s.study_date AS studyDate, s.description AS description, s.accession AS accession,
                s.modalities AS modalities, s.series_count AS seriesCount, s.image_count AS imageCount, s.imported_at AS importedAt,
                (SELECT se.id FROM series se WHERE se.study_id = s.id ORDER BY se.series_number IS NULL, se.series_number, se.id LIMIT 1)
                  AS thumbnailSeriesId,
                ${STUDY_UNCERTAINTY} AS uncertainty,
                (SELECT count(*) FROM series se WHERE se.study_id = s.id AND ${SERIES_EDITED}) AS editedSeries,
                (SELECT count(*) FROM series se WHERE se.study_id = s.id AND ${SERIES_UNLIKE} >= ${SERIES_UNLIKE_SHARE}) AS unlikeSeries
         FROM studies s JOIN patients p ON p.id = s.patient_id ${whereSql}
         ORDER BY ${order} LIMIT @limit OFFSET @offset`,
      )
      .all({ ...params, limit: q.pageSize, offset: q.page * q.pageSize }) as Omit<
      WorklistStudy,
      'statusCounts' | 'stateCounts'
    >[];
    const statusCounts = this.statusCounts(rows.map((r) => r.studyId));
    const stateCounts = this.stateCounts(rows.map((r) => r.studyId));
    return {
      total,
      page: q.page,
      pageSize: q.pageSize,
      rows: rows.map((r) => ({
        ...r,
        statusCounts: statusCounts.get(r.studyId) ?? {},
        stateCounts: stateCounts.get(r.studyId) ?? {},
      })),
    };
  }

  async series({ studyId }: { studyId: number }): Promise<SeriesSummary[]> {
    if (!this.db.prepare('SELECT 1 FROM studies WHERE id = ?').get(studyId))
      throw new ServiceError('not-found', `no study ${studyId}`);
    const rows = this.db
      .prepare(
        `SELECT se.id AS seriesId, se.series_uid AS seriesUid, se.modality, se.series_number AS seriesNumber, se.description,
                se.source_format AS sourceFormat, se.rows, se.columns, se.image_count AS imageCount, se.status,
                (SELECT count(*) FROM label_sets l WHERE l.referenced_series_uid = se.series_uid OR l.series_id = se.id) AS labelSets,
                ${SERIES_UNCERTAINTY} AS uncertainty, ${SERIES_EDITED} AS edited, ${SERIES_UNLIKE} AS unlikeShare,
                ${seriesReviewState('se')} AS reviewState
         FROM series se WHERE se.study_id = ? ORDER BY se.series_number IS NULL, se.series_number, se.id`,
      )
      .all(studyId) as (Omit<SeriesSummary, 'edited'> & { edited: number })[];
    return rows.map((r) => ({ ...r, edited: r.edited === 1 }));
  }

  async thumbnail({ seriesId }: { seriesId: number }): Promise<string | null> {
    const row = this.db.prepare('SELECT thumbnail, image_count FROM series WHERE id = ?').get(seriesId) as
      { thumbnail: Buffer | null; image_count: number } | undefined;
    if (!row) throw new ServiceError('not-found', `no series ${seriesId}`);
    if (row.thumbnail) return dataUrl(row.thumbnail);
    const middle = this.db
      .prepare('SELECT id FROM images WHERE series_id = ? ORDER BY position_index LIMIT 1 OFFSET ?')
      .pluck()
      .get(seriesId, Math.floor(row.image_count / 2)) as number | undefined;
    if (middle === undefined) return null;
    try {
      const png = thumbnailPng(await this.frames.load(middle));
      this.db.prepare('UPDATE series SET thumbnail = ? WHERE id = ?').run(Buffer.from(png), seriesId);
      return dataUrl(png);
    } catch {
      return null; // a series whose pixels cannot be decoded still lists; the viewer says why
    }
  }

  /** Per study, its series by where each stands: the (least advanced) review state when it has one, else the series status. */
  private stateCounts(studyIds: number[]): Map<number, Partial<Record<SeriesStatus | ReviewState, number>>> {
    const out = new Map<number, Partial<Record<SeriesStatus | ReviewState, number>>>();
    if (studyIds.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT se.study_id, coalesce(${seriesReviewState('se')}, se.status) AS state, count(*) AS n FROM series se
         WHERE se.study_id IN (${studyIds.map(() => '?').join(',')}) GROUP BY se.study_id, state`,
      )
      .all(...studyIds) as { study_id: number; state: SeriesStatus | ReviewState; n: number }[];
    for (const r of rows) out.set(r.study_id, { ...out.get(r.study_id), [r.state]: r.n });
    return out;
  }

  private statusCounts(studyIds: number[]): Map<number, Partial<Record<SeriesStatus, number>>> {
    const out = new Map<number, Partial<Record<SeriesStatus, number>>>();
    if (studyIds.length === 0) return out;
    const rows = this.db
      .prepare(
        `SELECT study_id, status, count(*) AS n FROM series WHERE study_id IN (${studyIds.map(() => '?').join(',')}) GROUP BY study_id, status`,
      )
      .all(...studyIds) as { study_id: number; status: SeriesStatus; n: number }[];
    for (const r of rows) {
      const counts = out.get(r.study_id) ?? {};
      counts[r.status] = r.n;
      out.set(r.study_id, counts);
    }
    return out;
  }
}

function dataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
