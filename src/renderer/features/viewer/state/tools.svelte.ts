// The drawing tools and their settings: which tool (or none: left-drag sets the window, as in a
// PACS), brush size, segment, the threshold range painting is limited to, and the polygon preview.
import { intensityMask } from '../../../../shared/imaging/label-ops';
import type { FramePixels } from '../../../../shared/imaging/pixels';
import { BrushTool } from '../tools/brush';
import { FloodTool } from '../tools/flood';
import { PolygonTool } from '../tools/polygon';
import type { Tool, ToolHost, ToolId } from '../tools/types';

/** A drawing tool, or 'window': left-drag adjusts width/level and nothing is painted. */
export type ToolChoice = ToolId | 'window';

export const BRUSH_SIZES = [1, 2, 3, 4, 5, 6, 8, 10, 12, 15, 20, 25, 30, 40, 50, 60, 80, 100] as const;

export class ToolState {
  id = $state<ToolChoice>('window');
  brushSize = $state(10);
  /** The label value painted (the task's label, chosen in the legend or with the digits). */
  segment = $state(1);
  threshold = $state({ enabled: false, low: 0, high: 0 });
  preview = $state.raw<{ x: number; y: number }[] | null>(null);
  readonly registry: Record<ToolId, Tool> = {
    brush: new BrushTool('brush'),
    eraser: new BrushTool('eraser'),
    polygon: new PolygonTool('polygon'),
    'polygon-erase': new PolygonTool('polygon-erase'),
    flood: new FloodTool(),
  };
  private allowedCache: { key: string; mask: Uint8Array } | null = null;

  /** The drawing tool in use; null while left-drag sets the window. */
  get current(): Tool | null {
    return this.id === 'window' ? null : this.registry[this.id];
  }

  /** Abandons any half-drawn shape (a slice change, a tool change). */
  cancel(host: ToolHost | null): void {
    if (host) for (const tool of Object.values(this.registry)) if (tool.busy) tool.cancel(host);
    this.preview = null;
  }

  /** A new series: the threshold range comes from its own window again. */
  resetForSeries(): void {
    this.threshold.enabled = false;
    this.threshold.low = 0;
    this.threshold.high = 0;
    this.preview = null;
    this.allowedCache = null;
  }

  /** 1 where the frame's modality value lies within the threshold range; null when not limited. */
  allowedMask(frame: FramePixels | undefined): Uint8Array | null {
    if (!this.threshold.enabled || !frame || frame.samplesPerPixel !== 1) return null;
    const { low, high } = this.threshold;
    const key = `${frame.imageId}|${low}|${high}`;
    if (this.allowedCache?.key !== key) {
      const reuse = this.allowedCache?.mask.length === frame.pixels.length ? this.allowedCache.mask : undefined;
      this.allowedCache = { key, mask: intensityMask(frame.pixels, low, high, frame.slope, frame.intercept, reuse) };
    }
    return this.allowedCache.mask;
  }
}
