import { describe, expect, it } from 'vitest';
import { geometryProblem, parseNumbers } from './numbers';

describe('parseNumbers (PS3.5 §6.2 DS and IS)', () => {
  it('reads every valid form, as pydicom does', () => {
    expect(parseNumbers('1.0E+00', 'DS', 'x').values).toEqual([1]);
    expect(parseNumbers('-1.024E+03 ', 'DS', 'x').values).toEqual([-1024]);
    expect(parseNumbers('7.8125E-01\\.78125', 'DS', 'x', 2).values).toEqual([0.78125, 0.78125]);
    expect(parseNumbers('+40.\\ 400', 'DS', 'x').values).toEqual([40, 400]);
    expect(parseNumbers('-9.81338674e-006', 'DS', 'x').values).toEqual([-9.81338674e-6]);
    expect(parseNumbers(' 12 ', 'IS', 'x')).toEqual({ values: [12] });
  });

  it('repairs an unambiguous decimal comma and says so', () => {
    expect(parseNumbers('0,5', 'DS', 'Rescale Slope')).toEqual({
      values: [0.5],
      note: 'Rescale Slope "0,5" has a decimal comma: read as 0.5',
    });
    expect(parseNumbers('0,5\\0,5', 'DS', 'Pixel Spacing', 2).values).toEqual([0.5, 0.5]);
    expect(parseNumbers('-1024,5', 'DS', 'x').values).toEqual([-1024.5]);
  });

  it('refuses what could mean two things, and what is no number at all, with a note', () => {
    expect(parseNumbers('1,024', 'DS', 'Rescale Intercept')).toEqual({
      values: null,
      note: 'Rescale Intercept "1,024" is not a valid decimal string: ignored',
    });
    expect(parseNumbers('0.7,0.7', 'DS', 'Pixel Spacing', 2).values).toBeNull();
    expect(parseNumbers('abc', 'DS', 'x').note).toMatch(/not a valid decimal string/);
    expect(parseNumbers('1.5', 'IS', 'Instance Number').note).toMatch(/not a valid integer string/);
    expect(parseNumbers('1e999', 'DS', 'x').note).toMatch(/out of range/);
    expect(parseNumbers('0.5', 'DS', 'Pixel Spacing', 2)).toEqual({
      values: null,
      note: 'Pixel Spacing "0.5" has 1 value, not 2: ignored',
    });
    expect(parseNumbers('', 'DS', 'x')).toEqual({ values: null });
  });
});

describe('geometryProblem (PS3.3 C.7.6.2, C.7.6.3)', () => {
  it('refuses a spacing of zero or below and an orientation that is not two orthogonal unit vectors', () => {
    expect(geometryProblem('spacing', [0.5, 0.5])).toBeUndefined();
    expect(geometryProblem('spacing', [0, 0.5])).toMatch(/not positive/);
    expect(geometryProblem('spacing', [-1, 1])).toMatch(/not positive/);
    expect(geometryProblem('thickness', [5])).toBeUndefined();
    expect(geometryProblem('thickness', [0])).toBe('Slice Thickness 0 is not positive: ignored');
    expect(geometryProblem('orientation', [1, 0, 0, 0, 1, 0])).toBeUndefined();
    expect(geometryProblem('orientation', [1, 0, 0, 0.99996, 0.00873, 0])).toMatch(/right angles/);
    expect(geometryProblem('orientation', [0, 0, 0, 0, 0, 0])).toMatch(/right angles/);
  });
});
