// Polygon / lasso fill and erase: idle → placing (click vertices, or drag for a freehand lasso)
// → closed (double-click, Enter, a click on the first vertex, or the end of a lasso drag) →
// one fill and one undo step. Vertices snap to pixel corners, so a polygon drawn on the pixel
// grid fills exactly the pixels it encloses.
import { fillPolygon } from '../../../../shared/imaging/label-ops';
import type { Tool, ToolHost, ToolPointer } from './types';

type State =
  | { kind: 'idle' }
  | {
      kind: 'placing';
      points: { x: number; y: number }[];
      dragging: boolean;
      dragged: boolean;
      downAt: { sx: number; sy: number };
    };

/** Screen pixels: a drag shorter than this is a click; a click this close to the start closes. */
const CLICK_SLOP = 4;
const CLOSE_DISTANCE = 8;

export class PolygonTool implements Tool {
  private state: State = { kind: 'idle' };
  private hover: { x: number; y: number } | null = null;

  constructor(readonly id: 'polygon' | 'polygon-erase') {}

  get busy(): boolean {
    return this.state.kind === 'placing';
  }

  get preview(): { x: number; y: number }[] | null {
    if (this.state.kind !== 'placing') return null;
    return this.hover && !this.state.dragging ? [...this.state.points, this.hover] : this.state.points;
  }

  down(p: ToolPointer, host: ToolHost): void {
    const v = snap(p);
    if (this.state.kind === 'idle') {
      this.state = { kind: 'placing', points: [v], dragging: true, dragged: false, downAt: { sx: p.sx, sy: p.sy } };
      return;
    }
    const first = this.state.points[0]!;
    if (this.state.points.length >= 3 && Math.hypot(first.x - p.x, first.y - p.y) * host.scale <= CLOSE_DISTANCE) {
      this.close(host, p.shift);
      return;
    }
    this.add(v);
    this.state.dragging = true;
    this.state.dragged = false;
    this.state.downAt = { sx: p.sx, sy: p.sy };
  }

  move(p: ToolPointer, _host: ToolHost): void {
    this.hover = snap(p);
    if (this.state.kind !== 'placing' || !this.state.dragging) return;
    if (!this.state.dragged && Math.hypot(p.sx - this.state.downAt.sx, p.sy - this.state.downAt.sy) < CLICK_SLOP) return;
    this.state.dragged = true;
    for (const q of [...(p.trail ?? []), p]) this.add(snap(q));
  }

  up(p: ToolPointer, host: ToolHost): void {
    if (this.state.kind !== 'placing') return;
    this.state.dragging = false;
    // A drag is a lasso: it closes where the pointer is released.
    if (this.state.dragged && this.state.points.length >= 3) this.close(host, p.shift);
  }

  key(key: string, host: ToolHost): boolean {
    if (this.state.kind !== 'placing') return false;
    if (key === 'Enter') this.close(host, false);
    else if (key === 'Escape') this.cancel(host);
    else if (key === 'Backspace') {
      this.state.points.pop();
      if (this.state.points.length === 0) this.state = { kind: 'idle' };
    } else return false;
    return true;
  }

  /** A double-click closes the polygon (its clicks have already placed the last vertex). */
  finish(host: ToolHost, erase: boolean): void {
    if (this.state.kind === 'placing') this.close(host, erase);
  }

  cancel(_host: ToolHost): void {
    this.state = { kind: 'idle' };
  }

  private add(v: { x: number; y: number }): void {
    if (this.state.kind !== 'placing') return;
    const last = this.state.points.at(-1);
    if (!last || last.x !== v.x || last.y !== v.y) this.state.points.push(v);
  }

  private close(host: ToolHost, shift: boolean): void {
    if (this.state.kind !== 'placing') return;
    const points = this.state.points;
    this.state = { kind: 'idle' };
    if (points.length < 3) return;
    const erase = this.id === 'polygon-erase' || shift;
    const map = host.begin();
    const rect = fillPolygon(
      { data: map, width: host.width, height: host.height },
      points.flatMap((q) => [q.x, q.y]),
      erase ? 0 : host.segment,
      host.allowed(),
    );
    host.changed(rect, true);
    host.commit(erase ? 'Polygon erase' : 'Polygon fill');
  }
}

function snap(p: { x: number; y: number }): { x: number; y: number } {
  return { x: Math.round(p.x), y: Math.round(p.y) };
}
