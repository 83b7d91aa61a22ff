import { describe, expect, it } from 'vitest';
import { CT_PRESETS, PERCENTILE_PRESETS, initialWindow, presetWindow, presetsFor } from './presets';

describe('window presets', () => {
  it('offers the CT presets of the issue and prefers the file window', () => {
    expect(CT_PRESETS.map((p) => `${p.width}/${p.center}`)).toEqual(['400/40', '1500/-600', '2500/480', '80/40', '150/90']);
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

  it('offers percentile presets for MR and ultrasound, resolved on the slice values', () => {
    expect(presetsFor('MR')).toBe(PERCENTILE_PRESETS);
    expect(presetsFor('US')).toBe(PERCENTILE_PRESETS);
    const values = Uint8Array.from({ length: 101 }, (_, i) => i); // 0..100: percentile p is value p
    expect(presetWindow(PERCENTILE_PRESETS[0]!, values)).toEqual({ center: 50, width: 100 });
    expect(presetWindow(PERCENTILE_PRESETS[2]!, values)).toEqual({ center: 50, width: 90 });
    // Slope and intercept apply: stored 0..100 as 2v − 10.
    expect(presetWindow(PERCENTILE_PRESETS[0]!, values, 2, -10)).toEqual({ center: 90, width: 200 });
    expect(presetWindow(CT_PRESETS[1]!, values)).toEqual({ center: -600, width: 1500 });
  });
});
