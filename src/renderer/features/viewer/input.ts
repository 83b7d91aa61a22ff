// Mouse, wheel and keyboard to viewer actions. A pointer gesture is a small state machine:
// none → tool (left button) | window (right) | pan (middle, or Space + left) → none on release.
import { runAction } from './actions';
import { findShortcut } from './keymap';
import type { ToolPointer } from './tools/types';
import { toImage } from './viewport';
import type { ViewerState } from './viewer.svelte';

type Gesture =
  | { kind: 'none' }
  | { kind: 'tool'; pointerId: number }
  | { kind: 'window'; pointerId: number; x0: number; y0: number; center: number; width: number; step: number }
  | { kind: 'pan'; pointerId: number; x: number; y: number };

/** Wheel delta that scrolls one slice when a device sends small steps (touchpads). */
const WHEEL_STEP = 50;

export class ViewerInput {
  private gesture: Gesture = { kind: 'none' };
  private spaceHeld = false;
  private wheelRemainder = 0;
  private rect: DOMRect | null = null;

  constructor(private readonly v: ViewerState) {}

  /** The viewport element moved or resized. */
  measure(el: Element): void {
    this.rect = el.getBoundingClientRect();
  }

  pointerdown(e: PointerEvent, el: Element): void {
    if (!this.v.image || this.gesture.kind !== 'none') return;
    this.measure(el);
    const { sx, sy } = this.local(e);
    if (e.button === 2) {
      const w = this.v.win.current;
      this.gesture = {
        kind: 'window',
        pointerId: e.pointerId,
        x0: sx,
        y0: sy,
        center: w.center,
        width: w.width,
        step: this.v.windowStep(),
      };
    } else if (e.button === 1 || (e.button === 0 && this.spaceHeld)) {
      this.gesture = { kind: 'pan', pointerId: e.pointerId, x: sx, y: sy };
    } else if (e.button === 0 && !this.v.tools.current) {
      // No drawing tool chosen: the left button sets the window, as in a PACS viewer.
      const w = this.v.win.current;
      this.gesture = {
        kind: 'window',
        pointerId: e.pointerId,
        x0: sx,
        y0: sy,
        center: w.center,
        width: w.width,
        step: this.v.windowStep(),
      };
    } else if (e.button === 0 && this.v.editor && this.v.frame) {
      const tool = this.v.tools.current!;
      this.gesture = { kind: 'tool', pointerId: e.pointerId };
      tool.down(this.toolPointer(e), this.v.editor);
      this.v.tools.preview = tool.preview;
    } else return;
    (el as HTMLElement).setPointerCapture?.(e.pointerId);
    e.preventDefault();
  }

  pointermove(e: PointerEvent): void {
    const { sx, sy } = this.local(e);
    this.v.pointer = { sx, sy };
    this.updateCursor(sx, sy);
    const g = this.gesture;
    if (g.kind === 'window') {
      this.v.setWindow(g.center + (sy - g.y0) * g.step, g.width + (sx - g.x0) * g.step);
    } else if (g.kind === 'pan') {
      this.v.panBy(sx - g.x, sy - g.y);
      g.x = sx;
      g.y = sy;
    } else if (this.v.editor && this.v.frame && this.v.tools.current) {
      // Tools see moves without a button too: the polygon draws its rubber band.
      const tool = this.v.tools.current;
      tool.move(this.toolPointer(e), this.v.editor);
      if (tool.preview || this.v.tools.preview) this.v.tools.preview = tool.preview;
    }
  }

  pointerup(e: PointerEvent): void {
    const g = this.gesture;
    if (g.kind === 'none' || g.pointerId !== e.pointerId) return;
    this.gesture = { kind: 'none' };
    const tool = this.v.tools.current;
    if (g.kind === 'tool' && this.v.editor && tool) {
      tool.up(this.toolPointer(e), this.v.editor);
      this.v.tools.preview = tool.preview;
    }
  }

  dblclick(e: MouseEvent): void {
    const tool = this.v.tools.current;
    if (!tool?.finish || !this.v.editor) return;
    tool.finish(this.v.editor, e.shiftKey);
    this.v.tools.preview = tool.preview;
  }

  leave(): void {
    this.v.pointer = null;
    this.v.cursor = null;
  }

  wheel(e: WheelEvent): void {
    if (!this.v.image) return;
    e.preventDefault();
    const scale = e.deltaMode === 1 ? 33 : e.deltaMode === 2 ? 400 : 1;
    if (e.ctrlKey || e.metaKey) {
      const { sx, sy } = this.local(e);
      this.v.zoomBy(Math.exp(-e.deltaY * scale * 0.0015), sx, sy);
      return;
    }
    const delta = e.deltaY * scale;
    // A mouse notch is one slice whatever its size; a touchpad's small deltas add up.
    if (Math.abs(delta) >= WHEEL_STEP) {
      this.wheelRemainder = 0;
      this.v.step(Math.sign(delta));
      return;
    }
    this.wheelRemainder += delta;
    const steps = Math.trunc(this.wheelRemainder / WHEEL_STEP);
    if (steps !== 0) {
      this.wheelRemainder -= steps * WHEEL_STEP;
      this.v.step(steps);
    }
  }

  /** True when the key was the viewer's. */
  keydown(e: KeyboardEvent): boolean {
    const target = e.target as HTMLElement | null;
    if (isTextField(target)) {
      // Enter commits the value (its change event fires on blur), Escape abandons typing; both
      // hand the keys back to the viewer, so + and the arrows never edit a field left behind.
      if (e.key !== 'Enter' && e.key !== 'Escape') return false;
      target.blur();
      return true;
    }
    if (e.altKey) return false; // Alt+digit switches views (App.svelte)
    const v = this.v;
    if (e.key === ' ' && !e.ctrlKey) {
      this.spaceHeld = true;
      return true;
    }
    if ((e.key === 'h' || e.key === 'H') && !e.ctrlKey && !e.metaKey) {
      v.overlay.held = true;
      return true;
    }
    const tool = v.tools.current;
    if (v.editor && tool && ['Enter', 'Escape', 'Backspace'].includes(e.key) && tool.key(e.key, v.editor)) {
      v.tools.preview = tool.preview;
      return true;
    }
    if (e.key === 'Escape' && v.help) {
      v.help = false;
      return true;
    }
    const action = findShortcut(e, v.tools.id !== 'window');
    if (!action) return false;
    runAction(v, action);
    return true;
  }

  keyup(e: KeyboardEvent): void {
    if (e.key === ' ') this.spaceHeld = false;
    if (e.key === 'h' || e.key === 'H') this.v.overlay.held = false;
  }

  /** The window lost focus: no key is held any more. */
  blur(): void {
    this.spaceHeld = false;
    this.v.overlay.held = false;
  }

  private local(e: MouseEvent): { sx: number; sy: number } {
    const r = this.rect;
    return { sx: e.clientX - (r?.left ?? 0), sy: e.clientY - (r?.top ?? 0) };
  }

  private toolPointer(e: PointerEvent): ToolPointer {
    const g = this.v.geometry;
    const view = this.v.view;
    const { sx, sy } = this.local(e);
    const p = toImage(view, g, sx, sy);
    const coalesced = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    const trail = coalesced.slice(0, -1).map((c) => {
      const l = this.local(c);
      return toImage(view, g, l.sx, l.sy);
    });
    return { x: p.x, y: p.y, sx, sy, shift: e.shiftKey, trail };
  }

  private updateCursor(sx: number, sy: number): void {
    const v = this.v;
    const image = v.image;
    const frame = v.frame;
    if (!image || !frame) return void (v.cursor = null);
    const p = toImage(v.view, v.geometry, sx, sy);
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= frame.columns || y >= frame.rows) return void (v.cursor = null);
    const i = y * frame.columns + x;
    const spp = frame.samplesPerPixel;
    let value: string;
    if (spp === 1) {
      const m = frame.pixels[i]! * frame.slope + frame.intercept;
      value = Number.isInteger(m) ? String(m) : m.toFixed(2);
    } else {
      value = Array.from(frame.pixels.subarray(i * spp, i * spp + 3)).join(', ');
    }
    v.cursor = { x, y, value, label: v.editor?.labels.peek(image.imageId)?.[i] ?? 0 };
  }
}

const NOT_TEXT = new Set(['range', 'checkbox', 'radio', 'button', 'submit', 'reset', 'color', 'file']);

/** A field the reader types into: its keys are not shortcuts while it has focus. */
function isTextField(el: HTMLElement | null): el is HTMLElement {
  if (!el) return false;
  if (el instanceof HTMLInputElement) return !NOT_TEXT.has(el.type);
  return el instanceof HTMLTextAreaElement || el.isContentEditable;
}
