// Every viewer action and its keys, in one table: the key handler, the tooltips and the help
// overlay (?) all read it, so a shortcut is never documented in one place and bound in another.

export type ActionId =
  | 'next-slice'
  | 'prev-slice'
  | 'next-10'
  | 'prev-10'
  | 'first-slice'
  | 'last-slice'
  | 'cine'
  | 'preset-1'
  | 'preset-2'
  | 'preset-3'
  | 'preset-4'
  | 'preset-5'
  | 'window-auto'
  | 'label-1'
  | 'label-2'
  | 'label-3'
  | 'label-4'
  | 'label-5'
  | 'label-6'
  | 'label-7'
  | 'label-8'
  | 'label-9'
  | 'zoom-in'
  | 'zoom-out'
  | 'fit'
  | 'actual-size'
  | 'reset'
  | 'tool-window'
  | 'tool-brush'
  | 'tool-eraser'
  | 'tool-polygon'
  | 'tool-polygon-erase'
  | 'tool-flood'
  | 'brush-smaller'
  | 'brush-larger'
  | 'threshold'
  | 'next-segment'
  | 'undo'
  | 'redo'
  | 'copy-prev'
  | 'copy-next'
  | 'interpolate'
  | 'load-prediction'
  | 'load-prediction-all'
  | 'toggle-labels'
  | 'toggle-prediction'
  | 'toggle-heat'
  | 'overlay-style'
  | 'opacity-down'
  | 'opacity-up'
  | 'help';

export interface Shortcut {
  id: ActionId;
  /**
   * Whether the key means this only while a drawing tool is chosen ('painting': the digits pick
   * the task's labels) or only while left-drag sets the window ('reading': the digits are window
   * presets, as in a PACS). Absent: always.
   */
  when?: 'painting' | 'reading';
  group: 'Navigate' | 'Window' | 'View' | 'Tools' | 'Edit' | 'Overlays' | 'Help';
  label: string;
  keys: string;
  match(e: KeyboardEvent): boolean;
}

const plain = (key: string) => (e: KeyboardEvent) =>
  !e.ctrlKey && !e.metaKey && !e.altKey && e.key.toLowerCase() === key && !e.shiftKey;
const shifted = (key: string) => (e: KeyboardEvent) =>
  !e.ctrlKey && !e.metaKey && !e.altKey && e.shiftKey && e.key.toLowerCase() === key;
const exact = (key: string) => (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey && e.key === key;
const digit = (d: string) => (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey && !e.shiftKey && e.code === `Digit${d}`;
const labelKey = (n: number): Shortcut => ({
  id: `label-${n}` as ActionId,
  group: 'Tools',
  label: `Paint label ${n} of the task's legend (while a drawing tool is chosen)`,
  keys: String(n),
  when: 'painting',
  match: digit(String(n)),
});
const ctrl = (key: string, shift: boolean) => (e: KeyboardEvent) =>
  (e.ctrlKey || e.metaKey) && !e.altKey && e.shiftKey === shift && e.key.toLowerCase() === key;

export const SHORTCUTS: readonly Shortcut[] = [
  {
    id: 'next-slice',
    group: 'Navigate',
    label: 'Next slice',
    keys: '↓ / → / wheel',
    match: (e) => exact('ArrowDown')(e) || exact('ArrowRight')(e),
  },
  {
    id: 'prev-slice',
    group: 'Navigate',
    label: 'Previous slice',
    keys: '↑ / ← / wheel',
    match: (e) => exact('ArrowUp')(e) || exact('ArrowLeft')(e),
  },
  { id: 'next-10', group: 'Navigate', label: '10 slices on', keys: 'PageDown', match: exact('PageDown') },
  { id: 'prev-10', group: 'Navigate', label: '10 slices back', keys: 'PageUp', match: exact('PageUp') },
  { id: 'first-slice', group: 'Navigate', label: 'First slice', keys: 'Home', match: exact('Home') },
  { id: 'last-slice', group: 'Navigate', label: 'Last slice', keys: 'End', match: exact('End') },
  { id: 'cine', group: 'Navigate', label: 'Cine play / pause', keys: 'K', match: plain('k') },
  {
    id: 'preset-1',
    group: 'Window',
    label: 'Window preset 1: CT soft tissue 400/40; MR, US… full range (no drawing tool)',
    keys: '1',
    when: 'reading',
    match: digit('1'),
  },
  {
    id: 'preset-2',
    group: 'Window',
    label: 'Window preset 2: CT lung 1500/−600; MR, US… 1–99 % (no drawing tool)',
    keys: '2',
    when: 'reading',
    match: digit('2'),
  },
  {
    id: 'preset-3',
    group: 'Window',
    label: 'Window preset 3: CT bone 2500/480; MR, US… 5–95 % (no drawing tool)',
    keys: '3',
    when: 'reading',
    match: digit('3'),
  },
  {
    id: 'preset-4',
    group: 'Window',
    label: 'Window preset 4: CT brain 80/40; MR, US… 15–85 % (no drawing tool)',
    keys: '4',
    when: 'reading',
    match: digit('4'),
  },
  {
    id: 'preset-5',
    group: 'Window',
    label: 'Window preset 5: CT liver 150/90; MR, US… bright 50–99.5 % (no drawing tool)',
    keys: '5',
    when: 'reading',
    match: digit('5'),
  },
  { id: 'window-auto', group: 'Window', label: 'File window, else auto (percentiles)', keys: '0', match: digit('0') },
  {
    id: 'zoom-in',
    group: 'View',
    label: 'Zoom in (or Ctrl + wheel, pinch)',
    keys: '+',
    match: (e) => exact('+')(e) || exact('=')(e),
  },
  { id: 'zoom-out', group: 'View', label: 'Zoom out', keys: '−', match: exact('-') },
  { id: 'fit', group: 'View', label: 'Fit to window', keys: 'F', match: plain('f') },
  { id: 'actual-size', group: 'View', label: 'Actual size (1:1)', keys: 'A', match: plain('a') },
  { id: 'reset', group: 'View', label: 'Reset view and window', keys: 'R', match: plain('r') },
  {
    id: 'tool-window',
    group: 'Tools',
    label: 'Window/level with the left button (no drawing tool)',
    keys: 'W',
    match: plain('w'),
  },
  { id: 'tool-brush', group: 'Tools', label: 'Brush', keys: 'B', match: plain('b') },
  { id: 'tool-eraser', group: 'Tools', label: 'Eraser', keys: 'E', match: plain('e') },
  { id: 'tool-polygon', group: 'Tools', label: 'Polygon / lasso fill', keys: 'P', match: plain('p') },
  { id: 'tool-polygon-erase', group: 'Tools', label: 'Polygon / lasso erase', keys: 'Shift+P', match: shifted('p') },
  { id: 'tool-flood', group: 'Tools', label: 'Flood fill (Shift+click erases)', keys: 'G', match: plain('g') },
  { id: 'brush-smaller', group: 'Tools', label: 'Smaller brush', keys: '[', match: exact('[') },
  { id: 'brush-larger', group: 'Tools', label: 'Larger brush', keys: ']', match: exact(']') },
  { id: 'threshold', group: 'Tools', label: 'Limit painting to the intensity range', keys: 'T', match: plain('t') },
  { id: 'next-segment', group: 'Tools', label: 'Next label of the task', keys: 'S', match: plain('s') },
  ...[1, 2, 3, 4, 5, 6, 7, 8, 9].map(labelKey),
  { id: 'undo', group: 'Edit', label: 'Undo', keys: 'Ctrl+Z', match: ctrl('z', false) },
  {
    id: 'redo',
    group: 'Edit',
    label: 'Redo',
    keys: 'Ctrl+Shift+Z / Ctrl+Y',
    match: (e) => ctrl('z', true)(e) || ctrl('y', false)(e),
  },
  { id: 'copy-prev', group: 'Edit', label: 'Copy label from previous slice', keys: 'C', match: plain('c') },
  { id: 'copy-next', group: 'Edit', label: 'Copy label from next slice', keys: 'Shift+C', match: shifted('c') },
  { id: 'interpolate', group: 'Edit', label: 'Interpolate empty slices between labelled ones', keys: 'N', match: plain('n') },
  { id: 'load-prediction', group: 'Edit', label: 'Load prediction into this slice', keys: 'L', match: plain('l') },
  { id: 'load-prediction-all', group: 'Edit', label: 'Load prediction into every slice', keys: 'Shift+L', match: shifted('l') },
  { id: 'toggle-labels', group: 'Overlays', label: 'Show / hide labels (hold H hides all)', keys: 'O', match: plain('o') },
  { id: 'toggle-prediction', group: 'Overlays', label: 'Show / hide the prediction', keys: 'I', match: plain('i') },
  { id: 'toggle-heat', group: 'Overlays', label: 'Show / hide uncertainty heat map', keys: 'U', match: plain('u') },
  { id: 'overlay-style', group: 'Overlays', label: 'Labels as fill / outline / both', keys: 'M', match: plain('m') },
  { id: 'opacity-down', group: 'Overlays', label: 'Less opaque', keys: '{', match: exact('{') },
  { id: 'opacity-up', group: 'Overlays', label: 'More opaque', keys: '}', match: exact('}') },
  { id: 'help', group: 'Help', label: 'This help', keys: '?', match: exact('?') },
];

/** Mouse gestures, for the help overlay. */
export const GESTURES: readonly { keys: string; label: string }[] = [
  {
    keys: 'Left drag',
    label:
      'Window/level until a drawing tool is chosen; then the tool (polygon: click vertices, drag for a lasso; double-click or Enter closes)',
  },
  { keys: 'Right drag', label: 'Window: ← → width, ↑ ↓ level' },
  { keys: 'Middle drag / Space + drag', label: 'Pan' },
  { keys: 'Wheel', label: 'Scroll slices' },
  { keys: 'Ctrl + wheel / pinch', label: 'Zoom about the pointer' },
  { keys: 'Hold H', label: 'Hide every overlay while held' },
  { keys: 'Esc', label: 'Cancel the polygon being drawn; close this help' },
];

/** The action of a key; `painting` says whether a drawing tool is chosen (see Shortcut.when). */
export function findShortcut(e: KeyboardEvent, painting: boolean): ActionId | null {
  const mode = painting ? 'painting' : 'reading';
  return SHORTCUTS.find((s) => (s.when === undefined || s.when === mode) && s.match(e))?.id ?? null;
}

/** "Brush (B)": for tooltips. */
export function tip(id: ActionId): string {
  const s = SHORTCUTS.find((x) => x.id === id);
  return s ? `${s.label} (${s.keys})` : id;
}
