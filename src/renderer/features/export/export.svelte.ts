// The Export dialog's state: which series, which format, where; the export job's progress and
// outcome, followed through onDidChangeJob.
import type { ExportFormat, ExportResult, Job } from '../../../shared/contract';
import { api } from '../../lib/api';
import { currentTaskId } from '../../lib/tasks.svelte';

export const FORMAT_LABELS: Record<ExportFormat, string> = {
  seg: 'DICOM SEG (for the PACS and viewers)',
  nifti: 'NIfTI label map (.nii.gz)',
  png: 'PNG mask per slice',
  nnunet: 'nnU-Net v2 dataset (all labelled series)',
};

export class ExportState {
  seriesId = $state<number | null>(null);
  seriesName = $state('');
  format = $state<ExportFormat>('seg');
  outDir = $state('');
  fallBackToPredictions = $state(false);
  /** The task whose labels are written (their names, values and codes): the chosen task when the dialog opens. */
  taskId = $state(1);
  job = $state<Job | null>(null);
  error = $state<string | null>(null);

  constructor() {
    api.on('onDidChangeJob', (job) => {
      if (job.id === this.job?.id) this.job = job;
    });
  }

  open(seriesId: number, name: string): void {
    this.seriesId = seriesId;
    this.seriesName = name;
    this.taskId = currentTaskId();
    this.job = null;
    this.error = null;
  }

  close(): void {
    this.seriesId = null;
  }

  get running(): boolean {
    return this.job !== null && (this.job.status === 'queued' || this.job.status === 'running');
  }

  get result(): ExportResult | null {
    return this.job?.status === 'done' ? (this.job.result as ExportResult) : null;
  }

  async start(): Promise<void> {
    if (this.seriesId === null) return;
    this.error = null;
    const r = await api.export.start({
      seriesIds: this.format === 'nnunet' ? [] : [this.seriesId],
      format: this.format,
      outDir: this.outDir.trim(),
      fallBackToPredictions: this.fallBackToPredictions,
      taskId: this.taskId,
    });
    if (!r.ok) {
      this.error = r.error.message;
      return;
    }
    const job = await api.jobs.get({ id: r.value.jobId });
    if (job.ok) this.job = job.value;
  }

  async cancel(): Promise<void> {
    if (this.job) await api.jobs.cancel({ id: this.job.id });
  }
}

export const exporting = new ExportState();
