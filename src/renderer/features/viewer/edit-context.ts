// The editor's view of the viewer: the slice on screen and the tool settings, read live.
import type { Rect } from '../../../shared/imaging/label-ops';
import type { EditContext } from './editing';
import type { ViewerState } from './viewer.svelte';

/** What the editor needs from the viewer: the slice on screen and the tool settings. */
export class ViewerEditContext implements EditContext {
  constructor(private readonly v: ViewerState) {}
  get imageId(): number {
    return this.v.image?.imageId ?? 0;
  }
  get width(): number {
    return this.v.image?.columns ?? 0;
  }
  get height(): number {
    return this.v.image?.rows ?? 0;
  }
  get scale(): number {
    return this.v.view.zoom;
  }
  get segment(): number {
    return this.v.segment;
  }
  get brushRadius(): number {
    return this.v.brushSize / 2;
  }
  allowed(): Uint8Array | null {
    return this.v.allowedMask();
  }
  redraw(rect: Rect | null, now: boolean): void {
    this.v.redrawLabels(rect, now);
  }
  edited(ids: readonly number[]): void {
    this.v.edited(ids);
  }
}
