// The headless transport: contract calls as POST /api/<service>/<method>, events over a
// WebSocket that reconnects after a backend restart, both MessagePack (bytes stay bytes). The
// token lives in an HttpOnly cookie set by the server, so this code never sees it.
import type { Transport } from '../../shared/contract/client';
import type { z } from 'zod';
import type { EventName, importMethods } from '../../shared/contract';
import { STAGE_UPLOAD_PATH, WIRE_CONTENT_TYPE, decodeWire, encodeWire } from '../../shared/contract/wire';
import { fail, type Result } from '../../shared/result';

type StageInput = z.input<typeof importMethods.stage>;

export function createHttpTransport(base = location.origin): Transport {
  const listeners = new Set<(event: EventName, payload: unknown) => void>();
  let socket: WebSocket | undefined;
  let retry = 250;

  function connect(): void {
    const url = new URL('/events', base);
    url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
    socket = new WebSocket(url);
    socket.binaryType = 'arraybuffer';
    socket.onopen = () => (retry = 250);
    socket.onmessage = (message: MessageEvent<ArrayBuffer>) => {
      const { event, payload } = decodeWire(new Uint8Array(message.data)) as { event: EventName; payload: unknown };
      for (const l of listeners) l(event, payload);
    };
    socket.onclose = () => {
      socket = undefined;
      if (listeners.size > 0) setTimeout(connect, (retry = Math.min(retry * 2, 5000)));
    };
  }

  function upload({ data, batch, path, offset, last }: StageInput): Promise<Response> {
    const url = new URL(STAGE_UPLOAD_PATH, base);
    url.search = new URLSearchParams({ batch, path, offset: String(offset), last: last ? '1' : '0' }).toString();
    return fetch(url, {
      method: 'PUT',
      headers: { 'Content-Type': 'application/octet-stream' },
      credentials: 'same-origin',
      body: data as Uint8Array<ArrayBuffer>,
    });
  }

  return {
    kind: 'http',
    async invoke(service, method, input): Promise<Result<unknown>> {
      // A dropped file's chunk goes up as raw bytes, which the server streams to disk.
      const response =
        service === 'import' && method === 'stage'
          ? await upload(input as StageInput)
          : await fetch(new URL(`/api/${encodeURIComponent(service)}/${encodeURIComponent(method)}`, base), {
              method: 'POST',
              headers: { 'Content-Type': WIRE_CONTENT_TYPE },
              credentials: 'same-origin',
              body: encodeWire({ input }),
            });
      if (response.status === 401)
        return fail('unauthorized', 'The server refused this page: open the URL printed by `npm run serve` again.');
      if (!response.ok) return fail('io', `HTTP ${response.status}: ${await response.text()}`);
      return decodeWire(new Uint8Array(await response.arrayBuffer())) as Result<unknown>;
    },
    subscribe(listener) {
      listeners.add(listener);
      if (!socket) connect();
      return () => listeners.delete(listener);
    },
  };
}
