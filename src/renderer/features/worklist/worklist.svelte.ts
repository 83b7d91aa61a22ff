// Worklist state: the current page of studies, the query, the open study's series, and the
// running import with its report. Refreshes itself when the backend says studies changed.
import { STAGE_CHUNK_BYTES, type ImportProgress, type ImportReport, type SeriesSummary, type WorklistPage, type WorklistQuery } from '../../../shared/contract';
import type { ApiError } from '../../../shared/result';
import { api } from '../../lib/api';

type Sort = NonNullable<WorklistQuery['sort']>;

export class WorklistState {
  page = $state.raw<WorklistPage | null>(null);
  query = $state<{ patient: string; modality: string; sort: Sort; direction: 'asc' | 'desc'; page: number; pageSize: number }>({
    patient: '',
    modality: '',
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
  private started = false;

  start(): void {
    if (this.started) return;
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

  async refresh(): Promise<void> {
    this.loading = true;
    const q = this.query;
    const result = await api.worklist.list({
      page: q.page,
      pageSize: q.pageSize,
      sort: q.sort,
      direction: q.direction,
      ...(q.patient.trim() ? { patient: q.patient.trim() } : {}),
      ...(q.modality.trim() ? { modality: q.modality.trim() } : {}),
    });
    this.loading = false;
    if (result.ok) this.page = result.value;
    else this.error = result.error;
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
    const result = await api.worklist.series({ studyId });
    if (!result.ok) return void (this.error = result.error);
    this.series = result.value;
    for (const s of result.value) {
      if (s.seriesId in this.thumbnails) continue;
      void api.worklist.thumbnail({ seriesId: s.seriesId }).then((t) => (this.thumbnails[s.seriesId] = t.ok ? t.value : null));
    }
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
    for (const [i, file] of files.entries()) {
      this.uploadStatus = `Uploading ${i + 1} of ${files.length}: ${file.name}`;
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || `${String(i).padStart(5, '0')}-${file.name}`;
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
    this.report = null;
    this.error = null;
    const result = await api.demo.load({});
    if (!result.ok) return void (this.error = result.error);
    this.importJobId = result.value.jobId;
    this.importing = null;
  }

  async segment(seriesId: number): Promise<void> {
    const result = await api.inference.segmentSeries({ seriesId });
    if (!result.ok) this.error = result.error;
  }

  async cancelImport(): Promise<void> {
    if (this.importJobId !== null) await api.jobs.cancel({ id: this.importJobId });
  }

  private async finishImport(jobId: number): Promise<void> {
    const result = await api.import.report({ jobId, limit: 500 });
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
