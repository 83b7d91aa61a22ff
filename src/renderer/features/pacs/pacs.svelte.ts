// PACS endpoints (as the backend lists them: secrets never come back) and the search/retrieve
// panel's state.
import type { Job, PacsEndpoint, PacsSeries, PacsStudy } from '../../../shared/contract';
import { api } from '../../lib/api';

export class PacsState {
  endpoints = $state<PacsEndpoint[]>([]);
  endpointId = $state<number | null>(null);
  query = $state({ patientName: '', patientId: '', studyDate: '', modality: '' });
  studies = $state<PacsStudy[]>([]);
  series = $state<Record<string, PacsSeries[]>>({});
  searching = $state(false);
  error = $state<string | null>(null);
  retrievals = $state<Record<string, Job>>({});

  constructor() {
    api.on('onDidChangeJob', (job) => {
      for (const [uid, j] of Object.entries(this.retrievals)) if (j.id === job.id) this.retrievals[uid] = job;
    });
  }

  async load(): Promise<void> {
    const r = await api.dicomweb.listEndpoints();
    if (r.ok) {
      this.endpoints = r.value;
      if (this.endpointId === null || !r.value.some((e) => e.id === this.endpointId)) this.endpointId = r.value[0]?.id ?? null;
    } else this.error = r.error.message;
  }

  async save(input: {
    id?: number;
    name: string;
    url: string;
    authKind: PacsEndpoint['authKind'];
    username: string;
    secret?: string;
  }): Promise<boolean> {
    const r = await api.dicomweb.saveEndpoint(input);
    this.error = r.ok ? null : r.error.message;
    await this.load();
    return r.ok;
  }

  async remove(id: number): Promise<void> {
    await api.dicomweb.removeEndpoint({ id });
    await this.load();
  }

  async search(): Promise<void> {
    if (this.endpointId === null) return;
    this.searching = true;
    this.error = null;
    const q = Object.fromEntries(
      Object.entries(this.query)
        .filter(([, v]) => v.trim() !== '')
        .map(([k, v]) => [k, v.trim()]),
    );
    const r = await api.dicomweb.searchStudies({ endpointId: this.endpointId, ...q });
    this.searching = false;
    if (r.ok) this.studies = r.value;
    else this.error = r.error.message;
  }

  async expand(studyUid: string): Promise<void> {
    if (this.endpointId === null || this.series[studyUid]) return;
    const r = await api.dicomweb.searchSeries({ endpointId: this.endpointId, studyUid });
    if (r.ok) this.series[studyUid] = r.value;
    else this.error = r.error.message;
  }

  async retrieve(studyUid: string, seriesUid: string): Promise<void> {
    if (this.endpointId === null) return;
    const r = await api.dicomweb.retrieveSeries({ endpointId: this.endpointId, studyUid, seriesUid });
    if (!r.ok) {
      this.error = r.error.message;
      return;
    }
    const job = await api.jobs.get({ id: r.value.jobId });
    if (job.ok) this.retrievals[seriesUid] = job.value;
  }

  async cancel(seriesUid: string): Promise<void> {
    const job = this.retrievals[seriesUid];
    if (job) await api.jobs.cancel({ id: job.id });
  }
}

export const pacs = new PacsState();
