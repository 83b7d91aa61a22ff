// Label editing for one open series: the working maps, the undo history, the draft that saves
// them, and the tools' edit session. Every user action is one undo step holding only the
// pixels it changed, whether a brush stroke on one slice or a prediction loaded into all.
import { encodeRle, decodeRle } from '../../../shared/imaging/rle';
import { applyPatch, diffPatch, EditHistory, type Patch } from '../../../shared/imaging/history';
import { diffRect, type Rect } from '../../../shared/imaging/label-ops';
import type { DraftView } from '../../../shared/contract';
import { LabelStore } from './labels';
import type { ToolHost } from './tools/types';

export interface EditContext {
  /** The slice on screen. */
  readonly imageId: number;
  readonly width: number;
  readonly height: number;
  readonly scale: number;
  readonly segment: number;
  readonly brushRadius: number;
  allowed(): Uint8Array | null;
  /** Redraw: the slice on screen changed inside `rect` (null: all of it). */
  redraw(rect: Rect | null, now: boolean): void;
  /** The history or the labels changed: refresh counts, undo labels, and save the draft. */
  edited(imageIds: readonly number[]): void;
}

export class Editor implements ToolHost {
  readonly labels: LabelStore;
  history = new EditHistory();
  private before: { imageId: number; map: Uint8Array } | null = null;

  constructor(
    private readonly ctx: EditContext,
    pixelsOf: (imageId: number) => number,
  ) {
    this.labels = new LabelStore(pixelsOf);
  }

  restore(draft: DraftView, pixelsOf: (imageId: number) => number): void {
    for (const s of draft.slices) this.labels.set(s.imageId, decodeRle(s.labels, pixelsOf(s.imageId)));
    this.history = draft.history ? EditHistory.fromSerialized(draft.history) : new EditHistory();
  }

  encode(imageId: number): Uint8Array {
    return encodeRle(this.labels.peek(imageId) ?? new Uint8Array(0));
  }

  // ToolHost: what the tools see.
  get width(): number {
    return this.ctx.width;
  }
  get height(): number {
    return this.ctx.height;
  }
  get scale(): number {
    return this.ctx.scale;
  }
  get segment(): number {
    return this.ctx.segment;
  }
  get brushRadius(): number {
    return this.ctx.brushRadius;
  }
  allowed(): Uint8Array | null {
    return this.ctx.allowed();
  }

  begin(): Uint8Array {
    const map = this.labels.get(this.ctx.imageId);
    this.before = { imageId: this.ctx.imageId, map: map.slice() };
    return map;
  }

  changed(rect: Rect | null, now = false): void {
    if (rect) this.ctx.redraw(rect, now);
  }

  commit(label: string): void {
    const before = this.before;
    this.before = null;
    if (!before) return;
    const patch = diffPatch(before.map, this.labels.get(before.imageId));
    if (!patch) return;
    this.record(label, [{ imageId: before.imageId, xor: patch }]);
  }

  rollback(): void {
    const before = this.before;
    this.before = null;
    if (!before) return;
    const map = this.labels.get(before.imageId);
    const rect = diffRect(before.map, map, this.ctx.width);
    map.set(before.map);
    if (before.imageId === this.ctx.imageId) this.ctx.redraw(rect, true);
  }

  /** Replaces whole maps as one undo step (copy, interpolate, load prediction). */
  replace(label: string, maps: ReadonlyMap<number, Uint8Array>): number {
    const patches: Patch[] = [];
    for (const [imageId, next] of maps) {
      const map = this.labels.get(imageId);
      const patch = diffPatch(map, next);
      if (!patch) continue;
      map.set(next);
      patches.push({ imageId, xor: patch });
    }
    if (patches.length === 0) return 0;
    this.record(label, patches);
    if (maps.has(this.ctx.imageId)) this.ctx.redraw(null, false);
    return patches.length;
  }

  undo(): string | null {
    const step = this.history.undo();
    if (step) this.applyStep(step.patches);
    return step?.label ?? null;
  }

  redo(): string | null {
    const step = this.history.redo();
    if (step) this.applyStep(step.patches);
    return step?.label ?? null;
  }

  private applyStep(patches: Patch[]): void {
    const ids: number[] = [];
    for (const p of patches) {
      applyPatch(this.labels.get(p.imageId), p.xor);
      this.labels.markDirty(p.imageId);
      ids.push(p.imageId);
      if (p.imageId === this.ctx.imageId) this.ctx.redraw(null, false);
    }
    this.ctx.edited(ids);
  }

  private record(label: string, patches: Patch[]): void {
    this.history.push({ label, patches });
    for (const p of patches) this.labels.markDirty(p.imageId);
    this.ctx.edited(patches.map((p) => p.imageId));
  }
}
