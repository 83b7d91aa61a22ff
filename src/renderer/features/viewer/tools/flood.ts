// Flood fill: one click fills the 4-connected region under the pointer (same label, and inside
// the threshold range when painting is limited) with the active segment; Shift+click erases it.
import { floodFill } from '../../../../shared/imaging/label-ops';
import type { Tool, ToolHost, ToolPointer } from './types';

export class FloodTool implements Tool {
  readonly id = 'flood' as const;
  readonly preview = null;
  readonly busy = false;

  down(p: ToolPointer, host: ToolHost): void {
    const x = Math.floor(p.x);
    const y = Math.floor(p.y);
    if (x < 0 || y < 0 || x >= host.width || y >= host.height) return;
    const map = host.begin();
    const rect = floodFill(
      { data: map, width: host.width, height: host.height },
      x,
      y,
      p.shift ? 0 : host.segment,
      host.allowed(),
    );
    host.changed(rect, true);
    host.commit(p.shift ? 'Flood erase' : 'Flood fill');
  }

  move(): void {}
  up(): void {}
  key(): boolean {
    return false;
  }
  cancel(): void {}
}
