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

/**
 * The parts' bodies of a multipart response, read per RFC 2046 §5.1.1: a delimiter is "--" and
 * the boundary at the start of a line, followed by optional spaces or tabs and a line break (or
 * by "--" for the last one); the line break before it belongs to the delimiter, not to the part.
 * Servers write CRLF (the RFC) or LF alone: the first delimiter line says which, and every later
 * delimiter must follow the same line break, so a part whose bytes hold the boundary elsewhere
 * (mid-line, or followed by more characters) keeps them. Part headers may end in CRLF or LF.
 * Throws ServiceError('corrupt') saying what is wrong: no boundary declared, none in the body,
 * or a body cut off (inside a part's headers, or before the closing delimiter).
 */
export function parseMultipart(body: Uint8Array, contentType: string): Uint8Array[] {
  if (!/^\s*multipart\//i.test(contentType))
    throw new ServiceError('corrupt', `the PACS sent ${contentType || 'no content type'}, not a multipart body`);
  const boundary = /;\s*boundary=(?:"([^"]+)"|([^\s;]+))/i.exec(contentType);
  const name = boundary?.[1] ?? boundary?.[2];
  if (!name)
    throw new ServiceError('corrupt', `the PACS sent a multipart body whose Content-Type names no boundary (${contentType})`);
  const buffer = Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  const dashBoundary = Buffer.from(`--${name}`, 'latin1');
  const first = nextDelimiter(buffer, dashBoundary, 0, null);
  if (!first)
    throw new ServiceError('corrupt', `the PACS's multipart body does not contain the boundary "${name}" its Content-Type names`);
  const crlf = first.crlf;
  const parts: Uint8Array[] = [];
  for (let delimiter = first; !delimiter.close;) {
    const start = afterHeaders(buffer, delimiter.end);
    if (start < 0)
      throw new ServiceError('corrupt', "the PACS's multipart body ends inside a part's headers (the transfer was cut off)");
    const next = nextDelimiter(buffer, dashBoundary, start, crlf);
    if (!next)
      throw new ServiceError(
        'corrupt',
        `the PACS's multipart body ends without its closing boundary (the transfer was cut off after ${parts.length} complete parts)`,
      );
    parts.push(new Uint8Array(buffer.subarray(start, next.start)));
    delimiter = next;
  }
  return parts;
}

interface Delimiter {
  /** Where the part before it ends: its line break. */
  start: number;
  /** Just after the delimiter line's own line break. */
  end: number;
  close: boolean;
  /** Whether the delimiter line ended in CRLF (else LF). */
  crlf: boolean;
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * The first delimiter at or after `from`. `crlf` null: the first delimiter, which may open the
 * body or follow a preamble line in either line break; else the line break every delimiter uses.
 */
function nextDelimiter(buffer: Buffer, dashBoundary: Buffer, from: number, crlf: boolean | null): Delimiter | null {
  // A part may be empty, so its delimiter's line break starts right where the part does.
  for (let at = buffer.indexOf(dashBoundary, from); at >= 0; at = buffer.indexOf(dashBoundary, at + 1)) {
    let start: number;
    if (crlf === null) {
      if (at === 0) start = 0;
      else if (buffer[at - 1] === LF) start = buffer[at - 2] === CR ? at - 2 : at - 1;
      else continue;
    } else if (crlf) {
      if (at - 2 < from || buffer[at - 1] !== LF || buffer[at - 2] !== CR) continue;
      start = at - 2;
    } else {
      if (at - 1 < from || buffer[at - 1] !== LF) continue;
      start = at - 1;
    }
    let p = at + dashBoundary.length;
    if (buffer[p] === 0x2d && buffer[p + 1] === 0x2d) return { start, end: buffer.length, close: true, crlf: crlf ?? true };
    while (buffer[p] === 0x20 || buffer[p] === 0x09) p++;
    if (buffer[p] === CR && buffer[p + 1] === LF) return { start, end: p + 2, close: false, crlf: crlf ?? true };
    if (buffer[p] === LF) return { start, end: p + 1, close: false, crlf: crlf ?? false };
  }
  return null;
}

/** Where a part's body starts: after the empty line that ends its headers (none is allowed); -1 if the buffer ends first. */
function afterHeaders(buffer: Buffer, from: number): number {
  for (let line = from; line < buffer.length;) {
    const lf = buffer.indexOf(LF, line);
    if (lf < 0) return -1;
    if (lf === line || (lf === line + 1 && buffer[line] === CR)) return lf + 1;
    line = lf + 1;
  }
  return -1;
}
