// Orientation markers for a slice: the patient directions (DICOM LPS: +x Left, +y Posterior,
// +z Head) that the screen's right and bottom edges point to, from Image Orientation Patient.
import type { Orientation } from './geometry';

export interface Markers {
  left: string;
  right: string;
  top: string;
  bottom: string;
}

const POSITIVE = ['L', 'P', 'H'] as const;
const NEGATIVE = ['R', 'A', 'F'] as const;

/** Letters of a direction, main axis first; an axis counts when it carries over 30 % of it. */
export function directionLetters(v: readonly [number, number, number]): string {
  return [0, 1, 2]
    .filter((axis) => Math.abs(v[axis]!) > 0.3)
    .sort((a, b) => Math.abs(v[b]!) - Math.abs(v[a]!))
    .map((axis) => (v[axis]! > 0 ? POSITIVE[axis] : NEGATIVE[axis]))
    .join('');
}

/** Null when the orientation is unknown (PNG, most ultrasound): show no markers then. */
export function orientationMarkers(orientation: Orientation | null): Markers | null {
  if (!orientation) return null;
  const row: [number, number, number] = [orientation[0], orientation[1], orientation[2]];
  const col: [number, number, number] = [orientation[3], orientation[4], orientation[5]];
  const neg = (v: [number, number, number]): [number, number, number] => [-v[0], -v[1], -v[2]];
  return {
    right: directionLetters(row),
    left: directionLetters(neg(row)),
    bottom: directionLetters(col),
    top: directionLetters(neg(col)),
  };
}
