import { describe, expect, it } from 'vitest';
import { multipartBody, parseMultipart } from './multipart';

const type = (boundary: string) => `multipart/related; type="application/dicom"; boundary=${boundary}`;
const bytes = (...pieces: (string | Uint8Array)[]) =>
  new Uint8Array(Buffer.concat(pieces.map((p) => (typeof p === 'string' ? Buffer.from(p, 'latin1') : Buffer.from(p)))));

describe('multipart/related', () => {
  it('round-trips parts, including bytes that look like CRLF and dashes', () => {
    const parts = [Uint8Array.of(13, 10, 45, 45, 0, 255), new Uint8Array(0), Buffer.from('DICM')];
    const { body, contentType } = multipartBody(parts, 'application/dicom');
    expect(contentType).toMatch(/^multipart\/related; type="application\/dicom"; boundary=lgms-/);
    expect(parseMultipart(body, contentType)).toEqual(parts.map((p) => new Uint8Array(p)));
  });

  it('refuses a body cut off before its closing boundary', () => {
    const { body, contentType } = multipartBody([new Uint8Array(100)], 'application/dicom');
    expect(() => parseMultipart(body.subarray(0, 120), contentType)).toThrow(/cut off/);
    expect(() => parseMultipart(body, 'application/dicom')).toThrow(/not a multipart/);
  });

  // Issue 23 item 4: servers that write LF line endings, and parts whose bytes hold the boundary.
  it('reads a body whose lines end in LF only (RFC 2046 §5.1.1 as servers write it)', () => {
    const body = bytes(
      '--xyz\nContent-Type: application/dicom\n\nDICM-one\n--xyz\nContent-Type: application/dicom\n\nDICM-two\n--xyz--\n',
    );
    expect(parseMultipart(body, type('xyz')).map((p) => Buffer.from(p).toString())).toEqual(['DICM-one', 'DICM-two']);
  });

  it('matches the boundary only at the start of a line and only as a whole delimiter line', () => {
    const inside = bytes('a--xyz b\r\n--xyzzy\r\n--xyz-not-the-end\r\n', Uint8Array.of(0, 13, 10, 0), '--xyz');
    const body = bytes(
      'preamble --xyz\r\n--xyz\r\nContent-Type: application/dicom\r\n\r\n',
      inside,
      '\r\n--xyz \t\r\nContent-Type: application/dicom\r\n\r\nsecond\r\n--xyz--\r\nepilogue',
    );
    const parts = parseMultipart(body, type('"xyz"'));
    expect(parts).toEqual([inside, bytes('second')]);
  });

  it('reads a part without headers and a boundary parameter in any case, quoted', () => {
    const body = bytes('--a b\r\n\r\nbody\r\n--a b--');
    expect(
      parseMultipart(body, 'multipart/related; Boundary="a b"; type="application/dicom"').map((p) => Buffer.from(p).toString()),
    ).toEqual(['body']);
  });

  it('gives the true reason when it cannot read a body', () => {
    expect(() => parseMultipart(bytes('{"error":"no such study"}'), type('xyz'))).toThrow(/does not contain the boundary "xyz"/);
    expect(() => parseMultipart(bytes('--xyz\r\nContent-Type: application/dicom'), type('xyz'))).toThrow(
      /ends inside a part's headers \(the transfer was cut off\)/,
    );
    expect(() => parseMultipart(bytes('--xyz\r\n\r\nDICM…'), type('xyz'))).toThrow(
      /without its closing boundary \(the transfer was cut off after 0 complete parts\)/,
    );
    expect(() => parseMultipart(bytes('--xyz\r\n\r\n'), 'multipart/related; type="application/dicom"')).toThrow(
      /names no boundary/,
    );
  });
});
