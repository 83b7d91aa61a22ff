// Binary fields of the contract: a Uint8Array (a Node Buffer is one) of bounded size. Both
// transports carry it as bytes — Electron IPC by structured clone, the headless server as a
// MessagePack bin — so a frame or a label map never becomes text on the way.
import { z } from 'zod';

/** A Uint8Array of at most `maxBytes` bytes. */
export function bytes(maxBytes: number) {
  // Any Uint8Array, whatever its buffer: a Node Buffer, or a view on a received message.
  return z
    .instanceof(Uint8Array as unknown as new () => Uint8Array)
    .refine((b) => b.byteLength <= maxBytes, { message: `at most ${maxBytes} bytes` });
}
