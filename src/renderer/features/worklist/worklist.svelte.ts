// Worklist state: the current page of studies, the query, the open study's series, and the
// running import with its report. Refreshes itself when the backend says studies changed.
import {
  STAGE_CHUNK_BYTES,
  type ImportProgress,
  type ImportReport,
  type ReviewState,
  type SeriesSummary,
  type WorklistPage,
  type WorklistQuery,
} from '../../../shared/contract';
import type { ApiError } from '../../../shared/result';
import { api } from '../../lib/api';
import { currentTaskId } from '../../lib/tasks.svelte';

type Sort = NonNullable<WorklistQuery['sort']>;

export class WorklistState {
  page = $state.raw<WorklistPage | null>(null);
  query = $state<{
    patient: string;
    modality: string;
    reviewState: ReviewState | '';
    sort: Sort;
    direction: 'asc' | 'desc';
    page: number;
    pageSize: number;
  }>({
    patient: '',
    modality: '',
    reviewState: '',
    sort: 'importedAt',
    direction: 'desc',
    page: 0,
    pageSize: 50,
  });
  openStudyId = $state<number | null>(null);
  series = $state.raw<SeriesSummary[]>([]);
  thumbnails = $state<Record<number, string | null>>({});
  importPath = $state('');
  importing = $state.raw<ImportProgress | null>(null);
  importJobId = $state<number | null>(null);
  report = $state.raw<ImportReport | null>(null);
  error = $state<ApiError | null>(null);
  loading = $state(false);
  uploadStatus = $state('');
  /** Load demo studies is writing the phantoms (before its import job exists). */
  demoLoading = $state(false);
  /** The report on screen is of Load demo studies. */
  reportIsDemo = $state(false);
  private demoJobId: number | null = null;
  private started = false;

  /** Subscribes once; every return to the worklist re-reads the page, since drafts and labels saved meanwhile raise no event. */
  start(): void {
    if (this.started) {
      if (this.openStudyId !== null) void this.loadSeries(this.openStudyId);
      return void this.refresh();
    }
    this.started = true;
    api.on('onDidChangeStudies', () => {
      void this.refresh();
      if (this.openStudyId !== null) void this.loadSeries(this.openStudyId);
    });
    api.on('onDidImportProgress', (p) => {
      if (p.jobId === this.importJobId) this.importing = p;
    });
    api.on('onDidChangeJob', (job) => {
      if (job.id === this.importJobId && ['done', 'failed', 'cancelled'].includes(job.status)) void this.finishImport(job.id);
    });
    void this.refresh();
  }

  /** Numbers each page request: an answer to an older one (a sort clicked since) is dropped, not drawn over the newer. */
  private pageRequest = 0;
  private seriesRequest = 0;

  async refresh(): Promise<void> {
    this.loading = true;
    const request = ++this.pageRequest;
    const q = this.query;
    const result = await api.worklist.list({
      page: q.page,
      pageSize: q.pageSize,
      sort: q.sort,
      direction: q.direction,
      ...(q.patient.trim() ? { patient: q.patient.trim() } : {}),
      ...(q.modality.trim() ? { modality: q.modality.trim() } : {}),
      ...(q.reviewState ? { reviewState: q.reviewState } : {}),
    });
    if (request !== this.pageRequest) return;
    this.loading = false;
    if (!result.ok) return void (this.error = result.error);
    this.page = result.value;
    for (const row of result.value.rows) if (row.thumbnailSeriesId !== null) this.loadThumbnail(row.thumbnailSeriesId);
  }

  private loadThumbnail(seriesId: number): void {
    if (seriesId in this.thumbnails) return;
    this.thumbnails[seriesId] = null; // asked once: null until it comes (or if it cannot be made)
    void api.worklist.thumbnail({ seriesId }).then((t) => (this.thumbnails[seriesId] = t.ok ? t.value : null));
  }

  sortBy(sort: Sort): void {
    if (this.query.sort === sort) this.query.direction = this.query.direction === 'asc' ? 'desc' : 'asc';
    else Object.assign(this.query, { sort, direction: sort === 'patientName' ? 'asc' : 'desc' });
    this.query.page = 0;
    void this.refresh();
  }

  goToPage(page: number): void {
    this.query.page = Math.max(0, page);
    void this.refresh();
  }

  async toggleStudy(studyId: number): Promise<void> {
    if (this.openStudyId === studyId) {
      this.openStudyId = null;
      return;
    }
    this.openStudyId = studyId;
    this.series = [];
    await this.loadSeries(studyId);
  }

  private async loadSeries(studyId: number): Promise<void> {
    const request = ++this.seriesRequest;
    const result = await api.worklist.series({ studyId });
    if (request !== this.seriesRequest || studyId !== this.openStudyId) return;
    if (!result.ok) return void (this.error = result.error);
    this.series = result.value;
    for (const s of result.value) this.loadThumbnail(s.seriesId);
  }

  async startImport(paths: string[]): Promise<void> {
    const clean = paths.map((p) => p.trim()).filter(Boolean);
    if (clean.length === 0) return;
    this.report = null;
    this.error = null;
    const result = await api.import.start({ paths: clean });
    if (!result.ok) return void (this.error = result.error);
    this.importJobId = result.value.jobId;
    this.importing = null;
  }

  /** Headless drag-and-drop: upload the dropped files into a staging batch, then import it. */
  async importDropped(files: File[]): Promise<void> {
    if (files.length === 0) return;
    this.report = null;
    this.error = null;
    const batch = `drop-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 8)}`;
    this.importing = null;
    // Loose files go into one folder named after the first of them: the study of a dropped
    // photograph is named after its folder, so it reads "knee-us", not the batch id.
    const folder = files[0]!.name.replace(/\.[^.]*$/, '').replace(/[\\/]/g, '_') || 'dropped';
    for (const [i, file] of files.entries()) {
      this.uploadStatus = `Uploading ${i + 1} of ${files.length}: ${file.name}`;
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || `${folder}/${file.name}`;
      const error = await stageFile(batch, relative.replace(/^\/+/, ''), file);
      if (error) {
        this.uploadStatus = '';
        return void (this.error = error);
      }
    }
    this.uploadStatus = '';
    const result = await api.import.startStaged({ batch });
    if (!result.ok) return void (this.error = result.error);
    this.importJobId = result.value.jobId;
  }

  async loadDemo(): Promise<void> {
    if (this.demoLoading || this.importJobId !== null) return;
    this.report = null;
    this.error = null;
    this.demoLoading = true; // the phantoms take seconds to write before the import starts
    const result = await api.demo.load({});
    this.demoLoading = false;
    if (!result.ok) return void (this.error = result.error);
    this.importJobId = this.demoJobId = result.value.jobId;
    this.importing = null;
  }

  async segment(seriesId: number): Promise<void> {
    // A series outside the active model's domain is segmented only after the reader confirms it
    // (its card's "Segment on request…"), never by the plain button.
    const item = await api.review.item({ seriesId, taskId: currentTaskId() });
    if (item.ok && item.value?.state === 'outside-domain') {
      this.error = {
        code: 'invalid-input',
        message: 'This series is outside the model’s domain: use “Segment on request…” on its card, which asks you to confirm.',
      };
      return;
    }
    const result = await api.inference.segmentSeries({ seriesId, taskId: currentTaskId() });
    if (!result.ok) this.error = result.error;
  }

  async cancelImport(): Promise<void> {
    if (this.importJobId !== null) await api.jobs.cancel({ id: this.importJobId });
  }

  private async finishImport(jobId: number): Promise<void> {
    const result = await api.import.report({ jobId, limit: 500 });
    this.reportIsDemo = jobId === this.demoJobId;
    if (result.ok) this.report = result.value;
    this.importJobId = null;
    this.importing = null;
    await this.refresh();
  }
}

export const worklist = new WorklistState();

/**
 * Uploads one dropped file in chunks of STAGE_CHUNK_BYTES, read from the file as they are sent:
 * neither the page nor the server ever holds a whole large file. Returns the error, if any.
 */
async function stageFile(batch: string, path: string, file: File): Promise<ApiError | null> {
  let offset = 0;
  do {
    const end = Math.min(offset + STAGE_CHUNK_BYTES, file.size);
    const data = new Uint8Array(await file.slice(offset, end).arrayBuffer());
    const staged = await api.import.stage({ batch, path, offset, data, last: end === file.size });
    if (!staged.ok) return staged.error;
    offset = end;
  } while (offset < file.size);
  return null;
}
