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
  /** Temporal position, echo, acquisition: the stack an image belongs to when a position repeats. */
  stack?: readonly (number | null)[] | undefined;
}

export function sliceNormal(o: Orientation): Vec3 {
  const [rx, ry, rz, cx, cy, cz] = o;
  return [ry * cz - rz * cy, rz * cx - rx * cz, rx * cy - ry * cx];
}

/**
 * Indices of `items` in display order. Stable: ties keep their input order. When a position
 * holds several images told apart by their stack (time point, echo, acquisition), the series is
 * ordered stack after stack, each stack by position (never alternating time points slice by slice).
 */
export function sliceOrder(items: readonly Orderable[]): number[] {
  const reference = items.find((i) => i.orientation)?.orientation;
  const normal = reference ? sliceNormal(reference) : null;
  const canProject = normal !== null && items.every((i) => i.position !== null);
  const keyed = items.map((item, index) => ({
    index,
    along: canProject ? dot(item.position!, normal) : 0,
    instance: item.instanceNumber ?? Number.MAX_SAFE_INTEGER,
    frame: item.frameIndex,
    stack: item.stack ?? [],
  }));
  const stacked = canProject && repeatedStacks(keyed) !== null;
  const byStack = (a: (typeof keyed)[number], b: (typeof keyed)[number]) => {
    if (!stacked) return 0;
    for (let i = 0; i < Math.max(a.stack.length, b.stack.length); i++) {
      const d = (a.stack[i] ?? 0) - (b.stack[i] ?? 0);
      if (d) return d;
    }
    return 0;
  };
  keyed.sort((a, b) => byStack(a, b) || a.along - b.along || a.instance - b.instance || a.frame - b.frame || a.index - b.index);
  return keyed.map((k) => k.index);
}

const STACK_NAMES = ['temporal position', 'echo', 'acquisition'] as const;

/**
 * Whether some position holds more than one image and the images there differ in their stack:
 * returns which attribute tells them apart (the first that differs), else null.
 */
function repeatedStacks(
  keyed: readonly { along: number; stack: readonly (number | null)[] }[],
): (typeof STACK_NAMES)[number] | null {
  const byPosition = new Map<number, (readonly (number | null)[])[]>();
  for (const k of keyed) {
    const at = Math.round(k.along * 1000); // micrometres: positions written with rounding still match
    byPosition.set(at, [...(byPosition.get(at) ?? []), k.stack]);
  }
  for (const stacks of byPosition.values()) {
    if (stacks.length < 2) continue;
    for (let i = 0; i < STACK_NAMES.length; i++) if (new Set(stacks.map((s) => s[i] ?? null)).size > 1) return STACK_NAMES[i]!;
  }
  return null;
}

/**
 * A note for the import report when a series holds several images at one position, or null:
 * "6 images at 3 positions: ordered temporal position after temporal position".
 */
export function repeatedPositionsNote(items: readonly Orderable[]): string | null {
  const reference = items.find((i) => i.orientation)?.orientation;
  if (!reference || !items.every((i) => i.position !== null)) return null;
  const normal = sliceNormal(reference);
  const keyed = items.map((i) => ({ along: dot(i.position!, normal), stack: i.stack ?? [] }));
  const positions = new Set(keyed.map((k) => Math.round(k.along * 1000))).size;
  if (positions === keyed.length) return null;
  const by = repeatedStacks(keyed);
  return by
    ? `${keyed.length} images at ${positions} positions: shown ${by} after ${by}, each in position order`
    : `${keyed.length} images at ${positions} positions, with nothing (time point, echo, acquisition) to tell them apart: shown in instance order at each position`;
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
