// Worklist state: the current page of studies, the query, the open study's series, and the
// running import with its report. Refreshes itself when the backend says studies changed.
import type { ImportProgress, ImportReport, ReviewState, SeriesSummary, WorklistPage, WorklistQuery } from '../../../shared/contract';
import type { ApiError } from '../../../shared/result';
import { api } from '../../lib/api';

type Sort = NonNullable<WorklistQuery['sort']>;

export class WorklistState {
  page = $state.raw<WorklistPage | null>(null);
  query = $state<{ patient: string; modality: string; reviewState: ReviewState | ''; sort: Sort; direction: 'asc' | 'desc'; page: number; pageSize: number }>({
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
      ...(q.reviewState ? { reviewState: q.reviewState } : {}),
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
      const data = await toBase64(file);
      const relative = (file as File & { webkitRelativePath?: string }).webkitRelativePath || `${String(i).padStart(5, '0')}-${file.name}`;
      const staged = await api.import.stage({ batch, path: relative.replace(/^\/+/, ''), data });
      if (!staged.ok) {
        this.uploadStatus = '';
        return void (this.error = staged.error);
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

async function toBase64(file: File): Promise<string> {
  const bytes = new Uint8Array(await file.arrayBuffer());
  let binary = '';
  for (let i = 0; i < bytes.length; i += 0x8000) binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(binary);
}
