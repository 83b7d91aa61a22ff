// Runs inside the headless page (bundled by tests/bench/transport.ts with esbuild): the
// renderer's own frame path — its HTTP transport, the API client, the viewer's frame decoding
// and image layer — from one `viewer.frame` call to windowed pixels drawn on a canvas.
import { createApiClient } from '../../../src/shared/contract/client';
import { createHttpTransport } from '../../../src/renderer/lib/http-transport';
import { decodeFrame } from '../../../src/renderer/features/viewer/frames';
import { ImageLayer } from '../../../src/renderer/features/viewer/render/image-layer';

const api = createApiClient(createHttpTransport());

/** Milliseconds per frame, each fetched, decoded, windowed and drawn one after another. */
async function framePath(imageIds: number[]): Promise<number[]> {
  const canvas = document.createElement('canvas');
  canvas.width = 512;
  canvas.height = 512;
  document.body.append(canvas);
  const ctx = canvas.getContext('2d')!;
  const layer = new ImageLayer();
  const times: number[] = [];
  for (const imageId of imageIds) {
    const t0 = performance.now();
    const result = await api.viewer.frame({ imageId });
    if (!result.ok) throw new Error(result.error.message);
    const frame = decodeFrame(result.value);
    layer.render(frame, { center: 40, width: 400 });
    ctx.drawImage(layer.surface!.canvas, 0, 0);
    ctx.getImageData(256, 256, 1, 1);
    times.push(performance.now() - t0);
  }
  canvas.remove();
  return times;
}

(window as unknown as { framePath: typeof framePath }).framePath = framePath;
