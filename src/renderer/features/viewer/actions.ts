// What each shortcut and toolbar button does: one exhaustive switch over the action ids of
// keymap.ts, so adding an action without an implementation fails to compile.
import { exhaustive } from '../../../shared/result';
import type { ActionId } from './keymap';
import { interpolate } from './interpolate-client';
import { BRUSH_SIZES, type ToolChoice } from './state/tools.svelte';
import type { ViewerState } from './viewer.svelte';

const STYLES = ['fill', 'outline', 'both'] as const;

export function runAction(v: ViewerState, id: ActionId): void {
  switch (id) {
    case 'next-slice':
      return v.step(1);
    case 'prev-slice':
      return v.step(-1);
    case 'next-10':
      return v.step(10);
    case 'prev-10':
      return v.step(-10);
    case 'first-slice':
      return v.setIndex(0);
    case 'last-slice':
      return v.setIndex(Number.MAX_SAFE_INTEGER);
    case 'cine':
      return v.nav.toggleCine();
    case 'preset-1':
    case 'preset-2':
    case 'preset-3':
    case 'preset-4':
    case 'preset-5':
      return v.applyPreset(Number(id.slice(-1)) - 1);
    case 'window-auto':
      return v.autoWindow();
    case 'zoom-in':
      return v.zoomBy(1.25);
    case 'zoom-out':
      return v.zoomBy(1 / 1.25);
    case 'fit':
      return v.fit();
    case 'actual-size':
      return v.actualSize();
    case 'reset':
      v.fit();
      return v.autoWindow();
    case 'tool-window':
    case 'tool-brush':
    case 'tool-eraser':
    case 'tool-polygon':
    case 'tool-polygon-erase':
    case 'tool-flood':
      return selectTool(v, id);
    case 'brush-smaller':
    case 'brush-larger': {
      const i = BRUSH_SIZES.findIndex((s) => s >= v.tools.brushSize);
      const next =
        BRUSH_SIZES[
          Math.max(0, Math.min(BRUSH_SIZES.length - 1, (i < 0 ? BRUSH_SIZES.length - 1 : i) + (id === 'brush-larger' ? 1 : -1)))
        ]!;
      v.tools.brushSize = next;
      return;
    }
    case 'threshold':
      v.tools.threshold.enabled = !v.tools.threshold.enabled;
      return v.say(
        v.tools.threshold.enabled
          ? `Painting limited to ${v.tools.threshold.low} … ${v.tools.threshold.high}`
          : 'Painting not limited',
      );
    case 'next-segment':
      return v.nextLabel();
    case 'label-1':
    case 'label-2':
    case 'label-3':
    case 'label-4':
    case 'label-5':
    case 'label-6':
    case 'label-7':
    case 'label-8':
    case 'label-9':
      return v.pickLabel(Number(id.slice(-1)));
    case 'undo':
      return report(v, v.editor?.undo() ?? null, 'Undid', 'Nothing to undo');
    case 'redo':
      return report(v, v.editor?.redo() ?? null, 'Redid', 'Nothing to redo');
    case 'copy-prev':
      return copyFrom(v, -1);
    case 'copy-next':
      return copyFrom(v, 1);
    case 'interpolate':
      return void interpolateGaps(v);
    case 'load-prediction':
      return void loadPrediction(v, false);
    case 'load-prediction-all':
      return void loadPrediction(v, true);
    case 'toggle-labels':
      v.overlay.labels = !v.overlay.labels;
      return;
    case 'toggle-prediction':
      v.overlay.prediction = !v.overlay.prediction;
      return;
    case 'toggle-heat':
      v.overlay.heat = !v.overlay.heat;
      return;
    case 'overlay-style':
      v.overlay.style = STYLES[(STYLES.indexOf(v.overlay.style) + 1) % STYLES.length]!;
      return;
    case 'opacity-down':
    case 'opacity-up':
      v.overlay.opacity =
        Math.round(Math.max(0.1, Math.min(1, v.overlay.opacity + (id === 'opacity-up' ? 0.1 : -0.1))) * 10) / 10;
      return;
    case 'help':
      v.help = !v.help;
      return;
    default:
      exhaustive(id, 'viewer action');
  }
}

function selectTool(v: ViewerState, id: `tool-${ToolChoice}`): void {
  v.tools.cancel(v.editor);
  v.tools.id = id.slice('tool-'.length) as ToolChoice;
}

function report(v: ViewerState, label: string | null, done: string, none: string): void {
  v.say(label ? `${done}: ${label}` : none);
}

function copyFrom(v: ViewerState, delta: number): void {
  const series = v.series;
  const editor = v.editor;
  const here = v.image;
  const there = series?.images[v.nav.index + delta];
  if (!editor || !here || !there) return v.say(`No ${delta < 0 ? 'previous' : 'next'} slice`);
  if (there.rows !== here.rows || there.columns !== here.columns) return v.say('The slices differ in size');
  if (!editor.labels.hasLabels(there.imageId)) return v.say(`The ${delta < 0 ? 'previous' : 'next'} slice has no label`);
  const changed = editor.replace(
    `Copy from ${delta < 0 ? 'previous' : 'next'} slice`,
    new Map([[here.imageId, editor.labels.get(there.imageId).slice()]]),
  );
  if (!changed) v.say('Already the same label');
}

/** Fills every run of empty slices that lies between two labelled slices: one undo step. */
async function interpolateGaps(v: ViewerState): Promise<void> {
  const series = v.series;
  const editor = v.editor;
  if (!series || !editor) return;
  const images = series.images;
  const labelled = images.map((i) => editor.labels.hasLabels(i.imageId));
  const fills = new Map<number, Uint8Array>();
  let jobs = 0;
  const work: Promise<void>[] = [];
  for (let a = 0; a < images.length; a++) {
    if (!labelled[a]) continue;
    let b = a + 1;
    while (b < images.length && !labelled[b]) b++;
    if (b >= images.length || b === a + 1) continue;
    const ia = images[a]!;
    const ib = images[b]!;
    if (ia.rows !== ib.rows || ia.columns !== ib.columns) continue;
    jobs++;
    const gap = images.slice(a + 1, b);
    work.push(
      interpolate(editor.labels.get(ia.imageId), editor.labels.get(ib.imageId), ia.columns, ia.rows, gap.length).then((maps) => {
        gap.forEach((image, k) => fills.set(image.imageId, maps[k]!));
      }),
    );
  }
  if (jobs === 0) return v.say('Nothing to interpolate: label two slices with empty slices between them');
  v.say('Interpolating…');
  await Promise.all(work);
  if (v.editor !== editor) return; // the series was closed meanwhile
  const n = editor.replace('Interpolate', fills);
  v.say(`Interpolated ${n} slice${n === 1 ? '' : 's'}`);
}

/** The model's mask becomes the working label: this slice or all, as one undo step. */
export async function loadPrediction(v: ViewerState, all: boolean): Promise<void> {
  const series = v.series;
  const editor = v.editor;
  const predictions = v.predictions;
  if (!series || !editor || !predictions || !v.image) return;
  const images = all ? series.images : [v.image];
  const found = await Promise.all(images.map((i) => predictions.load(i.imageId)));
  if (v.editor !== editor) return;
  const maps = new Map<number, Uint8Array>();
  images.forEach((image, k) => {
    const p = found[k];
    if (p) maps.set(image.imageId, p.mask.slice());
  });
  if (maps.size === 0) return v.say('No prediction yet: segment the series first');
  const n = editor.replace(all ? 'Load prediction (all slices)' : 'Load prediction', maps);
  v.say(n ? `Loaded the prediction into ${n} slice${n === 1 ? '' : 's'}` : 'The label already matches the prediction');
}
