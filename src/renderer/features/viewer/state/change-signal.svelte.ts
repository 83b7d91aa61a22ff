// A change signal for data that lives outside reactivity (frames, predictions): reading `track()`
// in an effect or template subscribes it, `notify()` re-runs those readers. Replaces hand-made
// counter runes that were bumped only to be read.
import { createSubscriber } from 'svelte/reactivity';

export class ChangeSignal {
  private update: (() => void) | undefined;
  private readonly subscribe = createSubscriber((update) => {
    this.update = update;
    return () => (this.update = undefined);
  });

  /** Makes the current effect or template depend on this signal. */
  track(): void {
    this.subscribe();
  }

  notify(): void {
    this.update?.();
  }
}
