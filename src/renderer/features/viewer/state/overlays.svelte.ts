// What is drawn over the image: the working label, the model's prediction, its uncertainty, how
// each is drawn, and whether the reader holds H to see the bare image.
import type { OverlayStyle } from '../render/label-layer';

export class OverlayState {
  labels = $state(true);
  prediction = $state(true);
  heat = $state(false);
  style = $state<OverlayStyle>('both');
  predictionStyle = $state<OverlayStyle>('outline');
  /** 0.1–1; starts from Settings → Overlay opacity. */
  opacity = $state(0.6);
  /** H held: every overlay hidden. */
  held = $state(false);

  /** Everything the picture depends on here, read so an effect re-runs on any change. */
  deps(): unknown[] {
    return [this.labels, this.prediction, this.heat, this.style, this.predictionStyle, this.opacity, this.held];
  }
}
