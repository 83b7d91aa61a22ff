// The editor's view of the viewer: the slice on screen and the tool settings, read live. It
// depends on this narrow host, not on ViewerState, so the viewer can build it without a cycle.
import type { Rect } from '../../../shared/imaging/label-ops';
import type { EditContext } from './editing';

/** What of the viewer the editor reads; ViewerState satisfies it. */
export interface EditHost {
  readonly image: { imageId: number; columns: number; rows: number } | undefined;
  readonly view: { zoom: number };
  readonly tools: { segment: number; brushSize: number };
  allowedMask(): Uint8Array | null;
  redrawLabels(rect: Rect | null, now: boolean): void;
  edited(ids: readonly number[]): void;
}

export class ViewerEditContext implements EditContext {
  constructor(private readonly v: EditHost) {}
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
    return this.v.tools.segment;
  }
  get brushRadius(): number {
    return this.v.tools.brushSize / 2;
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
