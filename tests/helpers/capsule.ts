// A reference rasteriser for brush strokes, independent of the app's (src/shared/imaging): the
// e2e tests compare the label maps the app stores with it.

/** Demo ultrasound slices are 256 × 256. */
export const DEMO_WIDTH = 256;

/**
 * Pixel indices (row-major, `width` columns, square image) whose centres lie within `r` pixels
 * of the segment a→b — what a round brush of radius r dragged from a to b covers.
 */
export function capsule(ax: number, ay: number, bx: number, by: number, r: number, width = DEMO_WIDTH): Set<number> {
  const out = new Set<number>();
  for (let y = 0; y < width; y++)
    for (let x = 0; x < width; x++) {
      const px = x + 0.5;
      const py = y + 0.5;
      const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
      const t = len2 ? Math.max(0, Math.min(1, ((px - ax) * (bx - ax) + (py - ay) * (by - ay)) / len2)) : 0;
      if ((px - ax - t * (bx - ax)) ** 2 + (py - ay - t * (by - ay)) ** 2 <= r * r) out.add(y * width + x);
    }
  return out;
}
