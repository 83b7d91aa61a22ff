// The display window (width/level, DICOM PS3.3 C.11.2.1.2) of the open series and where it came
// from: the file, a preset, the data's percentiles or the reader's own adjustment.
import type { WindowSource } from '../../../../shared/imaging/presets';
import type { Window } from '../../../../shared/imaging/window';

export type ShownWindow = Window & { source: WindowSource; preset?: string };

export class WindowState {
  current = $state.raw<ShownWindow>({ center: 0, width: 1, source: 'auto' });

  get center(): number {
    return this.current.center;
  }
  get width(): number {
    return this.current.width;
  }

  /** Center and width in modality units (HU for CT); the width is at least 1. */
  set(center: number, width: number, source: WindowSource = 'manual', preset?: string): void {
    this.current = { center: round(center), width: Math.max(1, round(width)), source, ...(preset ? { preset } : {}) };
  }

  reset(): void {
    this.current = { center: 0, width: 1, source: 'auto' };
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
