// Slice order within a series: along the slice normal (Image Position Patient projected on the
// cross product of the Image Orientation Patient direction cosines), then Instance Number, then
// frame index. Files on disk come in any order; this is the order a reader scrolls through.

export type Vec3 = [number, number, number];
export type Orientation = [number, number, number, number, number, number];

export interface Orderable {
  position: Vec3 | null;
  orientation: Orientation | null;
  instanceNumber: number | null;
  frameIndex: number;
}

export function sliceNormal(o: Orientation): Vec3 {
  const [rx, ry, rz, cx, cy, cz] = o;
  return [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
}

/** Indices of `items` in display order. Stable: ties keep their input order. */
export function sliceOrder(items: readonly Orderable[]): number[] {
  const reference = items.find((i) => i.orientation)?.orientation;
  const normal = reference ? sliceNormal(reference) : null;
  const canProject = normal !== null && items.every((i) => i.position !== null);
  const keyed = items.map((item, index) => ({
    index,
    along: canProject ? dot(item.position!, normal) : 0,
    instance: item.instanceNumber ?? Number.MAX_SAFE_INTEGER,
    frame: item.frameIndex,
  }));
  keyed.sort((a, b) => a.along - b.along || a.instance - b.instance || a.frame - b.frame || a.index - b.index);
  return keyed.map((k) => k.index);
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

/**
 * Distance (mm) between the slice at `index` and its neighbour along the slice normal: Image
 * Position (Patient) differences projected on the normal of Image Orientation (Patient)
 * (PS3.3 C.7.6.2.1.1). Null when the slice has no neighbour or either lacks a position.
 */
export function sliceSpacing(
  images: readonly { position: Vec3 | null; orientation: Orientation | null }[],
  index: number,
): number | null {
  const here = images[index];
  const there = images[index + 1] ?? images[index - 1];
  if (!here?.position || !there?.position) return null;
  const normal = here.orientation ? sliceNormal(here.orientation) : ([0, 0, 1] as Vec3);
  const d = Math.abs(dot(here.position, normal) - dot(there.position, normal));
  return d > 0 ? d : null;
}
