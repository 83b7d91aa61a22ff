// What one client holding the token can make the headless server hold (issue 23 item 5): a body
// announced larger than one API call may be is refused with 413 and a reason before it is read;
// one that grows past the limit without announcing its size likewise; bodies are read a few at a
// time and a client that opens more than the server will queue is told to come back (503).
import { readFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_CHUNK_BYTES } from '../../src/shared/contract';
import { decodeWire, STAGE_UPLOAD_PATH, WIRE_CONTENT_TYPE } from '../../src/shared/contract/wire';
import { serveApp, type ServedApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

// The server's bounds (src/main/server/server.ts), restated: a test of the built server cannot import them.
const BODIES_AT_ONCE = 4;
const BODIES_WAITING = 64;

interface Raw {
  socket: net.Socket;
  /** The status line and body of the answer, once it comes (the connection may then close). */
  answer: Promise<{ status: number; text: string }>;
}

describe('headless server bounds', () => {
  const tmp = tempDir();
  let app: ServedApp;
  let port: number;
  beforeAll(async () => {
    app = await serveApp(tmp.dir);
    port = Number(new URL(app.origin).port);
  });
  afterAll(async () => {
    await app?.stop();
    tmp.cleanup();
  });

  /** A raw POST /api/import/stage with the given headers, sending `body` and then nothing more. */
  function post(headers: string, body: Buffer): Raw {
    const socket = net.connect(port, '127.0.0.1');
    let text = '';
    const answer = new Promise<{ status: number; text: string }>((resolve, reject) => {
      const done = () => {
        const m = /^HTTP\/1\.1 (\d{3})[^]*?\r\n\r\n([^]*)$/.exec(text);
        if (m) resolve({ status: Number(m[1]), text: m[2]! });
        else reject(new Error(`no HTTP answer: ${JSON.stringify(text.slice(0, 200))}`));
      };
      socket.on('data', (d: Buffer) => {
        text += d.toString('latin1');
        if (/\r\n\r\n[^]*\n$/.test(text)) done();
      });
      socket.on('close', done);
      socket.on('error', () => undefined); // the server may close while we still write: the answer is what counts
    });
    socket.on('connect', () => {
      socket.write(
        `POST /api/import/stage HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${app.token}\r\n` +
          `Content-Type: ${WIRE_CONTENT_TYPE}\r\n${headers}\r\n`,
      );
      socket.write(body);
    });
    answer.catch(() => undefined); // a stalled upload that is closed here gets no answer: only awaited ones count
    return { socket, answer };
  }

  it('refuses a body announced at 2 GB with 413 and a reason, before reading it', async () => {
    const r = post('Content-Length: 2000000000\r\n', Buffer.alloc(256 * 1024, 0x41));
    const { status, text } = await r.answer;
    r.socket.destroy();
    expect(status).toBe(413);
    expect(text).toMatch(/carries 1907\.3 MiB; an API call may carry at most 4\.1 MiB/);
  });

  it('lets a client that keeps writing its 2 GB body read the 413 (the connection is not reset under it)', async () => {
    const attempt = () =>
      new Promise<string>((resolve) => {
        const req = http.request(`${app.origin}/api/import/stage`, {
          method: 'POST',
          headers: { Authorization: `Bearer ${app.token}`, 'Content-Type': WIRE_CONTENT_TYPE, 'Content-Length': 2_000_000_000 },
        });
        req.on('response', (res) => {
          res.resume();
          req.destroy();
          resolve(String(res.statusCode));
        });
        req.on('error', (e) => resolve(`error ${(e as NodeJS.ErrnoException).code}`));
        // Written as fast as the server takes it, up to 64 MiB (bounded: the test never sends 2 GB).
        const block = Buffer.alloc(1 << 20);
        let sent = 0;
        const pump = () => {
          while (sent < 64 && req.write(block)) sent++;
          if (sent < 64) req.once('drain', pump);
        };
        pump();
      });
    const answers: string[] = [];
    for (let i = 0; i < 5; i++) answers.push(await attempt());
    expect(answers).toEqual(['413', '413', '413', '413', '413']);
  });

  it('refuses a chunked body that grows past the limit with 413', async () => {
    const size = STAGE_CHUNK_BYTES + 512 * 1024;
    const r = post(
      'Transfer-Encoding: chunked\r\n',
      Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x41), Buffer.from('\r\n0\r\n\r\n')]),
    );
    const { status, text } = await r.answer;
    r.socket.destroy();
    expect(status).toBe(413);
    expect(text).toMatch(/at most 4\.1 MiB/);
  });

  it('reads a few bodies at a time, queues some and tells the rest to come back (503)', async () => {
    // Stalled uploads: each announces 100 bytes and sends 10.
    const stalled = Array.from({ length: BODIES_AT_ONCE + BODIES_WAITING }, () =>
      post('Content-Length: 100\r\n', Buffer.alloc(10)),
    );
    await new Promise((r) => setTimeout(r, 1500));
    const extra = post('Content-Length: 100\r\n', Buffer.alloc(10));
    const { status, text } = await extra.answer;
    expect(status).toBe(503);
    expect(text).toMatch(/too many uploads at once/);
    for (const s of stalled) s.socket.destroy();
    extra.socket.destroy();
    // Their slots are free again: an ordinary call is served.
    await new Promise((r) => setTimeout(r, 300));
    const ok = await fetch(`${app.origin}/api/settings/get`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${app.token}`, 'Content-Type': WIRE_CONTENT_TYPE },
      body: new Uint8Array([0x80]),
    });
    expect(ok.status).toBe(200);
  }, 30_000);

  it('streams a dropped file to disk chunk by chunk (PUT, raw bytes) and refuses a chunk past the limit with 413', async () => {
    const put = (q: Record<string, string>, body: Uint8Array, headers: Record<string, string> = {}) =>
      fetch(`${app.origin}${STAGE_UPLOAD_PATH}?${new URLSearchParams(q)}`, {
        method: 'PUT',
        headers: { Authorization: `Bearer ${app.token}`, 'Content-Type': 'application/octet-stream', ...headers },
        body: body as Uint8Array<ArrayBuffer>,
      });
    const file = Uint8Array.from({ length: STAGE_CHUNK_BYTES + 1000 }, (_, i) => (i * 31) % 251);
    const first = await put(
      { batch: 'upload-0001', path: 'scan/IM1.dcm', offset: '0', last: '0' },
      file.subarray(0, STAGE_CHUNK_BYTES),
    );
    expect(decodeWire(new Uint8Array(await first.arrayBuffer()))).toEqual({ ok: true, value: { bytes: STAGE_CHUNK_BYTES } });
    const last = await put(
      { batch: 'upload-0001', path: 'scan/IM1.dcm', offset: String(STAGE_CHUNK_BYTES), last: '1' },
      file.subarray(STAGE_CHUNK_BYTES),
    );
    expect(decodeWire(new Uint8Array(await last.arrayBuffer()))).toEqual({ ok: true, value: { bytes: file.length } });
    expect(Buffer.compare(readFileSync(path.join(tmp.dir, 'staging', 'upload-0001', 'scan', 'IM1.dcm')), file)).toBe(0);
    // A chunk larger than the contract's is refused by its announced size, with the reason.
    const r = net.connect(port, '127.0.0.1');
    const answer = new Promise<string>((resolve) => {
      let text = '';
      r.on('data', (d: Buffer) => (text += d.toString('latin1')));
      r.on('close', () => resolve(text));
      r.on('error', () => undefined);
    });
    r.write(
      `PUT ${STAGE_UPLOAD_PATH}?batch=upload-0002&path=a&offset=0&last=1 HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nAuthorization: Bearer ${app.token}\r\n` +
        `Content-Type: application/octet-stream\r\nContent-Length: 2000000000\r\n\r\n`,
    );
    r.write(Buffer.alloc(64 * 1024));
    const text = await answer;
    expect(text).toMatch(/^HTTP\/1\.1 413/);
    expect(text).toMatch(/an upload may carry at most 4\.0 MiB/);
  });
});
