// The slice itself: stored values → modality values → window → gray, through a lookup table
// over the frame's stored range (one table read per pixel), so scrolling and window drags cost
// one pass over the pixels. The table comes from the shared applyWindow, so the viewer and the
// thumbnails agree to the pixel.
import type { Window } from '../../../../shared/imaging/window';
import { applyWindow } from '../../../../shared/imaging/window';
import type { Frame } from '../frames';
import { Surface } from './surface';

const MAX_TABLE = 1 << 20;

export class ImageLayer {
  surface: Surface | null = null;
  private key = '';
  private table = new Uint32Array(0);
  private tableKey = '';

  /** Renders unless the same frame was last rendered with the same window. */
  render(frame: Frame, window: Window): void {
    const invert = frame.photometric === 'MONOCHROME1';
    const key = `${frame.imageId}|${window.center}|${window.width}|${invert}`;
    if (key === this.key && this.surface) return;
    if (!this.surface?.fits(frame.columns, frame.rows)) this.surface = new Surface(frame.columns, frame.rows);
    const out = this.surface.words;
    const px = frame.pixels;
    if (frame.samplesPerPixel >= 3) {
      renderColour(frame, out);
    } else if (
      Number.isInteger(frame.min) &&
      frame.max - frame.min < MAX_TABLE &&
      !(px instanceof Float32Array || px instanceof Float64Array)
    ) {
      const table = this.tableFor(frame, window, invert);
      const min = frame.min;
      for (let i = 0; i < out.length; i++) out[i] = table[px[i]! - min]!;
    } else {
      const gray = applyWindow(px, window, frame.slope, frame.intercept, invert);
      for (let i = 0; i < out.length; i++) out[i] = 0xff000000 | (gray[i]! * 0x010101);
    }
    this.surface.flush();
    this.key = key;
  }

  private tableFor(frame: Frame, window: Window, invert: boolean): Uint32Array {
    const key = `${frame.min}|${frame.max}|${frame.slope}|${frame.intercept}|${window.center}|${window.width}|${invert}`;
    if (key === this.tableKey) return this.table;
    const n = frame.max - frame.min + 1;
    const values = new Float64Array(n);
    for (let i = 0; i < n; i++) values[i] = frame.min + i;
    const gray = applyWindow(values, window, frame.slope, frame.intercept, invert);
    const table = this.table.length >= n ? this.table : new Uint32Array(n);
    for (let i = 0; i < n; i++) table[i] = (0xff000000 | (gray[i]! * 0x010101)) >>> 0;
    this.table = table;
    this.tableKey = key;
    return table;
  }
}

/** Colour (ultrasound Doppler, photographs): shown as stored, scaled to 8 bits. */
function renderColour(frame: Frame, out: Uint32Array): void {
  const px = frame.pixels;
  const spp = frame.samplesPerPixel;
  const shift = px.BYTES_PER_ELEMENT === 1 ? 0 : 8;
  for (let i = 0, j = 0; i < out.length; i++, j += spp) {
    out[i] = (0xff000000 | ((px[j + 2]! >> shift) << 16) | ((px[j + 1]! >> shift) << 8) | (px[j]! >> shift)) >>> 0;
  }
}
