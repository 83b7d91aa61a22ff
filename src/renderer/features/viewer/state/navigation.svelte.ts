// Which slice is on screen, and cine: the position part of the viewer's state. Moving to a slice
// (loading, prefetching) is the viewer's; this part only holds the position and the cine timer.
export class SliceNavigation {
  index = $state(0);
  cinePlaying = $state(false);
  /** Cine frames per second. */
  fps = $state(10);
  private timer: ReturnType<typeof setInterval> | undefined;

  /** `advance` moves one slice on (wrapping); called fps times a second while playing. */
  constructor(private readonly advance: () => void) {}

  toggleCine(): void {
    if (this.cinePlaying) return this.stopCine();
    this.cinePlaying = true;
    this.timer = setInterval(this.advance, 1000 / this.fps);
  }

  stopCine(): void {
    clearInterval(this.timer);
    this.cinePlaying = false;
  }

  reset(): void {
    this.stopCine();
    this.index = 0;
  }
}
