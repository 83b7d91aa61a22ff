// What a tool sees of the viewer, and what every tool is: a small state machine fed pointer
// and key events in image coordinates.
import type { Rect } from '../../../../shared/imaging/label-ops';

export type ToolId = 'brush' | 'eraser' | 'polygon' | 'polygon-erase' | 'flood';

export interface ToolPointer {
  /** Continuous image coordinates: pixel (x, y) spans [x, x+1) × [y, y+1). */
  x: number;
  y: number;
  /** CSS pixels in the viewport. */
  sx: number;
  sy: number;
  shift: boolean;
  /** Earlier positions of a fast move (coalesced pointer events), oldest first. */
  trail?: { x: number; y: number }[];
}

/** The edit session a tool works through: one slice, one undo step per commit. */
export interface ToolHost {
  readonly width: number;
  readonly height: number;
  /** Screen pixels per image pixel (for hit distances). */
  readonly scale: number;
  /** The active segment's label value. */
  readonly segment: number;
  readonly brushRadius: number;
  /** 1 where the threshold range allows painting; null when painting is not limited. */
  allowed(): Uint8Array | null;
  /** Starts a step: remembers the slice's map so the step can be diffed or cancelled. */
  begin(): Uint8Array;
  /** Redraws `rect` of the slice; `now` draws before returning (a dab must show at once). */
  changed(rect: Rect | null, now?: boolean): void;
  /** Ends the step: one undo entry holding only the changed pixels. */
  commit(label: string): void;
  /** Abandons the step, restoring the map. */
  rollback(): void;
}

export interface Tool {
  readonly id: ToolId;
  down(p: ToolPointer, host: ToolHost): void;
  move(p: ToolPointer, host: ToolHost): void;
  up(p: ToolPointer, host: ToolHost): void;
  /** Enter, Escape, Backspace…; true when the tool used the key. */
  key(key: string, host: ToolHost): boolean;
  cancel(host: ToolHost): void;
  /** A double-click: the polygon closes (Shift: erases). */
  finish?(host: ToolHost, erase: boolean): void;
  /** Vertices to preview (polygon), in image coordinates. */
  readonly preview: { x: number; y: number }[] | null;
  readonly busy: boolean;
}
