import { describe, expect, it } from 'vitest';
import { CT_PRESETS, initialWindow, presetsFor } from './presets';

describe('window presets', () => {
  it('offers the CT presets of the issue and prefers the file window', () => {
    expect(CT_PRESETS.map((p) => `${p.width}/${p.center}`)).toEqual(['400/40', '1500/-600', '2500/480', '80/40', '150/90']);
    expect(presetsFor('MR')).toEqual([]);
    const values = Uint8Array.from({ length: 101 }, (_, i) => i);
    expect(initialWindow({ modality: 'CT', fileCenter: 50, fileWidth: 350, values, slope: 1, intercept: 0 })).toEqual({
      center: 50,
      width: 350,
      source: 'file',
    });
    expect(initialWindow({ modality: 'CT', fileCenter: null, fileWidth: null, values, slope: 1, intercept: 0 })).toMatchObject({
      center: 40,
      width: 400,
    });
    expect(initialWindow({ modality: 'US', fileCenter: null, fileWidth: null, values, slope: 1, intercept: 0 })).toEqual({
      center: 50,
      width: 98,
      source: 'auto',
    });
  });
});
