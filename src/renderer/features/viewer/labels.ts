// The working label maps of a series: one Uint8Array per slice (0 = background), created on
// first touch, outside any reactivity. Tracks which slices changed since the last draft save.
import { isEmpty } from '../../../shared/imaging/label-ops';

export class LabelStore {
  private readonly maps = new Map<number, Uint8Array>();
  private readonly dirty = new Set<number>();

  constructor(private readonly pixelsOf: (imageId: number) => number) {}

  peek(imageId: number): Uint8Array | undefined {
    return this.maps.get(imageId);
  }

  get(imageId: number): Uint8Array {
    let map = this.maps.get(imageId);
    if (!map) this.maps.set(imageId, (map = new Uint8Array(this.pixelsOf(imageId))));
    return map;
  }

  set(imageId: number, map: Uint8Array): void {
    this.maps.set(imageId, map);
  }

  hasLabels(imageId: number): boolean {
    const map = this.maps.get(imageId);
    return map !== undefined && !isEmpty(map);
  }

  markDirty(imageId: number): void {
    this.dirty.add(imageId);
  }

  get hasDirty(): boolean {
    return this.dirty.size > 0;
  }

  takeDirty(): number[] {
    const ids = [...this.dirty];
    this.dirty.clear();
    return ids;
  }

  /** After a failed save: those slices still need saving. */
  restoreDirty(ids: readonly number[]): void {
    for (const id of ids) this.dirty.add(id);
  }
}
