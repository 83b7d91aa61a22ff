// Window/level presets per modality, and the window a slice opens with: the file's own window
// when it has one, else a CT preset, else (MR, US, anything else) the 1–99th percentiles.
// CT values are calibrated (Hounsfield units), so its presets are fixed windows; MR and
// ultrasound values are not, so theirs are percentile ranges of the slice on screen.
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

/** A window from the low..high percentiles of the slice's modality values. */
export interface PercentilePreset {
  id: string;
  label: string;
  low: number;
  high: number;
}

export const PERCENTILE_PRESETS: readonly PercentilePreset[] = [
  { id: 'full', label: 'Full range', low: 0, high: 100 },
  { id: 'standard', label: '1–99 %', low: 1, high: 99 },
  { id: 'contrast', label: '5–95 %', low: 5, high: 95 },
  { id: 'high-contrast', label: '15–85 %', low: 15, high: 85 },
  { id: 'bright', label: 'Bright 50–99.5 %', low: 50, high: 99.5 },
];

export type AnyPreset = WindowPreset | PercentilePreset;

/** Presets offered for a modality: fixed windows for CT, percentile ranges for all others. */
export function presetsFor(modality: string): readonly AnyPreset[] {
  return modality.toUpperCase() === 'CT' ? CT_PRESETS : PERCENTILE_PRESETS;
}

/** The window a preset gives on a slice: fixed, or from the slice's own values. */
export function presetWindow(preset: AnyPreset, values: ArrayLike<number>, slope = 1, intercept = 0): Window {
  return 'low' in preset
    ? percentileWindow(values, slope, intercept, preset.low, preset.high)
    : { center: preset.center, width: preset.width };
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
  const first = i.modality.toUpperCase() === 'CT' ? CT_PRESETS[0] : undefined;
  if (first) return { center: first.center, width: first.width, source: 'preset' };
  return { ...percentileWindow(i.values, i.slope, i.intercept), source: 'auto' };
}
