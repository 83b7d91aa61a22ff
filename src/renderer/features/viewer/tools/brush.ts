// Brush and eraser: idle → painting (pointer down) → idle (pointer up, one undo step). A stroke
// paints capsules between successive pointer positions, so fast moves leave no gaps.
import { paintCapsule, unionRect, type Rect } from '../../../../shared/imaging/label-ops';
import type { Tool, ToolHost, ToolPointer } from './types';

type State = { kind: 'idle' } | { kind: 'painting'; map: Uint8Array; last: { x: number; y: number } };

export class BrushTool implements Tool {
  private state: State = { kind: 'idle' };
  readonly preview = null;

  constructor(readonly id: 'brush' | 'eraser') {}

  get busy(): boolean {
    return this.state.kind === 'painting';
  }

  down(p: ToolPointer, host: ToolHost): void {
    if (this.state.kind === 'painting') return;
    const map = host.begin();
    this.state = { kind: 'painting', map, last: { x: p.x, y: p.y } };
    host.changed(this.dab(host, map, p, p), true);
  }

  move(p: ToolPointer, host: ToolHost): void {
    if (this.state.kind !== 'painting') return;
    let rect: Rect | null = null;
    let from = this.state.last;
    for (const q of [...(p.trail ?? []), p]) {
      rect = unionRect(rect, this.dab(host, this.state.map, from, q));
      from = q;
    }
    this.state.last = { x: p.x, y: p.y };
    if (rect) host.changed(rect, true);
  }

  up(p: ToolPointer, host: ToolHost): void {
    if (this.state.kind !== 'painting') return;
    this.move(p, host);
    this.state = { kind: 'idle' };
    host.commit(this.id === 'brush' ? 'Brush' : 'Eraser');
  }

  key(key: string, host: ToolHost): boolean {
    if (key !== 'Escape' || this.state.kind !== 'painting') return false;
    this.cancel(host);
    return true;
  }

  cancel(host: ToolHost): void {
    if (this.state.kind !== 'painting') return;
    this.state = { kind: 'idle' };
    host.rollback();
  }

  private dab(host: ToolHost, map: Uint8Array, a: { x: number; y: number }, b: { x: number; y: number }): Rect | null {
    const value = this.id === 'brush' ? host.segment : 0;
    return paintCapsule(
      { data: map, width: host.width, height: host.height },
      a.x,
      a.y,
      b.x,
      b.y,
      host.brushRadius,
      value,
      host.allowed(),
    );
  }
}
