import { describe, expect, it } from 'vitest';
import { multipartBody, parseMultipart } from './multipart';

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
});
