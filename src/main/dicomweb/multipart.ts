// multipart/related bodies (RFC 2387) as DICOMweb uses them for WADO-RS and STOW-RS (PS3.18 8.6.1).
import { randomBytes } from 'node:crypto';
import { ServiceError } from '../../shared/result';

const CRLF = Buffer.from('\r\n');

/** Builds a multipart/related body with one part per payload. */
export function multipartBody(parts: readonly Uint8Array[], type: string): { body: Uint8Array; contentType: string } {
  const boundary = `lgms-${randomBytes(12).toString('hex')}`;
  const chunks: Uint8Array[] = [];
  for (const part of parts) {
    chunks.push(Buffer.from(`--${boundary}\r\nContent-Type: ${type}\r\nContent-Length: ${part.length}\r\n\r\n`), part, CRLF);
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/related; type="${type}"; boundary=${boundary}` };
}

/** The parts' bodies of a multipart response. Throws ServiceError('corrupt') when the body is cut short. */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  const boundary = /boundary="?([^";]+)"?/i.exec(contentType)?.[1];
  if (!boundary) throw new ServiceError('corrupt', `the PACS sent ${contentType || 'no content type'}, not a multipart body`);
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const delimiter = Buffer.from(`--${boundary}`);
  const parts: Uint8Array[] = [];
  let at = buffer.indexOf(delimiter);
  if (at < 0) throw new ServiceError('corrupt', 'the multipart body holds no part');
  for (;;) {
    const afterDelimiter = at + delimiter.length;
    if (buffer.subarray(afterDelimiter, afterDelimiter + 2).toString() === '--') return parts;
    const headersEnd = buffer.indexOf('\r\n\r\n', afterDelimiter);
    if (headersEnd < 0) throw new ServiceError('corrupt', 'a multipart part ends inside its headers (the transfer was cut off)');
    const next = buffer.indexOf(Buffer.concat([CRLF, delimiter]), headersEnd + 4);
    if (next < 0)
      throw new ServiceError('corrupt', 'a multipart body ends without its closing boundary (the transfer was cut off)');
    parts.push(new Uint8Array(buffer.subarray(headersEnd + 4, next)));
    at = next + 2;
  }
}
