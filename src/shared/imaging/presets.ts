// Window/level presets per modality, and the window a slice opens with: the file's own window
// when it has one, else a CT preset, else (MR, US, anything else) the 1–99th percentiles.
import { percentileWindow, type Window } from './window';

export interface WindowPreset extends Window {
  id: string;
  label: string;
}

export const CT_PRESETS: readonly WindowPreset[] = [
  { id: 'soft-tissue', label: 'Soft tissue', width: 400, center: 40 },
  { id: 'lung', label: 'Lung', width: 1500, center: -600 },
  { id: 'bone', label: 'Bone', width: 2500, center: 480 },
  { id: 'brain', label: 'Brain', width: 80, center: 40 },
  { id: 'liver', label: 'Liver', width: 150, center: 90 },
];

/** Presets offered for a modality; other modalities rely on the file and percentile windows. */
export function presetsFor(modality: string): readonly WindowPreset[] {
  return modality.toUpperCase() === 'CT' ? CT_PRESETS : [];
}

export type WindowSource = 'file' | 'preset' | 'auto' | 'manual';

export interface InitialWindowInput {
  modality: string;
  fileCenter: number | null;
  fileWidth: number | null;
  values: ArrayLike<number>;
  slope: number;
  intercept: number;
}

export function initialWindow(i: InitialWindowInput): Window & { source: WindowSource } {
  if (i.fileCenter !== null && i.fileWidth !== null && i.fileWidth > 0)
    return { center: i.fileCenter, width: i.fileWidth, source: 'file' };
  const first = presetsFor(i.modality)[0];
  if (first) return { center: first.center, width: first.width, source: 'preset' };
  return { ...percentileWindow(i.values, i.slope, i.intercept), source: 'auto' };
}
