import { describe, expect, it } from 'vitest';
import { directionLetters, orientationMarkers } from './orientation';

describe('orientationMarkers', () => {
  it('puts the patient right on the screen left for an axial slice', () => {
    expect(orientationMarkers([1, 0, 0, 0, 1, 0])).toEqual({ left: 'R', right: 'L', top: 'A', bottom: 'P' });
  });
  it('labels coronal and oblique slices', () => {
    expect(orientationMarkers([1, 0, 0, 0, 0, -1])).toEqual({ left: 'R', right: 'L', top: 'H', bottom: 'F' });
    expect(directionLetters([0.8, 0.6, 0])).toBe('LP');
    expect(orientationMarkers(null)).toBeNull();
  });
});
