// Undo history for label maps: each step stores, per slice it touched, the XOR of the map
// before and after, run-length encoded — only the changed pixels cost anything, and the same
// patch undoes and redoes (x ^ d ^ d = x). Bounded; serialisable so a draft keeps its history.
import { encodeRle } from './rle';

export interface Patch {
  imageId: number;
  /** RLE (src/shared/imaging/rle.ts) of before XOR after. */
  xor: Uint8Array;
}

export interface HistoryStep {
  /** What the user did, for the Undo/Redo tooltips ("Brush", "Load prediction"). */
  label: string;
  patches: Patch[];
}

export interface SerializedHistory {
  limit: number;
  /** Steps applied: entries[0..cursor) can be undone, entries[cursor..) redone. */
  cursor: number;
  entries: { label: string; patches: { imageId: number; xor: Uint8Array }[] }[];
}

export const DEFAULT_HISTORY_LIMIT = 100;
/** Patch bytes kept at most: the draft resends the history on each save, so it stays small. */
export const DEFAULT_HISTORY_BYTES = 2 * 1024 * 1024;

/** The patch turning `before` into `after`, or null when they are equal. */
export function diffPatch(before: Uint8Array, after: Uint8Array): Uint8Array | null {
  if (before.length !== after.length) throw new Error('label maps differ in size');
  const xor = new Uint8Array(before.length);
  let any = false;
  for (let i = 0; i < before.length; i++) {
    const d = before[i]! ^ after[i]!;
    if (d !== 0) {
      xor[i] = d;
      any = true;
    }
  }
  return any ? encodeRle(xor) : null;
}

/**
 * Applies a patch in place, reading the runs directly (no full-size buffer). Returns the index
 * range it changed, [first, last + 1), or null when the patch is all zero.
 */
export function applyPatch(map: Uint8Array, patch: Uint8Array): [number, number] | null {
  let o = 0;
  let i = 0;
  let first = -1;
  let last = -1;
  while (i < patch.length) {
    const value = patch[i++]!;
    let run = 0;
    let shift = 1;
    for (;;) {
      const byte = patch[i++];
      if (byte === undefined) throw new Error('patch ends inside a run length');
      run += (byte & 0x7f) * shift;
      if (byte < 0x80) break;
      shift *= 128;
    }
    if (o + run > map.length) throw new Error('patch longer than the label map');
    if (value !== 0) {
      for (let k = o; k < o + run; k++) map[k]! ^= value;
      if (first < 0) first = o;
      last = o + run;
    }
    o += run;
  }
  if (o !== map.length) throw new Error(`patch covers ${o} pixels, the label map ${map.length}`);
  return first < 0 ? null : [first, last];
}

export class EditHistory {
  private entries: HistoryStep[] = [];
  private cursor = 0;

  constructor(
    readonly limit = DEFAULT_HISTORY_LIMIT,
    readonly maxBytes = DEFAULT_HISTORY_BYTES,
  ) {}

  get canUndo(): boolean {
    return this.cursor > 0;
  }

  get canRedo(): boolean {
    return this.cursor < this.entries.length;
  }

  get size(): number {
    return this.entries.length;
  }

  /** Label of the step Undo would revert, or null. */
  get undoLabel(): string | null {
    return this.entries[this.cursor - 1]?.label ?? null;
  }

  get redoLabel(): string | null {
    return this.entries[this.cursor]?.label ?? null;
  }

  /** Patch bytes held. */
  get bytes(): number {
    return this.entries.reduce((n, e) => n + stepBytes(e), 0);
  }

  /**
   * Records a step; drops whatever could have been redone, then the oldest steps beyond the
   * step limit or the byte budget (the newest step is always kept).
   */
  push(step: HistoryStep): void {
    if (step.patches.length === 0) return;
    this.entries.length = this.cursor;
    this.entries.push(step);
    if (this.entries.length > this.limit) this.entries.splice(0, this.entries.length - this.limit);
    let bytes = this.bytes;
    while (bytes > this.maxBytes && this.entries.length > 1) bytes -= stepBytes(this.entries.shift()!);
    this.cursor = this.entries.length;
  }

  /** The step to revert (apply its patches), moving the cursor back; null when none. */
  undo(): HistoryStep | null {
    if (!this.canUndo) return null;
    return this.entries[--this.cursor]!;
  }

  redo(): HistoryStep | null {
    if (!this.canRedo) return null;
    return this.entries[this.cursor++]!;
  }

  clear(): void {
    this.entries = [];
    this.cursor = 0;
  }

  /** The history as plain data for a draft; the patch bytes are shared, not copied. */
  serialize(): SerializedHistory {
    return {
      limit: this.limit,
      cursor: this.cursor,
      entries: this.entries.map((e) => ({
        label: e.label,
        patches: e.patches.map((p) => ({ imageId: p.imageId, xor: p.xor })),
      })),
    };
  }

  static fromSerialized(json: SerializedHistory): EditHistory {
    const h = new EditHistory(json.limit);
    // Steps are taken as saved: the budget applies to the steps recorded from now on.
    h.entries = json.entries.map((e) => ({
      label: e.label,
      patches: e.patches.map((p) => ({ imageId: p.imageId, xor: p.xor })),
    }));
    h.cursor = Math.max(0, Math.min(json.cursor, h.entries.length));
    return h;
  }
}

function stepBytes(step: HistoryStep): number {
  return step.patches.reduce((n, p) => n + p.xor.length, 0);
}
