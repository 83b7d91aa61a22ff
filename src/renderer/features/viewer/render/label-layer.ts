// A label map drawn as colour per segment: filled, outlined, or both (outline opaque, fill
// light). Only the labelled extent is painted and composited: labels usually cover a small
// part of the slice. Edits redraw only their rectangle (grown by one pixel, since outlines
// depend on neighbours). Opacity is applied when compositing, so the slider costs no pass.
import { unionRect, type Rect } from '../../../../shared/imaging/label-ops';
import { Surface } from './surface';

export type OverlayStyle = 'fill' | 'outline' | 'both';

export class LabelLayer {
  surface: Surface | null = null;
  /** Where the surface may hold colour; null when it is all transparent. */
  extent: Rect | null = null;
  private drawn: { imageId: number; style: OverlayStyle; map: Uint8Array | undefined } | null = null;

  constructor(private palette: Uint32Array) {}

  /** New colours per label value (0: not drawn, e.g. a hidden label); the next render redraws all. */
  setPalette(palette: Uint32Array): void {
    this.palette = palette;
    this.drawn = null;
  }

  /** True when `render` must redraw everything (another slice, map or style than last time). */
  stale(imageId: number, map: Uint8Array | undefined, style: OverlayStyle): boolean {
    return !this.drawn || this.drawn.imageId !== imageId || this.drawn.style !== style || this.drawn.map !== map;
  }

  render(
    imageId: number,
    map: Uint8Array | undefined,
    width: number,
    height: number,
    style: OverlayStyle,
    rect?: Rect | null,
  ): void {
    if (!this.surface?.fits(width, height)) {
      this.surface = new Surface(width, height);
      this.extent = null;
      rect = null;
    }
    if (this.stale(imageId, map, style)) rect = null;
    const out = this.surface.words;
    const previous = this.extent;
    let area: Rect | null;
    if (rect) {
      area = grow(rect, width, height);
      this.extent = unionRect(this.extent, area);
    } else {
      const bounds = map ? boundsOf(map, width, height) : null;
      area = bounds ? grow(bounds, width, height) : null;
      if (previous) for (let y = previous.y0; y < previous.y1; y++) out.fill(0, y * width + previous.x0, y * width + previous.x1);
      this.extent = area;
    }
    if (map && area) paint(map, out, width, height, area, style, this.palette);
    const dirty = rect ? area : unionRect(previous, area);
    if (dirty) this.surface.flush(dirty.x0, dirty.y0, dirty.x1, dirty.y1);
    this.drawn = { imageId, style, map };
  }
}

function grow(r: Rect, width: number, height: number): Rect {
  return { x0: Math.max(0, r.x0 - 1), y0: Math.max(0, r.y0 - 1), x1: Math.min(width, r.x1 + 1), y1: Math.min(height, r.y1 + 1) };
}

/** Bounding rectangle of the non-zero pixels, or null. */
function boundsOf(map: Uint8Array, width: number, height: number): Rect | null {
  let y0 = -1;
  let y1 = -1;
  let x0 = width;
  let x1 = 0;
  for (let y = 0; y < height; y++) {
    const row = y * width;
    let first = -1;
    for (let x = 0; x < width; x++) {
      if (map[row + x] !== 0) {
        first = x;
        break;
      }
    }
    if (first < 0) continue;
    if (y0 < 0) y0 = y;
    y1 = y + 1;
    if (first < x0) x0 = first;
    for (let x = width - 1; x >= x1; x--) {
      if (map[row + x] !== 0) {
        x1 = x + 1;
        break;
      }
    }
  }
  return y0 < 0 ? null : { x0, y0, x1, y1 };
}

function paint(
  map: Uint8Array,
  out: Uint32Array,
  w: number,
  h: number,
  r: Rect,
  style: OverlayStyle,
  palette: Uint32Array,
): void {
  const fillAlpha = style === 'fill' ? 0xff : style === 'both' ? 0x66 : 0;
  for (let y = r.y0; y < r.y1; y++) {
    const row = y * w;
    for (let x = r.x0; x < r.x1; x++) {
      const i = row + x;
      const v = map[i]!;
      // 0: background, or a label whose palette entry is 0 (hidden by the reader).
      if (v === 0 || palette[v] === 0) {
        out[i] = 0;
        continue;
      }
      const colour = palette[v]! & 0x00ffffff;
      if (style === 'fill') {
        out[i] = (colour | 0xff000000) >>> 0;
        continue;
      }
      const edge =
        x === 0 ||
        y === 0 ||
        x === w - 1 ||
        y === h - 1 ||
        map[i - 1] !== v ||
        map[i + 1] !== v ||
        map[i - w] !== v ||
        map[i + w] !== v;
      out[i] = edge ? (colour | 0xff000000) >>> 0 : fillAlpha ? (colour | (fillAlpha << 24)) >>> 0 : 0;
    }
  }
}
