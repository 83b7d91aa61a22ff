// Decoded pixels in the form the contract carries: the typed array's bytes (little-endian, as in
// memory on every platform we ship for) with its dtype and value range.
import type { PixelDtype, ViewerFrame } from '../../shared/contract';
import type { LoadedFrame } from '../imaging/frames';
import type { PixelArray } from '../imaging/dicom/types';

export function dtypeOf(pixels: PixelArray): PixelDtype {
  if (pixels instanceof Uint8Array) return 'uint8';
  if (pixels instanceof Int8Array) return 'int8';
  if (pixels instanceof Uint16Array) return 'uint16';
  if (pixels instanceof Int16Array) return 'int16';
  if (pixels instanceof Uint32Array) return 'uint32';
  if (pixels instanceof Int32Array) return 'int32';
  if (pixels instanceof Float32Array) return 'float32';
  return 'float64';
}

export function toWireFrame(frame: LoadedFrame): ViewerFrame {
  const { pixels } = frame;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i]!;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  if (pixels.length === 0 || !Number.isFinite(min)) min = max = 0;
  return {
    imageId: frame.imageId,
    rows: frame.rows,
    columns: frame.columns,
    samplesPerPixel: frame.samplesPerPixel,
    photometric: frame.photometric,
    dtype: dtypeOf(pixels),
    data: ownBytes(pixels),
    slope: frame.slope,
    intercept: frame.intercept,
    min,
    max,
  };
}

/**
 * The pixels' bytes in a buffer of their own: structured clone (Electron IPC) copies a view's
 * whole underlying buffer, which for a frame read from a file or a store pack is far larger.
 */
function ownBytes(pixels: PixelArray): Uint8Array {
  const view = new Uint8Array(pixels.buffer, pixels.byteOffset, pixels.byteLength);
  return pixels.byteOffset === 0 && pixels.byteLength === pixels.buffer.byteLength ? view : view.slice();
}
