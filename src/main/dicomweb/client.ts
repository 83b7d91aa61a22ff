// A DICOMweb client (PS3.18): QIDO-RS search, WADO-RS retrieve of instances, STOW-RS store,
// with none / basic / bearer authentication and errors a radiologist can act on.
import type { z } from 'zod';
import type { PacsSeries, PacsStudy, dicomwebMethods } from '../../shared/contract/dicomweb';
import { ServiceError } from '../../shared/result';
import { parseMultipart, multipartBody } from './multipart';

export type DicomwebAuth =
  { kind: 'none' } | { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };

export interface DicomwebEndpoint {
  /** Base URL of the DICOMweb service, e.g. http://pacs:8042/dicom-web */
  url: string;
  auth: DicomwebAuth;
  /** Per-request limit, ms (default 30 s). */
  timeoutMs?: number;
}

/** A DICOM JSON data set (PS3.18 F.2): tag → { vr, Value }. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] }>;

/** QIDO-RS study query keys (PS3.18 10.6): the service's search input, plus a study UID. */
export type StudyQuery = Omit<z.input<typeof dicomwebMethods.searchStudies>, 'endpointId'> & { studyInstanceUid?: string };

export class DicomwebClient {
  constructor(private readonly endpoint: DicomwebEndpoint) {}

  /** QIDO-RS: studies matching the query (PS3.18 10.6). */
  async searchStudies(q: StudyQuery, signal?: AbortSignal): Promise<PacsStudy[]> {
    const params = new URLSearchParams();
    if (q.patientName) params.set('PatientName', q.patientName);
    if (q.patientId) params.set('PatientID', q.patientId);
    if (q.studyDate) params.set('StudyDate', q.studyDate);
    if (q.modality) params.set('ModalitiesInStudy', q.modality);
    if (q.accessionNumber) params.set('AccessionNumber', q.accessionNumber);
    if (q.studyInstanceUid) params.set('StudyInstanceUID', q.studyInstanceUid);
    params.set('limit', String(q.limit ?? 100));
    for (const field of ['00081030', '00080061', '00201206', '00100010', '00100020', '00080050'])
      params.append('includefield', field);
    const rows = await this.json(`studies?${params}`, signal);
    return rows.map((r) => ({
      studyInstanceUid: text(r, '0020000D'),
      patientName: personName(r, '00100010'),
      patientId: text(r, '00100020'),
      studyDate: text(r, '00080020'),
      studyDescription: text(r, '00081030'),
      accessionNumber: text(r, '00080050'),
      modalities: (r['00080061']?.Value ?? []).map(String),
      numberOfSeries: number(r, '00201206'),
    }));
  }

  /** QIDO-RS: the series of a study. */
  async searchSeries(studyUid: string, signal?: AbortSignal): Promise<PacsSeries[]> {
    const rows = await this.json(`studies/${uid(studyUid)}/series?includefield=0008103E&includefield=00201209`, signal);
    return rows.map((r) => ({
      seriesInstanceUid: text(r, '0020000E'),
      modality: text(r, '00080060'),
      seriesNumber: number(r, '00200011'),
      seriesDescription: text(r, '0008103E'),
      numberOfInstances: number(r, '00201209'),
    }));
  }

  /** QIDO-RS: SOP Instance UIDs of a series. */
  async searchInstances(studyUid: string, seriesUid: string, signal?: AbortSignal): Promise<string[]> {
    const rows = await this.json(`studies/${uid(studyUid)}/series/${uid(seriesUid)}/instances`, signal);
    return rows.map((r) => text(r, '00080018'));
  }

  /**
   * QIDO-RS: every instance of a modality on the PACS (PS3.18 10.6, all-instances level), read
   * page by page (`limit`/`offset`, 100 a page) so a server's own result limit drops none.
   */
  async searchInstancesOfModality(
    modality: string,
    signal?: AbortSignal,
  ): Promise<{ studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string }[]> {
    const out: { studyInstanceUid: string; seriesInstanceUid: string; sopInstanceUid: string }[] = [];
    const seen = new Set<string>();
    const page = 100;
    for (let offset = 0; ; offset += page) {
      const params = new URLSearchParams({ Modality: modality, limit: String(page), offset: String(offset) });
      for (const field of ['0020000D', '0020000E']) params.append('includefield', field);
      const rows = await this.json(`instances?${params}`, signal);
      const before = out.length;
      for (const r of rows) {
        const sopInstanceUid = text(r, '00080018');
        if (seen.has(sopInstanceUid)) continue;
        seen.add(sopInstanceUid);
        out.push({ studyInstanceUid: text(r, '0020000D'), seriesInstanceUid: text(r, '0020000E'), sopInstanceUid });
      }
      // A server that ignores `offset` sends the first page again: stop rather than loop.
      if (rows.length < page || out.length === before) return out;
    }
  }

  /** WADO-RS: one instance as Part-10 bytes (PS3.18 10.4). */
  async retrieveInstance(studyUid: string, seriesUid: string, sopUid: string, signal?: AbortSignal): Promise<Uint8Array> {
    const response = await this.request(`studies/${uid(studyUid)}/series/${uid(seriesUid)}/instances/${uid(sopUid)}`, {
      headers: { Accept: 'multipart/related; type="application/dicom"; transfer-syntax=*' },
      signal,
    });
    const body = new Uint8Array(await this.read(response));
    const parts = parseMultipart(body, response.headers.get('content-type') ?? '');
    if (parts.length !== 1) throw new ServiceError('corrupt', `the PACS sent ${parts.length} parts for one instance`);
    return parts[0]!;
  }

  /** STOW-RS: stores Part-10 files (PS3.18 10.5); returns the SOP Instance UIDs the PACS kept. */
  async store(files: Uint8Array[], signal?: AbortSignal): Promise<{ stored: number; failed: number }> {
    const { body, contentType } = multipartBody(files, 'application/dicom');
    const response = await this.request('studies', {
      method: 'POST',
      headers: { 'Content-Type': contentType, Accept: 'application/dicom+json' },
      body: body as Uint8Array<ArrayBuffer>,
      signal,
    });
    const json = (await this.parseJson(response)) as DicomJson | DicomJson[] | null;
    const result = Array.isArray(json) ? json[0] : json;
    const stored = result?.['00081199']?.Value?.length ?? 0;
    const failed = result?.['00081198']?.Value?.length ?? 0;
    if (failed > 0 || stored < files.length)
      throw new ServiceError('unavailable', `the PACS stored ${stored} of ${files.length} objects and refused ${failed}`);
    return { stored, failed };
  }

  private async json(path: string, signal?: AbortSignal): Promise<DicomJson[]> {
    const response = await this.request(path, { headers: { Accept: 'application/dicom+json' }, signal });
    if (response.status === 204) return [];
    const json = await this.parseJson(response);
    if (!Array.isArray(json))
      throw new ServiceError('corrupt', 'the PACS answered a search with something other than a DICOM JSON list');
    return json as DicomJson[];
  }

  private async parseJson(response: Response): Promise<unknown> {
    const body = decoderFor(response.headers.get('content-type')).decode(await this.read(response));
    if (!body.trim()) return null;
    try {
      return JSON.parse(body);
    } catch {
      throw new ServiceError('corrupt', 'the PACS sent a reply that is not JSON');
    }
  }

  private async read(response: Response): Promise<ArrayBuffer> {
    try {
      return await response.arrayBuffer();
    } catch (e) {
      throw this.networkError(e);
    }
  }

  private async request(path: string, init: RequestInit & { headers: Record<string, string> }): Promise<Response> {
    const timeout = this.endpoint.timeoutMs ?? 30_000;
    const signals = [AbortSignal.timeout(timeout), ...(init.signal ? [init.signal] : [])];
    const url = new URL(path, this.endpoint.url.endsWith('/') ? this.endpoint.url : this.endpoint.url + '/');
    let response: Response;
    try {
      response = await fetch(url, {
        ...init,
        headers: { ...init.headers, ...authHeader(this.endpoint.auth) },
        signal: AbortSignal.any(signals),
      });
    } catch (e) {
      throw this.networkError(e, init.signal ?? undefined);
    }
    if (response.ok) return response;
    await response.arrayBuffer().catch(() => undefined);
    const host = url.host;
    if (response.status === 401)
      throw new ServiceError(
        'unauthorized',
        `the PACS at ${host} refused the user name, password or token (HTTP 401): check the credentials in Settings → PACS`,
      );
    if (response.status === 403)
      throw new ServiceError('unauthorized', `the PACS at ${host} does not allow this account to do that (HTTP 403)`);
    if (response.status === 404)
      throw new ServiceError('not-found', `the PACS at ${host} has no ${url.pathname} (HTTP 404): check the DICOMweb URL`);
    if (response.status >= 500)
      throw new ServiceError(
        'unavailable',
        `the PACS at ${host} reported an internal error (HTTP ${response.status}); try again later or ask its administrator`,
      );
    throw new ServiceError('unavailable', `the PACS at ${host} refused the request (HTTP ${response.status})`);
  }

  private networkError(e: unknown, userSignal?: AbortSignal): ServiceError {
    if (e instanceof ServiceError) return e;
    const host = new URL(this.endpoint.url).host;
    if (userSignal?.aborted) return new ServiceError('cancelled', 'cancelled');
    const name = (e as { name?: string }).name;
    if (name === 'TimeoutError' || name === 'AbortError')
      return new ServiceError(
        'unavailable',
        `the PACS at ${host} did not answer within ${describeMs(this.endpoint.timeoutMs ?? 30_000)}`,
      );
    const code = (e as { cause?: { code?: string } }).cause?.code ?? '';
    if (['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'EAI_AGAIN'].includes(code))
      return new ServiceError('unavailable', `cannot reach the PACS at ${host} (${code}): is it running, and is the URL right?`);
    return new ServiceError('unavailable', `the connection to the PACS at ${host} broke off (${code || (e as Error).message})`);
  }
}

function describeMs(ms: number): string {
  return ms >= 1000 ? `${Math.round(ms / 1000)} s` : `${ms} ms`;
}

function authHeader(auth: DicomwebAuth): Record<string, string> {
  switch (auth.kind) {
    case 'none':
      return {};
    case 'basic':
      return { Authorization: `Basic ${Buffer.from(`${auth.username}:${auth.password}`).toString('base64')}` };
    case 'bearer':
      return { Authorization: `Bearer ${auth.token}` };
  }
}

function uid(value: string): string {
  if (!/^[0-9.]{1,64}$/.test(value)) throw new ServiceError('invalid-input', `"${value}" is not a DICOM UID`);
  return value;
}

function text(r: DicomJson, tag: string): string {
  const v = r[tag]?.Value?.[0];
  return typeof v === 'string' ? v : typeof v === 'number' ? String(v) : '';
}

function number(r: DicomJson, tag: string): number | null {
  const v = Number(r[tag]?.Value?.[0]);
  return Number.isFinite(v) ? v : null;
}

/**
 * A Person Name as the import stores it: the alphabetic, ideographic and phonetic component
 * groups joined with "=", empty trailing groups dropped (values.ts personName). The DICOM JSON
 * model gives an object of the three groups, any of them absent (PS3.18 F.2.2); some servers
 * send the PN string itself, which is already in that form.
 */
function personName(r: DicomJson, tag: string): string {
  const v = r[tag]?.Value?.[0];
  if (typeof v === 'string') return v.trim();
  if (!v || typeof v !== 'object') return '';
  const { Alphabetic, Ideographic, Phonetic } = v as { Alphabetic?: unknown; Ideographic?: unknown; Phonetic?: unknown };
  const group = (g: unknown) => (typeof g === 'string' ? g.trim() : '');
  return [group(Alphabetic), group(Ideographic), group(Phonetic)].join('=').replace(/=+$/, '');
}

/**
 * The decoder for a reply's body: the charset its Content-Type declares (a WHATWG label, as
 * fetch reads it: ISO-8859-1 is read as windows-1252, its superset), else UTF-8, which DICOM
 * JSON is by default (PS3.18 F.2). A label no decoder knows is refused rather than guessed.
 */
function decoderFor(contentType: string | null): TextDecoder {
  const label = /;\s*charset=(?:"([^"]*)"|([^\s;]+))/i.exec(contentType ?? '');
  const charset = (label?.[1] ?? label?.[2] ?? '').trim();
  if (!charset) return new TextDecoder('utf-8');
  try {
    return new TextDecoder(charset);
  } catch {
    throw new ServiceError(
      'unsupported',
      `the PACS answered in the character set "${charset}", which the workstation cannot decode`,
    );
  }
}
