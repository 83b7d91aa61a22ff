// The headless transport as a browser or another local program meets it: real server process,
// real HTTP and WebSocket, real SQLite in a fresh data folder.
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { WIRE_CONTENT_TYPE, decodeWire, encodeWire } from '../../src/shared/contract/wire';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

describe('headless server', () => {
  const tmp = tempDir();
  let app: ServedApp;
  beforeAll(async () => {
    app = await serveApp(tmp.dir);
  });
  afterAll(async () => {
    await app?.stop();
    tmp.cleanup();
  });

  const api = (service: string, method: string, input: unknown, headers: Record<string, string> = {}) =>
    fetch(`${app.origin}/api/${service}/${method}`, {
      method: 'POST',
      headers: { 'Content-Type': WIRE_CONTENT_TYPE, ...headers },
      body: encodeWire({ input }),
    });
  const read = async <T>(res: Response): Promise<T> => {
    expect(res.headers.get('content-type')).toBe(WIRE_CONTENT_TYPE);
    return decodeWire(new Uint8Array(await res.arrayBuffer())) as T;
  };
  const auth = () => ({ Authorization: `Bearer ${app.token}` });

  it('prints a URL on 127.0.0.1 that carries a long random token', () => {
    expect(app.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{32}$/);
  });

  it('refuses the page, an asset, the API and a wrong token without the token', async () => {
    for (const path of ['/', '/index.html', '/assets/anything.js', '/favicon.ico']) {
      expect((await fetch(app.origin + path)).status, path).toBe(401);
    }
    expect((await api('system', 'getInfo', undefined)).status).toBe(401);
    expect((await fetch(`${app.origin}/?token=wrong`)).status).toBe(401);
    expect((await api('system', 'getInfo', undefined, { Authorization: 'Bearer nope' })).status).toBe(401);
  });

  it('refuses a WebSocket upgrade without the token', async () => {
    const status = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${new URL(app.origin).port}/events`);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => resolve(101));
      ws.on('error', () => undefined);
    });
    expect(status).toBe(401);
  });

  it('trades the URL token for an HttpOnly SameSite=Strict cookie and drops it from the address', async () => {
    const res = await fetch(app.url, { redirect: 'manual' });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/');
    const cookie = res.headers.get('set-cookie') ?? '';
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    const page = await fetch(app.origin + '/', { headers: { Cookie: cookie.split(';')[0]! } });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    expect(await page.text()).toContain('<div id="app">');
  });

  it('refuses a foreign Origin or Host even with the token (CSRF, DNS rebinding)', async () => {
    expect((await api('settings', 'get', undefined, { ...auth(), Origin: 'http://evil.example' })).status).toBe(403);
    // fetch() may not set Host, so this one goes through node:http.
    const status = await new Promise<number>((resolve, reject) => {
      const req = http.get(app.origin + '/', { headers: { ...auth(), Host: 'evil.example' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
    });
    expect(status).toBe(403);
  });

  it('answers a malformed URL with 400 and keeps serving', async () => {
    expect((await fetch(`${app.origin}/%E0%A4%A`, { headers: auth() })).status).toBe(400);
    expect((await api('settings%E0%A4%A', 'get', undefined, auth())).status).toBe(400);
    expect((await api('settings', 'get', undefined, auth())).status).toBe(200);
  });

  it('validates every request against the contract', async () => {
    const res = await api('settings', 'update', { ttaFlips: 'many' }, auth());
    const body = await read<{ ok: boolean; error: { code: string } }>(res);
    expect(body.ok).toBe(false);
    expect(body.error.code).toBe('invalid-input');
    const unknown = await read<{ error: { code: string } }>(await api('settings', 'dropTables', undefined, auth()));
    expect(unknown.error.code).toBe('not-found');
    // Only the non-simple MessagePack type: a cross-site form or simple fetch (text/plain, or
    // JSON, which this API no longer takes) is refused before anything runs.
    expect((await fetch(`${app.origin}/api/settings/get`, { method: 'POST', headers: auth(), body: '{}' })).status).toBe(415);
    for (const type of [
      'text/plain',
      'application/x-www-form-urlencoded',
      'multipart/form-data; boundary=x',
      'application/json',
    ]) {
      const res = await fetch(`${app.origin}/api/settings/get`, {
        method: 'POST',
        headers: { ...auth(), 'Content-Type': type },
        body: encodeWire({}),
      });
      expect(res.status, type).toBe(415);
    }
    const garbage = await fetch(`${app.origin}/api/settings/get`, {
      method: 'POST',
      headers: { ...auth(), 'Content-Type': WIRE_CONTENT_TYPE },
      body: Uint8Array.of(0xc1),
    });
    expect(garbage.status).toBe(400);
    expect(await read<{ error: { code: string } }>(garbage)).toMatchObject({ ok: false, error: { code: 'invalid-input' } });
  });

  it('serves live backend data and pushes events over an authorised WebSocket', async () => {
    const info = await read<{ ok: true; value: { dataDir: string; transport: string } }>(
      await api('system', 'getInfo', undefined, auth()),
    );
    expect(info.value.dataDir).toBe(tmp.dir);
    expect(info.value.transport).toBe('http');
    const ws = new WebSocket(`ws://127.0.0.1:${new URL(app.origin).port}/events`, {
      headers: { Authorization: `Bearer ${app.token}`, Origin: app.origin },
    });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const event = new Promise<{ event: string; payload: { userName: string } }>((resolve) =>
      ws.once('message', (d, isBinary) => {
        expect(isBinary).toBe(true);
        resolve(decodeWire(d as Buffer) as { event: string; payload: { userName: string } });
      }),
    );
    await api('settings', 'update', { userName: 'Dr. Events' }, auth());
    const got = await event;
    ws.close();
    expect(got.event).toBe('onDidChangeSettings');
    expect(got.payload.userName).toBe('Dr. Events');
  });
});
