import { describe, expect, it } from 'vitest';
import { fnv1a32, splitFor, splitKey, VALIDATION_PER_MILLE } from './split';

describe('split rule', () => {
  it('FNV-1a matches the published test vectors', () => {
    // From the FNV reference test suite (draft-eastlake-fnv, Appendix C).
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('keys by patient when there is a Patient ID, else by study', () => {
    expect(splitKey({ patientKey: 'P1|ISSUER', patientId: 'P1' }, '1.2.3')).toBe('patient:P1|ISSUER');
    expect(splitKey({ patientKey: 'sha:ab', patientId: ' ' }, '1.2.3')).toBe('study:1.2.3');
  });

  it('sends about 20 % of keys to validation, the same every time', () => {
    const keys = Array.from({ length: 5000 }, (_, i) => `study:1.2.826.0.1.3680043.8.498.${1000 + i}`);
    const first = keys.map(splitFor);
    expect(keys.map(splitFor)).toEqual(first);
    const share = first.filter((s) => s === 'validation').length / keys.length;
    expect(share).toBeGreaterThan(VALIDATION_PER_MILLE / 1000 - 0.02);
    expect(share).toBeLessThan(VALIDATION_PER_MILLE / 1000 + 0.02);
  });
});
