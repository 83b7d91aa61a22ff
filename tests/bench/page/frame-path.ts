// Runs inside the headless page (bundled by tests/bench/transport.ts with esbuild): the
// renderer's own frame path — its HTTP transport, the API client, the viewer's frame decoding
// and image layer — from one `viewer.frame` call to windowed pixels drawn on a canvas.
import { createApiClient } from '../../../src/shared/contract/client';
import { createHttpTransport } from '../../../src/renderer/lib/http-transport';
import { decodeFrame } from '../../../src/renderer/features/viewer/frames';
import { ImageLayer } from '../../../src/renderer/features/viewer/render/image-layer';

const api = createApiClient(createHttpTransport());

/**
 * Milliseconds per frame, each fetched, decoded, windowed and drawn one after another: in all,
 * and split into the call (request to decoded message), the frame's decoding, and the drawing.
 */
async function framePath(imageIds: number[]): Promise<{ total: number[]; call: number[]; decode: number[]; draw: number[] }> {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 512;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d')!;
  const layer = new ImageLayer();
  const times = { total: [] as number[], call: [] as number[], decode: [] as number[], draw: [] as number[] };
  for (const imageId of imageIds) {
    const t0 = performance.now();
    const result = await api.viewer.frame({ imageId });
    if (!result.ok) throw new Error(result.error.message);
    const t1 = performance.now();
    const frame = decodeFrame(result.value);
    const t2 = performance.now();
    layer.render(frame, { center: 40, width: 400 });
    ctx.drawImage(layer.surface!.canvas, 0, 0);
    ctx.getImageData(256, 256, 1, 1);
    const t3 = performance.now();
    times.total.push(t3 - t0);
    times.call.push(t1 - t0);
    times.decode.push(t2 - t1);
    times.draw.push(t3 - t2);
  }
  canvas.remove();
  return times;
}

(window as unknown as { framePath: typeof framePath }).framePath = framePath;
