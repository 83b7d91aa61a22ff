// The client against a real HTTP server that misbehaves, or answers in forms, the ways a PACS can.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomwebClient } from './client';

describe('DicomwebClient against a real HTTP server', () => {
  let server: http.Server;
  let base: string;
  const seen: (string | undefined)[] = [];
  /** Canned QIDO-RS replies by the first path segment of the endpoint URL. */
  const replies = new Map<string, { type: string; body: Buffer }>();
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      if (req.url?.includes('/hang/')) return; // never answers
      if (status) return void res.writeHead(status).end('nope');
      const reply = replies.get(new URL(req.url ?? '/', 'http://x').pathname.split('/')[1] ?? '');
      if (reply) return void res.writeHead(200, { 'Content-Type': reply.type }).end(reply.body);
      res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end('[]');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  const client = (path: string, timeoutMs = 5000) =>
    new DicomwebClient({ url: `${base}${path}`, auth: { kind: 'bearer', token: 't0k' }, timeoutMs });

  it('sends the bearer token', async () => {
    expect(await client('/ok').searchStudies({})).toEqual([]);
    expect(seen.at(-1)).toBe('Bearer t0k');
  });

  it.each([
    [401, 'unauthorized', /refused the user name, password or token \(HTTP 401\)/],
    [403, 'unauthorized', /does not allow this account .* \(HTTP 403\)/],
    [404, 'not-found', /check the DICOMweb URL/],
    [500, 'unavailable', /reported an internal error \(HTTP 500\)/],
    [503, 'unavailable', /reported an internal error \(HTTP 503\)/],
  ])('turns HTTP %i into a %s error a reader understands', async (status, code, message) => {
    await expect(client(`/status/${status}`).searchStudies({})).rejects.toMatchObject({
      code,
      message: expect.stringMatching(message),
    });
  });

  it('gives up on a server that does not answer, saying how long it waited', async () => {
    await expect(client('/hang', 300).searchStudies({})).rejects.toMatchObject({
      code: 'unavailable',
      message: expect.stringMatching(/did not answer within 300 ms/),
    });
  });

  it('reports a cancel as cancelled, not as a PACS failure', async () => {
    const controller = new AbortController();
    const pending = client('/hang').searchStudies({}, controller.signal);
    controller.abort();
    await expect(pending).rejects.toMatchObject({ code: 'cancelled' });
  });

  // Issue 23 item 3: every Person Name form of the DICOM JSON model (PS3.18 F.2.2), and the
  // character set a reply declares.
  it('reads every Person Name form: components object, a plain string, only ideographic or phonetic', async () => {
    const study = (uid: string, name: unknown) => ({
      '0020000D': { vr: 'UI', Value: [uid] },
      '00100010': { vr: 'PN', Value: [name] },
    });
    const body = JSON.stringify([
      study('1.1', { Alphabetic: 'Doe^John' }),
      study('1.2', 'Roe^Jane'),
      study('1.3', { Ideographic: '山田^太郎' }),
      study('1.4', { Phonetic: 'やまだ^たろう' }),
      study('1.5', { Alphabetic: 'Yamada^Tarou', Ideographic: '山田^太郎', Phonetic: 'やまだ^たろう' }),
      { '0020000D': { vr: 'UI', Value: ['1.6'] }, '00100010': { vr: 'PN' } },
    ]);
    replies.set('pn', { type: 'application/dicom+json', body: Buffer.from(body) });
    const studies = await client('/pn').searchStudies({});
    expect(studies.map((s) => s.patientName)).toEqual([
      'Doe^John',
      'Roe^Jane',
      '=山田^太郎',
      '==やまだ^たろう',
      'Yamada^Tarou=山田^太郎=やまだ^たろう',
      '',
    ]);
  });

  it('decodes a reply in the character set its Content-Type declares', async () => {
    const body = JSON.stringify([
      { '00100010': { vr: 'PN', Value: [{ Alphabetic: 'Müller^Zoë' }] }, '00081030': { vr: 'LO', Value: ['Thorax ä'] } },
    ]);
    replies.set('latin1', { type: 'application/dicom+json; charset=ISO-8859-1', body: Buffer.from(body, 'latin1') });
    replies.set('utf8', { type: 'application/dicom+json; charset="utf-8"', body: Buffer.from(body, 'utf8') });
    replies.set('klingon', { type: 'application/dicom+json; charset=x-klingon', body: Buffer.from(body, 'utf8') });
    for (const path of ['/latin1', '/utf8']) {
      const [s] = await client(path).searchStudies({});
      expect(s).toMatchObject({ patientName: 'Müller^Zoë', studyDescription: 'Thorax ä' });
    }
    await expect(client('/klingon').searchStudies({})).rejects.toMatchObject({
      code: 'unsupported',
      message: expect.stringMatching(/character set "x-klingon", which the workstation cannot decode/),
    });
  });
});

describe('QIDO-RS of every instance of a modality, page by page', () => {
  let server: http.Server;
  let base: string;
  const asked: string[] = [];
  const row = (n: number) => ({
    '0020000D': { vr: 'UI', Value: ['1.2.1'] },
    '0020000E': { vr: 'UI', Value: ['1.2.2'] },
    '00080018': { vr: 'UI', Value: [`1.2.3.${n}`] },
  });
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      const url = new URL(req.url ?? '/', 'http://x');
      asked.push(`${url.pathname}?${url.searchParams}`);
      const offset = Number(url.searchParams.get('offset') ?? 0);
      const limit = Number(url.searchParams.get('limit') ?? 100);
      // 230 SEGs; the "stuck" server ignores offset and sends the first page every time.
      const from = url.pathname.startsWith('/stuck') ? 0 : offset;
      const rows = Array.from({ length: Math.max(0, Math.min(limit, 230 - from)) }, (_, i) => row(from + i));
      res.writeHead(200, { 'Content-Type': 'application/dicom+json' }).end(JSON.stringify(rows));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('reads every page until a short one, asking for Modality and the UIDs', async () => {
    const found = await new DicomwebClient({ url: `${base}/paged`, auth: { kind: 'none' } }).searchInstancesOfModality('SEG');
    expect(found).toHaveLength(230);
    expect(found[229]).toEqual({ studyInstanceUid: '1.2.1', seriesInstanceUid: '1.2.2', sopInstanceUid: '1.2.3.229' });
    expect(asked.filter((a) => a.startsWith('/paged/instances'))).toHaveLength(3);
    expect(asked[0]).toMatch(/Modality=SEG&limit=100&offset=0&includefield=0020000D&includefield=0020000E/);
  });

  it('stops on a server that ignores offset instead of asking for ever', async () => {
    const found = await new DicomwebClient({ url: `${base}/stuck`, auth: { kind: 'none' } }).searchInstancesOfModality('SEG');
    expect(found).toHaveLength(100);
    expect(asked.filter((a) => a.startsWith('/stuck/instances'))).toHaveLength(2);
  });
});
