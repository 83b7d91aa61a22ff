// The active model's prediction and uncertainty per slice, fetched when a slice is shown and
// decoded from RLE once (the heat map resampled to the slice when it was stored on the model's grid).
import type { PredictionView } from '../../../shared/contract';
import { decodeHeatMap } from '../../../shared/imaging/heat-map';
import { decodeRle } from '../../../shared/imaging/rle';
import type { Result } from '../../../shared/result';

export interface Prediction {
  mask: Uint8Array;
  uncertainty: Uint8Array | null;
}

export class PredictionCache {
  private readonly known = new Map<number, Prediction | null>();
  private readonly pending = new Map<number, Promise<Prediction | null>>();

  constructor(
    private readonly fetchPrediction: (imageId: number) => Promise<Result<PredictionView | null>>,
    private readonly onload: (imageId: number) => void,
  ) {}

  /** undefined: not asked yet; null: the slice has no prediction. */
  peek(imageId: number): Prediction | null | undefined {
    return this.known.get(imageId);
  }

  load(imageId: number): Promise<Prediction | null> {
    if (this.known.has(imageId)) return Promise.resolve(this.known.get(imageId)!);
    let p = this.pending.get(imageId);
    if (!p) {
      p = this.fetchPrediction(imageId).then((r) => {
        this.pending.delete(imageId);
        const v = r.ok ? r.value : null;
        const prediction = v
          ? {
              mask: decodeRle(v.mask, v.rows * v.columns),
              uncertainty: v.uncertainty ? decodeHeatMap(v.uncertainty, v.columns, v.rows) : null,
            }
          : null;
        // A failed request is not remembered, so the next look asks again.
        if (r.ok) this.known.set(imageId, prediction);
        this.onload(imageId);
        return prediction;
      });
      this.pending.set(imageId, p);
    }
    return p;
  }

  /** Predictions arrived or were replaced (a segmentation job finished): ask again. */
  forget(): void {
    this.known.clear();
  }
}
