// What one client holding the token can make the headless server hold (issue 23 item 5): a body
// announced larger than one API call may be is refused with 413 and a reason before it is read;
// one that grows past the limit without announcing its size likewise; bodies are read a few at a
// time and a client that opens more than the server will queue is told to come back (503).
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STAGE_CHUNK_BYTES } from '../../src/shared/contract';
import { WIRE_CONTENT_TYPE } from '../../src/shared/contract/wire';
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

  it('refuses a chunked body that grows past the limit with 413', async () => {
    const size = STAGE_CHUNK_BYTES + 512 * 1024;
    const r = post('Transfer-Encoding: chunked\r\n', Buffer.concat([Buffer.from(`${size.toString(16)}\r\n`), Buffer.alloc(size, 0x41), Buffer.from('\r\n0\r\n\r\n')]));
    const { status, text } = await r.answer;
    r.socket.destroy();
    expect(status).toBe(413);
    expect(text).toMatch(/at most 4\.1 MiB/);
  });

  it('reads a few bodies at a time, queues some and tells the rest to come back (503)', async () => {
    // Stalled uploads: each announces 100 bytes and sends 10.
    const stalled = Array.from({ length: BODIES_AT_ONCE + BODIES_WAITING }, () => post('Content-Length: 100\r\n', Buffer.alloc(10)));
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
});
