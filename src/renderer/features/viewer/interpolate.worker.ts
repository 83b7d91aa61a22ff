// Shape-based interpolation off the UI thread: distance transforms of 512×512 slices take tens
// of milliseconds each, too long for a frame.
import { interpolateLabels } from '../../../shared/imaging/interpolate';

export interface InterpolateRequest {
  id: number;
  a: Uint8Array;
  b: Uint8Array;
  width: number;
  height: number;
  count: number;
}

self.onmessage = (event: MessageEvent<InterpolateRequest>) => {
  const { id, a, b, width, height, count } = event.data;
  const maps = interpolateLabels(a, b, width, height, count);
  (self as unknown as Worker).postMessage(
    { id, maps },
    maps.map((m) => m.buffer),
  );
};
