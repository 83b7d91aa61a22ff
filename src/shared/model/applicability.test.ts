import { describe, expect, it } from 'vitest';
import { applicability } from './applicability';
import type { ModelDomain } from './manifest';

// The shipped starter model's domain (src/main/models/manifest.test.ts checks model.json says so).
const domain: ModelDomain = { modalities: ['US'], photometric: ['MONOCHROME2', 'RGB'], bodyPart: 'breast (synthetic phantoms)' };

describe('model applicability', () => {
  it.each([
    [{ modality: 'US', photometric: 'MONOCHROME2' }, null],
    [{ modality: 'us ', photometric: 'RGB' }, null],
    [{ modality: 'CT', photometric: 'MONOCHROME2' }, /CT images.*for US \(breast/],
    [{ modality: 'MR', photometric: 'MONOCHROME2' }, /MR images/],
    [{ modality: 'OT', photometric: 'RGB' }, /modality is unknown/],
    [{ modality: '', photometric: 'MONOCHROME2' }, /modality is unknown/],
    [{ modality: 'US', photometric: 'PALETTE COLOR' }, /PALETTE COLOR pixels.*MONOCHROME2 or RGB/],
  ])('%j', (series, reason) => {
    const a = applicability(domain, series);
    if (reason === null) expect(a).toEqual({ inDomain: true });
    else {
      expect(a.inDomain).toBe(false);
      if (!a.inDomain) expect(a.reason).toMatch(reason);
    }
  });

  it('a model without a domain is taken to be for every series', () => {
    expect(applicability(undefined, { modality: 'CT', photometric: 'MONOCHROME2' })).toEqual({ inDomain: true });
  });
});
