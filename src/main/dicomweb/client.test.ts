// The client's errors against a real HTTP server that misbehaves the ways a PACS can.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DicomwebClient } from './client';

describe('DicomwebClient errors', () => {
  let server: http.Server;
  let base: string;
  const seen: (string | undefined)[] = [];
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(req.headers.authorization);
      const status = Number(/\/status\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0);
      if (req.url?.includes('/hang/')) return; // never answers
      if (status) return void res.writeHead(status).end('nope');
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
});
