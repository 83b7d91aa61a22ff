// Draws the viewport: the slice (smoothed), then the working labels, the prediction outline and
// the uncertainty heat map (nearest-neighbour, so label edges stay on pixel edges), each from
// its own slice-sized layer. Layers redraw only what changed; compositing is a few drawImage
// calls. Scheduled on animation frames; brush dabs draw at once (drawNow).
import type { Rect } from '../../../../shared/imaging/label-ops';
import { unionRect } from '../../../../shared/imaging/label-ops';
import type { Window } from '../../../../shared/imaging/window';
import type { Frame } from '../frames';
import type { SliceGeometry, View } from '../viewport';
import { HeatLayer } from './heat-layer';
import { ImageLayer } from './image-layer';
import { LabelLayer, type OverlayStyle } from './label-layer';
import { rgba } from './surface';

export interface Scene {
  imageId: number;
  frame: Frame | undefined;
  window: Window;
  geometry: SliceGeometry;
  view: View;
  labels: Uint8Array | undefined;
  showLabels: boolean;
  style: OverlayStyle;
  opacity: number;
  prediction: Uint8Array | undefined;
  showPrediction: boolean;
  predictionStyle: OverlayStyle;
  heat: Uint8Array | undefined;
  showHeat: boolean;
}

/** Segment colours, index = label value (0 unused). Distinct under both fill and outline. */
export const SEGMENT_COLOURS = [
  '#000000',
  '#ff5a5a',
  '#4fc3ff',
  '#7ee07e',
  '#ffb84d',
  '#c58cff',
  '#ff7fd0',
  '#5ee6d0',
  '#f0e05a',
];

/**
 * The label layer's colours for a task: each label value's colour, white for a value the task
 * does not name (a map from elsewhere), and nothing for the `hidden` values.
 */
export function labelPalette(labels: readonly { value: number; colour: string }[], hidden: readonly number[]): Uint32Array {
  const list: string[] = [];
  for (let v = 1; v < 256; v++) list[v] = labels.length ? '#ffffff' : (SEGMENT_COLOURS[v] ?? '#ffffff');
  for (const l of labels) list[l.value] = l.colour;
  const out = palette(list, '#ffffff');
  for (const v of hidden) out[v] = 0;
  return out;
}

function palette(colours: readonly string[], fallback: string): Uint32Array {
  const out = new Uint32Array(256);
  for (let v = 1; v < 256; v++) {
    const hex = colours[v] ?? fallback;
    out[v] = rgba(parseInt(hex.slice(1, 3), 16), parseInt(hex.slice(3, 5), 16), parseInt(hex.slice(5, 7), 16));
  }
  return out;
}

export class ViewRenderer {
  private readonly ctx: CanvasRenderingContext2D;
  private readonly image = new ImageLayer();
  private readonly labels = new LabelLayer(palette(SEGMENT_COLOURS, '#ffffff'));
  private readonly prediction = new LabelLayer(palette([], '#ffe14d'));
  private readonly heat = new HeatLayer();
  private pendingLabels: Rect | null = null;
  private frameRequest = 0;
  private drawnKey = '';
  private dpr = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly scene: () => Scene | null,
  ) {
    const ctx = canvas.getContext('2d', { alpha: false });
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
  }

  resize(cssWidth: number, cssHeight: number, dpr: number): void {
    this.dpr = dpr;
    const w = Math.max(1, Math.round(cssWidth * dpr));
    const h = Math.max(1, Math.round(cssHeight * dpr));
    if (this.canvas.width !== w || this.canvas.height !== h) {
      this.canvas.width = w;
      this.canvas.height = h;
    }
    this.drawNow();
  }

  /** The labels of the slice on screen changed inside `rect`. */
  /** Colours (and hidden labels) of the task being painted. */
  setLabelPalette(p: Uint32Array): void {
    this.labels.setPalette(p);
    this.drawNow();
  }

  labelsChanged(rect: Rect | null): void {
    this.pendingLabels = unionRect(this.pendingLabels, rect);
  }

  schedule(): void {
    if (this.frameRequest) return;
    this.frameRequest = requestAnimationFrame(() => {
      this.frameRequest = 0;
      this.drawNow();
    });
  }

  /**
   * Draws at once. With `clip` (image pixels), and nothing else changed since the last frame,
   * only that part of the screen is redrawn: a brush dab costs its own area, not the viewport's.
   */
  drawNow(clip?: Rect | null): void {
    const s = this.scene();
    const key = s ? sceneKey(s, this.canvas) : '';
    const partial = clip && s?.frame && key === this.drawnKey;
    if (!partial && this.frameRequest) {
      cancelAnimationFrame(this.frameRequest);
      this.frameRequest = 0;
    }
    const ctx = this.ctx;
    ctx.save();
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    if (partial && s) {
      const d = this.dpr;
      const x0 = Math.floor(d * (s.view.panX + clip.x0 * s.view.zoom)) - 2;
      const y0 = Math.floor(d * (s.view.panY + clip.y0 * s.view.zoom * s.geometry.aspect)) - 2;
      const x1 = Math.ceil(d * (s.view.panX + clip.x1 * s.view.zoom)) + 2;
      const y1 = Math.ceil(d * (s.view.panY + clip.y1 * s.view.zoom * s.geometry.aspect)) + 2;
      ctx.beginPath();
      ctx.rect(x0, y0, x1 - x0, y1 - y0);
      ctx.clip();
    }
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, this.canvas.width, this.canvas.height);
    this.drawnKey = key;
    if (s && s.frame) this.compose(s, s.frame);
    ctx.restore();
  }

  private compose(s: Scene, frame: Frame): void {
    const ctx = this.ctx;
    const { columns: w, rows: h } = frame;
    this.image.render(frame, s.window);
    const d = this.dpr;
    ctx.setTransform(d * s.view.zoom, 0, 0, d * s.view.zoom * s.geometry.aspect, d * s.view.panX, d * s.view.panY);
    ctx.imageSmoothingEnabled = true;
    // Bilinear: what reading software shows when magnifying; higher qualities cost more per frame.
    ctx.imageSmoothingQuality = 'low';
    ctx.drawImage(this.image.surface!.canvas, 0, 0);
    ctx.imageSmoothingEnabled = false;
    if (s.showHeat && s.heat) {
      this.heat.render(s.imageId, s.heat, w, h);
      ctx.globalAlpha = 0.75;
      ctx.drawImage(this.heat.surface!.canvas, 0, 0);
    }
    if (s.showLabels) {
      const full = this.labels.stale(s.imageId, s.labels, s.style);
      if (full || this.pendingLabels) this.labels.render(s.imageId, s.labels, w, h, s.style, full ? null : this.pendingLabels);
      this.pendingLabels = null;
      ctx.globalAlpha = s.opacity;
      drawExtent(ctx, this.labels);
    }
    if (s.showPrediction && s.prediction) {
      const style = s.predictionStyle;
      if (this.prediction.stale(s.imageId, s.prediction, style)) this.prediction.render(s.imageId, s.prediction, w, h, style);
      ctx.globalAlpha = style === 'outline' ? 0.9 : s.opacity;
      drawExtent(ctx, this.prediction);
    }
    ctx.globalAlpha = 1;
  }

  dispose(): void {
    if (this.frameRequest) cancelAnimationFrame(this.frameRequest);
  }
}

/** Only the part of a label layer that holds colour: compositing cost follows the labels' size. */
function drawExtent(ctx: CanvasRenderingContext2D, layer: LabelLayer): void {
  const e = layer.extent;
  if (!e || !layer.surface) return;
  const w = e.x1 - e.x0;
  const h = e.y1 - e.y0;
  ctx.drawImage(layer.surface.canvas, e.x0, e.y0, w, h, e.x0, e.y0, w, h);
}

/** Everything but the labels' pixels that decides what is on screen. */
function sceneKey(s: Scene, canvas: HTMLCanvasElement): string {
  const v = s.view;
  return [
    s.imageId,
    s.frame ? 1 : 0,
    s.window.center,
    s.window.width,
    v.zoom,
    v.panX,
    v.panY,
    s.geometry.aspect,
    s.showLabels,
    s.style,
    s.opacity,
    s.showPrediction,
    s.predictionStyle,
    s.prediction ? 1 : 0,
    s.showHeat,
    s.heat ? 1 : 0,
    canvas.width,
    canvas.height,
  ].join('|');
}
