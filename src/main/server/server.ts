// The headless transport: the built renderer and the contract over HTTP + WebSocket, on
// loopback only, behind a random per-start token. Every request — page, asset, API call or
// WebSocket upgrade — without the token is refused, so another local user or a web page in the
// browser cannot read patient data through it. API bodies and events are MessagePack
// (src/shared/contract/wire.ts): bytes travel as bytes.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { importMethods, STAGE_CHUNK_BYTES } from '../../shared/contract';
import { STAGE_UPLOAD_PATH, WIRE_CONTENT_TYPE, decodeWire, encodeWire } from '../../shared/contract/wire';
import { fail, ServiceError } from '../../shared/result';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import type { Backend } from '../backend';

export const TOKEN_COOKIE = 'lgms_token';
// One staged chunk of a dropped file and its envelope: a file goes up in chunks, never whole.
export const MAX_BODY = STAGE_CHUNK_BYTES + 64 * 1024;
// What one client (even with the token) can make the server hold: bodies are read at most
// BODIES_AT_ONCE at a time (≤ 4 × 4.06 MiB), BODIES_WAITING more wait unread (their bytes stay in
// the kernel's socket buffers) and the rest are answered 503; a body that stops arriving for
// BODY_IDLE_MS is answered 408. Measured (docs/benchmarks.md, rel-a): 150 requests announcing
// 2 GB and sending 4 MiB each took the server from 178 to 662 MiB before these bounds.
export const BODIES_AT_ONCE = 4;
export const BODIES_WAITING = 64;
const BODY_IDLE_MS = 10_000;
/** `import.stage`'s fields but its bytes, which are the body of an upload. */
const STAGE_FIELDS = importMethods.stage.omit({ data: true });
const BODY_WAIT_MS = 30_000;
const LINGER_MS = 2_000;
const LINGERING_MAX = 8;

export interface ServerOptions {
  backend: Backend;
  /** The built renderer (out/renderer). */
  rendererDir: string;
  port?: number;
  token?: string;
}

export interface RunningServer {
  readonly url: string;
  readonly origin: string;
  readonly port: number;
  readonly token: string;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.wasm': 'application/wasm',
  '.woff2': 'font/woff2',
};

/**
 * Who may talk to this server start: requests for our own host and origin (never another site's,
 * against DNS rebinding) that carry the per-start token as a bearer header or as the cookie the
 * printed URL's `?token=` becomes. Authentication only; what a request asks for is routed apart.
 */
class Gate {
  readonly token: string;
  private readonly tokenBytes: Buffer;
  origin = '';
  private allowedHosts = new Set<string>();

  constructor(token: string | undefined) {
    this.token = token ?? randomBytes(24).toString('base64url');
    this.tokenBytes = Buffer.from(this.token);
  }

  /** Called once the port is known. */
  listening(port: number): void {
    this.origin = `http://127.0.0.1:${port}`;
    this.allowedHosts = new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
  }

  /** Refuses requests whose Host is not ours (DNS rebinding) or whose Origin is another site. */
  sameOrigin(req: IncomingMessage): boolean {
    return (
      this.allowedHosts.has(req.headers.host ?? '') && (req.headers.origin === undefined || req.headers.origin === this.origin)
    );
  }

  authorised(req: IncomingMessage): boolean {
    const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1];
    return this.matches(bearer) || this.matches(readCookie(req.headers.cookie, TOKEN_COOKIE));
  }

  /**
   * Lets a request through (true), or answers it (false): a wrong host or origin, the printed
   * URL's token (which becomes an HttpOnly cookie and leaves the address bar), no token.
   */
  admit(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!this.sameOrigin(req)) return (sendText(res, 403, 'Forbidden: wrong host or origin.'), false);
    const queryToken = url.searchParams.get('token');
    if (req.method === 'GET' && queryToken !== null) {
      if (!this.matches(queryToken))
        return (sendText(res, 401, 'Unauthorized: this token is not valid for this server start.'), false);
      url.searchParams.delete('token');
      res.setHeader('Set-Cookie', `${TOKEN_COOKIE}=${this.token}; HttpOnly; SameSite=Strict; Path=/`);
      res.writeHead(303, { Location: url.pathname + url.search });
      res.end();
      return false;
    }
    if (!this.authorised(req)) {
      sendText(res, 401, 'Unauthorized: open the URL printed by `npm run serve` (it carries the access token).');
      return false;
    }
    return true;
  }

  private matches(candidate: string | undefined): boolean {
    if (!candidate) return false;
    const bytes = Buffer.from(candidate);
    return bytes.length === this.tokenBytes.length && timingSafeEqual(bytes, this.tokenBytes);
  }
}

/** What an admitted request asks for: an API call, an upload, or a file of the built renderer. */
class Routes {
  private readonly bodies = new BodyGate();

  constructor(
    private readonly backend: Backend,
    private readonly rendererDir: string,
  ) {}

  route(req: IncomingMessage, res: ServerResponse, url: URL): void {
    if (url.pathname === STAGE_UPLOAD_PATH) return void this.upload(req, res, url);
    if (url.pathname.startsWith('/api/')) return void this.api(req, res, url);
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendText(res, 405, 'Method not allowed.');
    return this.file(res, url.pathname);
  }

  private async api(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'POST') return sendText(res, 405, 'Use POST for API calls.');
    // This content type cannot be sent cross-site without a CORS preflight, which we never grant
    // (a form or a simple fetch can only send text/plain, urlencoded or multipart bodies).
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() !== WIRE_CONTENT_TYPE) {
      return sendText(res, 415, `API calls must be ${WIRE_CONTENT_TYPE}.`);
    }
    const parts = url.pathname.split('/');
    if (parts.length !== 4) return sendText(res, 404, 'Not found.');
    // Refused by what it announces, before a byte of it is read.
    const announced = Number(req.headers['content-length'] ?? NaN);
    if (announced > MAX_BODY) return refuseBody(res, 413, tooLarge(announced));
    let body: unknown;
    let bytes: Buffer;
    try {
      bytes = await this.bodies.read(req);
    } catch (e) {
      if (e instanceof BodyRefused) return refuseBody(res, e.status, e.message);
      return refuseBody(res, 400, `Bad request: the body could not be read (${(e as Error).message}).`);
    }
    try {
      body = bytes.length === 0 ? {} : decodeWire(bytes);
    } catch (e) {
      return sendWire(res, 400, {
        ok: false,
        error: { code: 'invalid-input', message: `bad request body: ${(e as Error).message}` },
      });
    }
    const input = typeof body === 'object' && body !== null ? (body as { input?: unknown }).input : undefined;
    const service = safeDecode(parts[2]!);
    const method = safeDecode(parts[3]!);
    if (service === null || method === null) return sendText(res, 400, 'Bad request: malformed URL.');
    const result = await this.backend.dispatch(service, method, input);
    sendWire(res, 200, result);
  }

  /**
   * `import.stage` with its bytes as the body (application/octet-stream) and the other fields in
   * the query: streamed into the staged file as it arrives, never held whole (src/renderer/lib/
   * http-transport.ts sends it so). A non-simple method and type: a cross-site page cannot send it
   * without a CORS preflight, which is never granted.
   */
  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    if (req.method !== 'PUT') return refuseBody(res, 405, 'Use PUT for uploads.');
    if ((req.headers['content-type'] ?? '').split(';')[0]!.trim() !== 'application/octet-stream')
      return refuseBody(res, 415, 'Uploads must be application/octet-stream.');
    const length = Number(req.headers['content-length'] ?? NaN);
    if (!Number.isSafeInteger(length) || length < 0)
      return refuseBody(res, 411, 'Length required: an upload must announce its size (Content-Length).');
    if (length > STAGE_CHUNK_BYTES) return refuseBody(res, 413, tooLarge(length, STAGE_CHUNK_BYTES));
    const q = url.searchParams;
    const meta = STAGE_FIELDS.safeParse({
      batch: q.get('batch'),
      path: q.get('path'),
      offset: Number(q.get('offset')),
      last: q.get('last') === '1',
    });
    if (!meta.success) {
      res.shouldKeepAlive = false; // its body is not read
      return sendWire(
        res,
        200,
        fail('invalid-input', meta.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')),
      );
    }
    try {
      const value = await this.bodies.run(req, () => this.backend.importer.stageFrom(meta.data, arriving(req), length));
      sendWire(res, 200, { ok: true, value });
    } catch (e) {
      if (e instanceof BodyRefused) return refuseBody(res, e.status, e.message);
      res.shouldKeepAlive = false; // the rest of the body, if any, is not read
      sendWire(
        res,
        200,
        e instanceof ServiceError
          ? fail(e.code, e.message)
          : fail('io', `the upload could not be stored: ${(e as Error).message}`),
      );
    }
  }

  /** A file of the built renderer; nothing outside its folder. */
  private file(res: ServerResponse, pathname: string): void {
    const decoded = safeDecode(pathname);
    if (decoded === null) return sendText(res, 400, 'Bad request: malformed URL.');
    const relative = pathname === '/' ? 'index.html' : decoded.replace(/^\/+/, '');
    const file = path.resolve(this.rendererDir, relative);
    if (file !== this.rendererDir && !file.startsWith(this.rendererDir + path.sep)) return sendText(res, 404, 'Not found.');
    let size: number;
    try {
      const st = statSync(file);
      if (!st.isFile()) return sendText(res, 404, 'Not found.');
      size = st.size;
    } catch {
      return sendText(res, 404, 'Not found.');
    }
    res.writeHead(200, {
      'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
      'Content-Length': size,
      'Cache-Control': relative === 'index.html' ? 'no-store' : 'private, max-age=3600',
    });
    createReadStream(file).pipe(res);
  }
}

/** The backend's events to every admitted WebSocket on /events; returns how to stop. */
function eventSockets(server: http.Server, gate: Gate, backend: Backend): () => void {
  const wss = new WebSocketServer({ noServer: true, maxPayload: 1024 * 1024 });
  const sockets = new Set<WebSocket>();
  server.on('upgrade', (req, socket, head) => {
    const refuse = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!gate.sameOrigin(req)) return refuse(403, 'Forbidden');
    if (!gate.authorised(req)) return refuse(401, 'Unauthorized');
    if (new URL(req.url ?? '/', gate.origin).pathname !== '/events') return refuse(404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      ws.on('close', () => sockets.delete(ws));
      ws.on('error', () => sockets.delete(ws));
    });
  });
  const offEvents = backend.events.onAny((event, payload) => {
    const message = encodeWire({ event, payload });
    for (const ws of sockets) if (ws.readyState === ws.OPEN) ws.send(message);
  });
  return () => {
    offEvents();
    for (const ws of sockets) ws.terminate();
    wss.close();
  };
}

export async function startServer(options: ServerOptions): Promise<RunningServer> {
  const gate = new Gate(options.token);
  const routes = new Routes(options.backend, path.resolve(options.rendererDir));
  const server = http.createServer((req, res) => {
    setSecurityHeaders(res);
    const url = new URL(req.url ?? '/', gate.origin);
    if (gate.admit(req, res, url)) routes.route(req, res, url);
  });
  const stopEvents = eventSockets(server, gate, options.backend);
  // A request must arrive whole within a minute (Node's default is five): a chunk is 4 MiB.
  server.requestTimeout = 60_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  gate.listening(port);
  return {
    url: `${gate.origin}/?token=${gate.token}`,
    origin: gate.origin,
    port,
    token: gate.token,
    async close() {
      stopEvents();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function setSecurityHeaders(res: ServerResponse): void {
  res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
  res.setHeader('X-Content-Type-Options', 'nosniff');
  res.setHeader('X-Frame-Options', 'DENY');
  res.setHeader('Referrer-Policy', 'no-referrer');
  res.setHeader('Cross-Origin-Opener-Policy', 'same-origin');
  res.setHeader('Cross-Origin-Resource-Policy', 'same-origin');
}

function sendText(res: ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-store' });
  res.end(text + '\n');
}

function sendWire(res: ServerResponse, status: number, value: unknown): void {
  const body = encodeWire(value);
  res.writeHead(status, { 'Content-Type': WIRE_CONTENT_TYPE, 'Content-Length': body.byteLength });
  res.end(body);
}

/** decodeURIComponent that answers null for malformed escapes instead of throwing (and crashing). */
function safeDecode(text: string): string | null {
  try {
    return decodeURIComponent(text);
  } catch {
    return null;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

const MIB = 1024 * 1024;

function tooLarge(bytes: number | null, limit = MAX_BODY): string {
  const size = bytes === null ? 'more than ' + (limit / MIB).toFixed(1) : (bytes / MIB).toFixed(1);
  return `Payload too large: this request carries ${size} MiB; ${limit === MAX_BODY ? 'an API call' : 'an upload'} may carry at most ${(limit / MIB).toFixed(1)} MiB (files are sent in chunks of ${STAGE_CHUNK_BYTES / MIB} MiB).`;
}

/** The request's body as it arrives; a body that stops arriving for BODY_IDLE_MS ends the request (408). */
async function* arriving(req: IncomingMessage): AsyncGenerator<Uint8Array> {
  let idle: NodeJS.Timeout | undefined;
  const arm = () => {
    clearTimeout(idle);
    idle = setTimeout(
      () => req.destroy(new BodyRefused(408, `Request timeout: no bytes of the body arrived for ${BODY_IDLE_MS / 1000} s.`)),
      BODY_IDLE_MS,
    );
  };
  arm();
  try {
    for await (const chunk of req) {
      arm();
      yield chunk as Buffer;
    }
  } finally {
    clearTimeout(idle);
  }
}

/**
 * Answers without keeping the rest of the body. A client still writing the body it announced reads
 * the answer only if the connection is not reset under it (closing at once reset it: the client
 * saw no 413), so the server lingers LINGER_MS, discarding what still arrives (nothing is kept),
 * before it closes; at most LINGERING_MAX connections at once, since discarding costs the event
 * loop time; past that the connection closes at once.
 */
function refuseBody(res: ServerResponse, status: number, text: string): void {
  if (status === 503) res.setHeader('Retry-After', '5');
  const socket = res.socket;
  if (socket && lingering < LINGERING_MAX) {
    lingering++;
    socket.once('close', () => lingering--);
    res.once('finish', () => setTimeout(() => socket.destroy(), LINGER_MS).unref());
  } else res.setHeader('Connection', 'close');
  sendText(res, status, text);
}

let lingering = 0;

class BodyRefused extends Error {
  constructor(
    readonly status: 408 | 413 | 503,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Reads request bodies, at most BODIES_AT_ONCE at a time and each at most MAX_BODY bytes; the
 * others wait unread, BODIES_WAITING of them at most, for BODY_WAIT_MS at most.
 */
class BodyGate {
  private reading = 0;
  private readonly waiting: (() => void)[] = [];

  read(req: IncomingMessage): Promise<Buffer> {
    return this.run(req, () => readBody(req, MAX_BODY));
  }

  /** Runs `use` (which reads the request's body) once a slot is free. */
  async run<T>(req: IncomingMessage, use: () => Promise<T>): Promise<T> {
    if (this.reading >= BODIES_AT_ONCE) {
      if (this.waiting.length >= BODIES_WAITING)
        throw new BodyRefused(503, 'Service busy: too many uploads at once from this machine; try again in a few seconds.');
      await new Promise<void>((resolve, reject) => {
        const leave = (error: Error) => {
          clearTimeout(timer);
          req.off('close', gone);
          const i = this.waiting.indexOf(turn);
          if (i >= 0) this.waiting.splice(i, 1);
          reject(error);
        };
        const turn = () => {
          clearTimeout(timer);
          req.off('close', gone);
          resolve();
        };
        // A client that gives up while waiting leaves the queue at once.
        const gone = () => leave(new Error('the client closed the connection'));
        const timer = setTimeout(
          () => leave(new BodyRefused(503, 'Service busy: this upload waited too long for its turn; try again.')),
          BODY_WAIT_MS,
        );
        req.once('close', gone);
        this.waiting.push(turn);
      });
    } else this.reading++;
    try {
      return await use();
    } finally {
      // Hand the slot to the next waiting request, or free it.
      const next = this.waiting.shift();
      if (next) next();
      else this.reading--;
    }
  }
}

function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let idle: NodeJS.Timeout | undefined;
    let settled = false;
    const settle = (error?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(idle);
      req.off('data', onData);
      if (error) {
        chunks.length = 0;
        req.pause(); // the rest is never read: the answer closes the connection
        reject(error);
      } else resolve(Buffer.concat(chunks));
    };
    const arm = () => {
      clearTimeout(idle);
      idle = setTimeout(
        () => settle(new BodyRefused(408, `Request timeout: no bytes of the body arrived for ${BODY_IDLE_MS / 1000} s.`)),
        BODY_IDLE_MS,
      );
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) settle(new BodyRefused(413, tooLarge(null)));
      else {
        chunks.push(chunk);
        arm();
      }
    };
    if (req.destroyed) return settle(new Error('the client closed the connection'));
    arm();
    req.on('data', onData);
    req.once('end', () => settle());
    req.once('error', (e) => settle(e));
    req.once('close', () => settle(new Error('the client closed the connection')));
  });
}
