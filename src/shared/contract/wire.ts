// The headless transport's encoding: MessagePack (https://msgpack.org, via @msgpack/msgpack),
// so Uint8Array fields travel as `bin` — bytes, not base64 text. The same encoding both ways:
// API request and response bodies, and WebSocket event messages. Electron IPC needs none of
// this: structured clone carries typed arrays as they are.
import { Encoder, decode } from '@msgpack/msgpack';

/**
 * The API's content type. Not one of the CORS-safelisted types (text/plain, form, multipart), so
 * a cross-site page cannot send it without a preflight, which the server never grants.
 */
/**
 * Where the headless transport sends `import.stage`: PUT, the chunk's bytes as the body
 * (application/octet-stream), batch, path, offset and last (1 or 0) in the query; the answer is
 * the method's Result in the API's encoding. The server streams it to disk instead of holding it.
 */
export const STAGE_UPLOAD_PATH = '/upload/import/stage';

export const WIRE_CONTENT_TYPE = 'application/msgpack';

/**
 * Encodes a contract value. Fields that are `undefined` are left out, as JSON would, so that an
 * optional field arrives absent rather than `null` (which its schema would refuse).
 */
export function encodeWire(value: unknown): Uint8Array<ArrayBuffer> {
  // One encoder: its buffer stays grown, so a frame is not re-copied through doubling buffers.
  return encoder.encode(value);
}

const encoder = new Encoder({ ignoreUndefined: true });

/** Decodes a message; `bin` fields come back as Uint8Array views on `bytes`. Throws on malformed input. */
export function decodeWire(bytes: Uint8Array): unknown {
  return decode(bytes);
}
