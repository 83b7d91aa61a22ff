// Window/level: stored pixel values → modality values (slope/intercept) → 8-bit display values.
// Shared so the backend (thumbnails) and the renderer (viewer) agree to the pixel.

export interface Window {
  center: number;
  width: number;
}

type Values = ArrayLike<number>;

/** A window spanning the low..high percentiles of the modality values (sampled for speed). */
export function percentileWindow(values: Values, slope = 1, intercept = 0, low = 1, high = 99, samples = 65536): Window {
  const n = values.length;
  if (n === 0) return { center: 0, width: 1 };
  const step = Math.max(1, Math.floor(n / samples));
  const picked: number[] = [];
  for (let i = 0; i < n; i += step) picked.push(values[i]! * slope + intercept);
  picked.sort((a, b) => a - b);
  const at = (p: number) => picked[Math.min(picked.length - 1, Math.max(0, Math.round((p / 100) * (picked.length - 1))))]!;
  const lo = at(low);
  const hi = at(high);
  return hi > lo ? { center: (lo + hi) / 2, width: hi - lo } : { center: lo, width: 1 };
}

/**
 * 8-bit display values for one channel of a frame, with the DICOM linear window
 * (PS3.3 C.11.2.1.2): values at or below center − width/2 are black, at or above
 * center + width/2 white. `invert` renders MONOCHROME1.
 */
export function applyWindow(
  values: Values,
  window: Window,
  slope = 1,
  intercept = 0,
  invert = false,
  out: Uint8Array = new Uint8Array(values.length),
): Uint8Array {
  const width = Math.max(window.width, 1);
  const lower = window.center - 0.5 - (width - 1) / 2;
  const scale = 255 / (width - 1 || 1);
  for (let i = 0; i < values.length; i++) {
    const v = values[i]! * slope + intercept;
    let g = v <= lower ? 0 : v > lower + width - 1 ? 255 : (v - lower) * scale;
    if (g > 255) g = 255;
    out[i] = invert ? 255 - g : g;
  }
  return out;
}
