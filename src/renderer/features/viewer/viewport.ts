// Where the slice sits on screen: `zoom` CSS pixels per image column, rows stretched by the
// pixel-spacing aspect, image corner (0, 0) at (panX, panY) in CSS pixels of the viewport.

export interface View {
  zoom: number;
  panX: number;
  panY: number;
}

export interface SliceGeometry {
  columns: number;
  rows: number;
  /** Row spacing ÷ column spacing: 1 for square pixels. */
  aspect: number;
}

export const MIN_ZOOM = 0.05;
export const MAX_ZOOM = 64;

export function fitView(g: SliceGeometry, width: number, height: number, margin = 0.96): View {
  const zoom = Math.max(MIN_ZOOM, Math.min((width * margin) / g.columns, (height * margin) / (g.rows * g.aspect)));
  return centred(g, width, height, zoom, 1);
}

/** One image pixel per device pixel, on whole device pixels so edges stay crisp. */
export function actualSizeView(g: SliceGeometry, width: number, height: number, dpr: number): View {
  return centred(g, width, height, 1 / dpr, dpr);
}

function centred(g: SliceGeometry, width: number, height: number, zoom: number, dpr: number): View {
  const snap = (v: number) => Math.round(v * dpr) / dpr;
  return { zoom, panX: snap((width - g.columns * zoom) / 2), panY: snap((height - g.rows * g.aspect * zoom) / 2) };
}

/** Zooms by `factor` keeping the image point under (sx, sy) where it is. */
export function zoomAbout(view: View, factor: number, sx: number, sy: number): View {
  const zoom = Math.min(MAX_ZOOM, Math.max(MIN_ZOOM, view.zoom * factor));
  const k = zoom / view.zoom;
  return { zoom, panX: sx - (sx - view.panX) * k, panY: sy - (sy - view.panY) * k };
}

export function toImage(view: View, g: SliceGeometry, sx: number, sy: number): { x: number; y: number } {
  return { x: (sx - view.panX) / view.zoom, y: (sy - view.panY) / (view.zoom * g.aspect) };
}

export function toScreen(view: View, g: SliceGeometry, x: number, y: number): { x: number; y: number } {
  return { x: view.panX + x * view.zoom, y: view.panY + y * view.zoom * g.aspect };
}
