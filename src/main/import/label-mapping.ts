// How another tool's segments (a DICOM SEG's, or a NIfTI label map's values) become a task's
// labels (issue 22): matched by code, then by name; anything ambiguous is the reader's choice,
// never a silent merge or renumbering. Then the segments' frames are placed on the series'
// images and composed into one label map per image, every overlap reported.
import type { LabelMappingProposal, LabelMappingSegment, LabelOverlapConflict, Task, TaskLabel } from '../../shared/contract';
import { sameCode, type CodedConcept } from '../../shared/model/codes';
import type { ImageRow } from '../export/queries';
import { sourceKey, type SegFrame } from '../export/seg-read';

/** A segment as the other tool named it. For a NIfTI label map, `number` is the pixel value. */
/** A segment of a foreign label map (DICOM SEG Segment Sequence): number, label and codes. */
export type ForeignSegment = Pick<LabelMappingSegment, 'number' | 'label' | 'category' | 'type'>;

/** A segment with the task label it becomes (the contract's record). */
export type SegmentMapping = LabelMappingSegment;

/** The mapping part of a proposal: every segment, and those the reader must map (or leave out). */
export type MappingProposal = Pick<LabelMappingProposal, 'taskId' | 'segments' | 'unresolved'>;

/** The reader's choice for one segment: a label value of the task, or null to leave it out. */
export interface MappingChoice {
  segment: number;
  value: number | null;
}

export class MappingError extends Error {}

const describe = (c: CodedConcept | null) => (c ? `${c.meaning || c.value} (${c.scheme} ${c.value})` : 'no code');

/**
 * Proposes a label of `task` for every segment: the one active label whose Segmented Property
 * Type code is the segment's (narrowed by the category code when several share it); failing
 * that, the one active label whose name equals the Segment Label (case and spaces ignored).
 * A segment is unresolved when nothing matches, when several labels match, or when another
 * segment matches the same label (two segments are never merged without the reader's choice).
 */
export function proposeMapping(task: Pick<Task, 'id' | 'name' | 'labels'>, segments: readonly ForeignSegment[]): MappingProposal {
  const active = task.labels.filter((l) => l.retiredAt === null);
  const norm = (t: string) => t.trim().replace(/\s+/g, ' ').toLowerCase();
  const out: SegmentMapping[] = segments.map((s) => {
    let byCode: TaskLabel[] = s.type ? active.filter((l) => sameCode(l.type, s.type!)) : [];
    if (byCode.length > 1 && s.category) {
      const narrowed = byCode.filter((l) => sameCode(l.category, s.category!));
      if (narrowed.length > 0) byCode = narrowed;
    }
    if (byCode.length === 1) return { ...s, value: byCode[0]!.value, by: 'code', problem: null };
    if (byCode.length > 1)
      return {
        ...s,
        value: null,
        by: null,
        problem: `labels ${byCode.map((l) => l.name).join(', ')} all have the code ${describe(s.type)}`,
      };
    const byName = s.label ? active.filter((l) => norm(l.name) === norm(s.label)) : [];
    if (byName.length === 1) return { ...s, value: byName[0]!.value, by: 'name', problem: null };
    const retired = task.labels.find(
      (l) => l.retiredAt !== null && ((s.type && sameCode(l.type, s.type)) || norm(l.name) === norm(s.label)),
    );
    return {
      ...s,
      value: null,
      by: null,
      problem: retired
        ? `it matches the retired label ${retired.name}: choose a label in use, or leave it out`
        : `its code ${describe(s.type)} and its name "${s.label}" are not labels of task ${task.name}`,
    };
  });
  // Two segments proposed for one label: both go to the reader.
  const byValue = new Map<number, SegmentMapping[]>();
  for (const m of out) if (m.value !== null) byValue.set(m.value, [...(byValue.get(m.value) ?? []), m]);
  for (const [value, ms] of byValue) {
    if (ms.length < 2) continue;
    const name = task.labels.find((l) => l.value === value)?.name ?? `value ${value}`;
    for (const m of ms) {
      m.problem = `segments ${ms.map((x) => x.number).join(' and ')} both match label ${name} (by ${ms.map((x) => x.by).join(' and ')}): which is it?`;
      m.value = null;
      m.by = null;
    }
  }
  return { taskId: task.id, segments: out, unresolved: out.filter((m) => m.value === null).map((m) => m.number) };
}

/**
 * The final segment → label value map: the proposal, with the reader's choices over it. Every
 * unresolved segment needs a choice; a chosen value must be a label of the task in use. A
 * segment chosen `null` is left out (its pixels are not imported, and the result says so).
 * Throws MappingError in words for the reader.
 */
export function resolveMapping(
  task: Pick<Task, 'name' | 'labels'>,
  proposal: MappingProposal,
  choices: readonly MappingChoice[],
): Map<number, number | null> {
  const numbers = new Set(proposal.segments.map((s) => s.number));
  const mapping = new Map<number, number | null>(proposal.segments.map((s) => [s.number, s.value]));
  for (const c of choices) {
    if (!numbers.has(c.segment)) throw new MappingError(`there is no segment ${c.segment} to map`);
    if (c.value !== null && !task.labels.some((l) => l.value === c.value && l.retiredAt === null))
      throw new MappingError(`value ${c.value} is not a label in use of task ${task.name}`);
    mapping.set(c.segment, c.value);
  }
  const chosen = new Set(choices.map((c) => c.segment));
  const missing = proposal.unresolved.filter((n) => !chosen.has(n));
  if (missing.length > 0) {
    const why = proposal.segments
      .filter((s) => missing.includes(s.number))
      .map((s) => `segment ${s.number} "${s.label}": ${s.problem ?? 'no label'}`);
    throw new MappingError(`choose a label (or leave it out) for ${why.join('; ')}`);
  }
  return mapping;
}

/** Where the frames of a SEG (or slices of a volume) lie on a series' images. */
export interface Placement {
  /** SEG frame index (1-based) → image id. */
  frames: Map<number, number>;
  /** How frames were placed: by Referenced Image, by Plane Position (Patient), or both. */
  by: 'reference' | 'position' | 'both';
  /** Frames that hold no pixel and lie on no image of the series: ignored (said in the result). */
  emptyUnplaced: number[];
}

/**
 * Places each frame on an image of the series: by the source frame its Derivation Image
 * Sequence names when that is an image of the series; otherwise by its Plane Position
 * (Patient), which must lie on one image's Image Position (Patient) within a tenth of a mm (or a
 * quarter of the slice spacing, if smaller) in the same Frame of Reference. Frames may come in
 * any order; images without a frame are left as they are. Throws MappingError when a frame with
 * pixels cannot be placed, or when the SEG's Frame of Reference is not the series'.
 */
export function placeFrames(
  frames: readonly SegFrame[],
  images: readonly ImageRow[],
  frames0: { segFrameOfReference: string; seriesFrameOfReference: string | null },
): Placement {
  const byKey = new Map<string, number>();
  for (const im of images) {
    // A volume's slice k placed in order (no shared geometry) names its image as `image:<id>`.
    byKey.set(`image:${im.id}`, im.id);
    if (!im.sopInstanceUid) continue;
    byKey.set(sourceKey(im.sopInstanceUid, im.frameIndex + 1), im.id);
    if (im.frameIndex === 0) byKey.set(sourceKey(im.sopInstanceUid, null), im.id);
  }
  const positioned = images.filter((im) => im.position !== null);
  const spacing = slicesSpacing(positioned);
  const tolerance = Math.min(0.1, spacing > 0 ? spacing / 4 : 0.1);
  const out = new Map<number, number>();
  const emptyUnplaced: number[] = [];
  const bad: string[] = [];
  let byReference = 0;
  let byPosition = 0;
  for (const f of frames) {
    const referenced = f.sourceKey ? byKey.get(f.sourceKey) : undefined;
    if (referenced !== undefined) {
      out.set(f.index, referenced);
      byReference++;
      continue;
    }
    const hasPixels = f.mask.some((v) => v !== 0);
    if (f.position) {
      if (frames0.seriesFrameOfReference && frames0.segFrameOfReference !== frames0.seriesFrameOfReference) {
        throw new MappingError(
          `the SEG's frames are placed by position in Frame of Reference ${frames0.segFrameOfReference || '(none)'}, the series' is ${frames0.seriesFrameOfReference}: they cannot be placed`,
        );
      }
      let best: ImageRow | null = null;
      let bestDistance = Infinity;
      for (const im of positioned) {
        const d = Math.hypot(im.position![0] - f.position[0], im.position![1] - f.position[1], im.position![2] - f.position[2]);
        if (d < bestDistance) [best, bestDistance] = [im, d];
      }
      if (best && bestDistance <= tolerance) {
        out.set(f.index, best.id);
        byPosition++;
        continue;
      }
    }
    if (!hasPixels) emptyUnplaced.push(f.index);
    else
      bad.push(
        `frame ${f.index} (segment ${f.segment}${f.position ? `, at ${f.position.map((v) => v.toFixed(2)).join('\\')} mm` : ''})`,
      );
  }
  if (bad.length > 0)
    throw new MappingError(
      `${bad.length === 1 ? 'a frame' : `${bad.length} frames`} of the SEG lie on no image of the series: ${bad.slice(0, 5).join(', ')}${bad.length > 5 ? ', …' : ''}`,
    );
  return {
    frames: out,
    by: byReference > 0 && byPosition > 0 ? 'both' : byPosition > 0 ? 'position' : 'reference',
    emptyUnplaced,
  };
}

function slicesSpacing(images: readonly ImageRow[]): number {
  let min = Infinity;
  for (let i = 1; i < images.length; i++) {
    const a = images[i - 1]!.position!;
    const b = images[i]!.position!;
    const d = Math.hypot(a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    if (d > 1e-6) min = Math.min(min, d);
  }
  return Number.isFinite(min) ? min : 0;
}

/**
 * One label map per placed image: each segment's pixels get its label value (segments left out
 * or unmapped write nothing). Where two segments mapped to different labels claim one pixel,
 * the higher Segment Number wins (the later segment, as a SEG reader painting in order shows
 * it) and the pixel is reported in `conflicts`; segments mapped to the same label never conflict.
 */
export function composeLabelMaps(
  frames: readonly SegFrame[],
  placement: Placement,
  mapping: ReadonlyMap<number, number | null>,
  rows: number,
  columns: number,
): { maps: Map<number, Uint8Array>; conflicts: LabelOverlapConflict[]; leftOutPixels: number } {
  const pixels = rows * columns;
  const maps = new Map<number, Uint8Array>();
  const owners = new Map<number, Uint16Array>();
  const conflicts = new Map<string, LabelOverlapConflict>();
  let leftOutPixels = 0;
  for (const f of [...frames].sort((a, b) => a.segment - b.segment || a.index - b.index)) {
    const imageId = placement.frames.get(f.index);
    if (imageId === undefined) continue;
    let map = maps.get(imageId);
    let owner = owners.get(imageId);
    if (!map || !owner) {
      maps.set(imageId, (map = new Uint8Array(pixels)));
      owners.set(imageId, (owner = new Uint16Array(pixels)));
    }
    const value = mapping.get(f.segment) ?? null;
    for (let p = 0; p < pixels; p++) {
      if (!f.mask[p]) continue;
      if (value === null) {
        leftOutPixels++;
        continue;
      }
      const before = owner[p]!;
      if (before !== 0 && map[p] !== value) {
        const key = `${imageId}:${before}:${f.segment}`;
        let c = conflicts.get(key);
        if (!c)
          conflicts.set(
            key,
            (c = {
              imageId,
              segments: [before, f.segment],
              kept: f.segment,
              pixels: 0,
              box: { rowMin: Infinity, rowMax: -1, columnMin: Infinity, columnMax: -1 },
              sample: [],
            }),
          );
        const r = Math.floor(p / columns);
        const col = p % columns;
        c.pixels++;
        c.box.rowMin = Math.min(c.box.rowMin, r);
        c.box.rowMax = Math.max(c.box.rowMax, r);
        c.box.columnMin = Math.min(c.box.columnMin, col);
        c.box.columnMax = Math.max(c.box.columnMax, col);
        if (c.sample.length < 8) c.sample.push([r, col]);
      }
      map[p] = value;
      owner[p] = f.segment;
    }
  }
  return { maps, conflicts: [...conflicts.values()], leftOutPixels };
}
