// The model's uncertainty (per-pixel entropy 0..255) as a heat map: transparent where the
// model is sure, through red to yellow where it is not.
import { rgba, Surface } from './surface';

const RAMP = buildRamp();

export class HeatLayer {
  surface: Surface | null = null;
  private imageId = -1;

  render(imageId: number, entropy: Uint8Array, width: number, height: number): void {
    if (imageId === this.imageId && this.surface) return;
    if (!this.surface?.fits(width, height)) this.surface = new Surface(width, height);
    const out = this.surface.words;
    for (let i = 0; i < out.length; i++) out[i] = RAMP[entropy[i]!]!;
    this.surface.flush();
    this.imageId = imageId;
  }
}

function buildRamp(): Uint32Array {
  const ramp = new Uint32Array(256);
  for (let v = 0; v < 256; v++) {
    const t = v / 255;
    if (t < 0.08) continue;
    const r = 255;
    const g = Math.round(255 * Math.min(1, Math.max(0, (t - 0.4) / 0.6)));
    const b = Math.round(64 * Math.max(0, (t - 0.85) / 0.15));
    ramp[v] = rgba(r, g, b, Math.round(40 + 200 * Math.min(1, t * 1.4)));
  }
  return ramp;
}
