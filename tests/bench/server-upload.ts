// Benchmark: what one client holding the headless server's token can make it hold (issue 23
// item 5). Against the built server (`node bin/lgms.js serve`), on loopback only, bounded:
//  A. N requests to /api/import/stage announcing Content-Length: 2 GB, each sending 4 MiB and
//     then holding its connection for --hold seconds without sending more;
//  B. N requests announcing a body of an allowed size (one staged chunk and its envelope), each
//     sending all but one byte of it and then holding the connection the same way;
//  C. as B through the streamed upload (PUT /upload/import/stage, raw bytes; --no-raw skips it,
//     for a build that has none).
// Reported per scenario: the server's resident memory before (VmRSS), its peak during (VmHWM,
// reset just before), its resident memory --hold seconds after the clients closed, and the
// answers the clients got (HTTP status, or none / reset).
// Run: npm run build && npx tsx tests/bench/server-upload.ts [--requests 150] [--hold 5]
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { STAGE_CHUNK_BYTES } from '../../src/shared/contract';
import { STAGE_UPLOAD_PATH, WIRE_CONTENT_TYPE } from '../../src/shared/contract/wire';
import { serveApp } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const args = process.argv.slice(2);
const num = (name: string, fallback: number) =>
  args.includes(`--${name}`) ? Number(args[args.indexOf(`--${name}`) + 1]) : fallback;
const REQUESTS = num('requests', 150);
const HOLD_S = num('hold', 5);
const MB = 1024 * 1024;

function status(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, hwm: kb('VmHWM') / 1024 };
}

/** One raw request: headers announcing `announced` bytes, then `send` bytes, then silence until `holdMs`. */
function upload(port: number, token: string, announced: number, send: number, holdMs: number, raw: boolean): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    let settled = false;
    const done = (what: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      resolve(what);
    };
    socket.on('data', (d: Buffer) => {
      answer += d.toString('latin1');
      const m = /^HTTP\/1\.1 (\d{3})/.exec(answer);
      if (m) done(m[1]!);
    });
    socket.on('error', () => done('reset'));
    socket.on('close', () => done(answer ? 'closed' : 'closed without an answer'));
    socket.on('connect', async () => {
      socket.write(
        (raw
          ? `PUT ${STAGE_UPLOAD_PATH}?batch=bench-${Math.random().toString(36).slice(2, 10)}&path=f&offset=0&last=1 HTTP/1.1\r\n` +
            `Content-Type: application/octet-stream\r\n`
          : `POST /api/import/stage HTTP/1.1\r\nContent-Type: ${WIRE_CONTENT_TYPE}\r\n`) +
          `Host: 127.0.0.1:${port}\r\nAuthorization: Bearer ${token}\r\nContent-Length: ${announced}\r\n\r\n`,
      );
      const block = Buffer.alloc(64 * 1024, 0x41);
      for (let sent = 0; sent < send && !settled; sent += block.length) {
        const piece = sent + block.length <= send ? block : block.subarray(0, send - sent);
        if (!socket.write(piece)) await new Promise((r) => socket.once('drain', r).once('close', r));
      }
    });
    setTimeout(() => done(answer ? 'closed' : 'no answer'), holdMs);
  });
}

/** Runs one scenario against a fresh server of its own. */
async function scenario(name: string, announced: number, send: number, raw = false): Promise<void> {
  const tmp = tempDir('lgms-bench-upload-');
  const app = await serveApp(tmp.dir);
  try {
    await measure(name, app.child.pid!, Number(new URL(app.origin).port), app.token, announced, send, raw);
  } finally {
    await app.stop();
    tmp.cleanup();
  }
}

async function measure(
  name: string,
  pid: number,
  port: number,
  token: string,
  announced: number,
  send: number,
  raw: boolean,
): Promise<void> {
  await new Promise((r) => setTimeout(r, 1000));
  const before = status(pid).rss;
  writeFileSync(`/proc/${pid}/clear_refs`, '5'); // resets VmHWM to the current RSS
  const answers = await Promise.all(
    Array.from({ length: REQUESTS }, () => upload(port, token, announced, send, HOLD_S * 1000, raw)),
  );
  const peak = status(pid).hwm;
  await new Promise((r) => setTimeout(r, HOLD_S * 1000));
  const after = status(pid).rss;
  const counts: Record<string, number> = {};
  for (const a of answers) counts[a] = (counts[a] ?? 0) + 1;
  console.log(
    `${name}: ${REQUESTS} requests announcing ${(announced / MB).toFixed(1)} MiB, sending ${(send / MB).toFixed(1)} MiB each — ` +
      `server RSS before ${before.toFixed(0)} MiB, peak ${peak.toFixed(0)} MiB, ${HOLD_S} s after ${after.toFixed(0)} MiB; answers ${JSON.stringify(counts)}`,
  );
}

await scenario('A (2 GB announced)', 2_000_000_000, 4 * MB);
await scenario('B (allowed size, last byte never sent)', STAGE_CHUNK_BYTES + 1024, STAGE_CHUNK_BYTES + 1023);
if (!process.argv.includes('--no-raw'))
  await scenario('C (streamed upload PUT, allowed size, last byte never sent)', STAGE_CHUNK_BYTES, STAGE_CHUNK_BYTES - 1, true);
console.log(`load: ${readFileSync('/proc/loadavg', 'utf8').trim()}`);
