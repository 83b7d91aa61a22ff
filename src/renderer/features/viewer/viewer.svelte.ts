// The viewer's state for one open series: which slice, window, view, tool and overlays, plus
// the non-reactive parts (frames, label maps, undo history, draft) that reactivity must never
// deep-proxy. Components read the runes; the renderer pulls a Scene on each frame.
import {
  activeLabels,
  type DraftState,
  type DraftView,
  type Task,
  type TaskLabel,
  type ViewerImage,
  type ViewerSeries,
} from '../../../shared/contract';
import { labelCounts, type Rect } from '../../../shared/imaging/label-ops';
import { initialWindow, presetWindow, presetsFor, type WindowSource } from '../../../shared/imaging/presets';
import { percentileWindow } from '../../../shared/imaging/window';
import type { ApiError } from '../../../shared/result';
import { api } from '../../lib/api';
import { tasks } from '../../lib/tasks.svelte';
import { DraftSync, type DraftStatus } from './draft-sync';
import { ViewerEditContext } from './edit-context';
import { Editor } from './editing';
import { FrameCache, type Frame } from './frames';
import { PredictionCache } from './predictions';
import { labelPalette, type Scene, type ViewRenderer } from './render/renderer';
import { ChangeSignal } from './state/change-signal.svelte';
import { SliceNavigation } from './state/navigation.svelte';
import { OverlayState } from './state/overlays.svelte';
import { ToolState } from './state/tools.svelte';
import { WindowState } from './state/window.svelte';
import { actualSizeView, fitView, zoomAbout, type SliceGeometry, type View } from './viewport';

export { BRUSH_SIZES } from './state/tools.svelte';
type StoredLabelInfo = NonNullable<DraftView['storedLabel']>;
/** The stored label's time, in the reader's locale (e.g. “6 Dec 2026, 16:50”). */
const STORED_AT = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
/** A slice counts as settled (not scrolled past) after this long. */
const SETTLE_MS = 60;

export interface CursorInfo {
  x: number;
  y: number;
  /** Modality value(s) under the pointer, formatted. */
  value: string;
  label: number;
}

/**
 * The open series and what is shown of it, composed of parts: `nav` (slice, cine), `win` (window),
 * `overlay` (what is drawn over the image) and `tools` (drawing tools and their settings).
 */
export class ViewerState {
  series = $state.raw<ViewerSeries | null>(null);
  /** The series being opened or shown; null when the viewer is closed. */
  seriesId = $state<number | null>(null);
  view = $state.raw<View>({ zoom: 1, panX: 0, panY: 0 });
  cursor = $state.raw<CursorInfo | null>(null);
  pointer = $state.raw<{ sx: number; sy: number } | null>(null);
  help = $state(false);
  draftStatus = $state<DraftStatus>('clean');
  /** The saved draft against the series' stored label (review.labels): `differs` is said on screen. */
  draftVsLabel = $state<DraftState>('none');
  /**
   * Set while the labels shown are the task's stored label (the series has no draft): who stored
   * it, how and when, said on screen. Cleared by the first edit (a draft starts from it).
   */
  storedLabel = $state.raw<StoredLabelInfo | null>(null);
  notice = $state<string | null>(null);
  error = $state.raw<ApiError | null>(null);
  loadedFrames = $state(0);
  labelled = $state.raw<boolean[]>([]);
  counts = $state.raw<number[]>([]);
  undoLabel = $state<string | null>(null);
  redoLabel = $state<string | null>(null);
  /** The task whose labels are painted (its legend, colours and the digits' labels). */
  taskId = $state<number | null>(null);
  /** Label values the reader hid from the overlay (still stored and painted over). */
  hiddenLabels = $state.raw<readonly number[]>([]);

  readonly nav = new SliceNavigation(() => {
    const n = this.series?.images.length ?? 0;
    if (n > 0) this.setIndex((this.nav.index + 1) % n);
  });
  readonly win = new WindowState();
  readonly overlay = new OverlayState();
  readonly tools = new ToolState();
  /** Non-reactive data the picture depends on changed: a frame or a prediction arrived. */
  private readonly pictureChanged = new ChangeSignal();

  frames: FrameCache | null = null;
  predictions: PredictionCache | null = null;
  editor: Editor | null = null;
  draft: DraftSync | null = null;
  renderer: ViewRenderer | null = null;
  size = { width: 0, height: 0, dpr: 1 };
  private pendingAutoWindow = false;
  private viewFitted = false;
  private noticeTimer: ReturnType<typeof setTimeout> | undefined;
  private openToken = 0;
  private unsubscribe: (() => void) | undefined;
  private settleTimer: ReturnType<typeof setTimeout> | undefined;
  // Not reactive on purpose: `counts` is the reactive view of it.
  // eslint-disable-next-line svelte/prefer-svelte-reactivity
  private readonly countCache = new Map<number, number[]>();

  get image(): ViewerImage | undefined {
    return this.series?.images[this.nav.index];
  }

  get frame(): Frame | undefined {
    this.pictureChanged.track(); // templates that show the frame depend on its arrival
    const image = this.image;
    return image ? this.frames?.get(image.imageId) : undefined;
  }

  get geometry(): SliceGeometry {
    const image = this.image;
    const ps = image?.pixelSpacing;
    return { columns: image?.columns ?? 1, rows: image?.rows ?? 1, aspect: ps && ps[0] > 0 && ps[1] > 0 ? ps[0] / ps[1] : 1 };
  }

  /**
   * Opens a series on slice `index` (default: the middle one); per-series state starts afresh.
   * `taskId` chooses the task to paint; by default the chosen task when it applies to the
   * series, else the first task that does.
   */
  async open(seriesId: number, index?: number, taskId?: number): Promise<void> {
    this.close();
    this.seriesId = seriesId;
    const token = ++this.openToken;
    const [series] = await Promise.all([api.viewer.series({ seriesId }), tasks.start()]);
    if (token !== this.openToken) return;
    if (!series.ok) return void (this.error = series.error);
    const s = series.value;
    const chosen =
      (taskId !== undefined ? tasks.list.find((t) => t.id === taskId) : undefined) ??
      tasks.forSeries({ modality: s.modality, photometric: s.images[0]?.photometric ?? '' });
    // The task painted here is the one the Review, Training and Models views work on: a submit
    // from the review bar stores this task's draft, never another's.
    if (chosen) tasks.choose(chosen.id);
    this.taskId = chosen?.id ?? null;
    // No draft: the task's stored label is what the reader sees (and edits from).
    const draft = await api.viewer.draft({ seriesId, taskId: this.drawTaskId, storedLabel: true });
    if (token !== this.openToken) return;
    if (!draft.ok) return void (this.error = draft.error);
    this.tools.segment = this.paintable[0]?.value ?? 1;
    this.start(s, draft.value, index);
  }

  // Task and labels ------------------------------------------------------------------------

  /** The task the draft, the predictions shown and the review of this series belong to (the starter's without one). */
  get drawTaskId(): number {
    return this.taskId ?? 1;
  }

  /** The painted task as the backend has it now (a label added or renamed shows at once). */
  get task(): Task | null {
    return tasks.list.find((t) => t.id === this.taskId) ?? null;
  }

  /** The task's labels a reader may paint, in value order (the digits 1–9 pick them). */
  get paintable(): TaskLabel[] {
    return this.task ? activeLabels(this.task) : [];
  }

  /** The label painted now, or undefined when the task does not name the current value. */
  get paintLabel(): TaskLabel | undefined {
    return this.task?.labels.find((l) => l.value === this.tools.segment);
  }

  /** Paints the n-th (1-based) label of the task's legend from now on. */
  pickLabel(n: number): void {
    const label = this.paintable[n - 1];
    if (!label)
      return this.say(this.task ? `Task “${this.task.name}” has no label ${n}` : 'No task to paint: create one in Tasks');
    this.tools.segment = label.value;
    this.say(`Painting ${label.name}`);
  }

  /** Paints the next label of the legend (after the last, the first again). */
  nextLabel(): void {
    const list = this.paintable;
    if (list.length === 0) return;
    const at = list.findIndex((l) => l.value === this.tools.segment);
    this.tools.segment = list[(at + 1) % list.length]!.value;
  }

  toggleLabelVisible(value: number): void {
    this.hiddenLabels = this.hiddenLabels.includes(value)
      ? this.hiddenLabels.filter((x) => x !== value)
      : [...this.hiddenLabels, value];
  }

  /** Switches the task painted on this series: the draft is saved, then the series reopens with it. */
  async chooseTask(taskId: number): Promise<void> {
    tasks.choose(taskId);
    const seriesId = this.seriesId;
    if (seriesId === null || taskId === this.task?.id) return;
    await this.draft?.flush();
    await this.open(seriesId, this.nav.index, taskId);
  }

  /** The label layer's colours: the task's, without the hidden labels. */
  get labelColours(): Uint32Array {
    return labelPalette(this.task?.labels ?? [], this.hiddenLabels);
  }

  private start(series: ViewerSeries, draft: DraftView | null, index: number | undefined): void {
    const pixelsOf = (imageId: number) => {
      const image = series.images.find((i) => i.imageId === imageId);
      return image ? image.rows * image.columns : 0;
    };
    this.frames = new FrameCache(
      (imageIds) => api.viewer.frames({ imageIds }),
      (imageId) => this.frameArrived(imageId),
    );
    this.predictions = new PredictionCache(
      (imageId) => api.inference.prediction({ imageId, taskId: this.drawTaskId }),
      (imageId) => {
        if (imageId === this.image?.imageId) this.pictureChanged.notify();
      },
    );
    this.editor = new Editor(new ViewerEditContext(this), pixelsOf);
    if (draft) this.editor.restore(draft, pixelsOf);
    // A segmentation finishing while the series is open: show its predictions.
    const refresh = () => {
      this.predictions?.forget();
      const image = this.image;
      if (image) void this.predictions?.load(image.imageId);
    };
    const offJob = api.on('onDidChangeJob', (job) => job.kind === 'inference' && job.status === 'done' && refresh());
    // The engine loaded or switched its model: the active model's predictions are others.
    const offEngine = api.on('onDidChangeInference', refresh);
    // A decision on this series changes what is stored: say again whether the draft matches it.
    const offReview = api.on('onDidChangeReview', (e) => e.seriesIds.includes(series.seriesId) && void this.compareDraft());
    this.unsubscribe = () => (offJob(), offEngine(), offReview());
    const editor = this.editor;
    const sync: DraftSync = new DraftSync(
      series.seriesId,
      draft?.revision ?? 0,
      {
        hasDirty: () => editor.labels.hasDirty,
        takeDirty: () => editor.labels.takeDirty(),
        restoreDirty: (ids) => editor.labels.restoreDirty(ids),
        encode: (imageId) => editor.encode(imageId),
        history: () => editor.history.serialize(),
      },
      (input) => api.viewer.saveDraft({ ...input, taskId: this.drawTaskId }),
      (status, error) => {
        if (this.draft !== sync) return; // a series closed since
        this.draftStatus = status;
        if (status === 'saved') void this.compareDraft();
        if (error) this.error = error;
      },
    );
    this.draft = sync;
    this.storedLabel = draft?.storedLabel ?? null;
    if (this.storedLabel) sync.seedFrom(draft!.slices.map((x) => x.imageId));
    this.draftStatus = draft && !this.storedLabel ? 'saved' : 'clean';
    const first = series.images[0];
    const w = first
      ? initialWindow({
          modality: series.modality,
          fileCenter: first.windowCenter,
          fileWidth: first.windowWidth,
          values: [],
          slope: 1,
          intercept: 0,
        })
      : null;
    this.pendingAutoWindow = !w || w.source === 'auto';
    if (w && w.source !== 'auto') this.win.set(w.center, w.width, w.source);
    this.series = series;
    this.viewFitted = false;
    this.labelled = series.images.map((i) => editor.labels.hasLabels(i.imageId));
    this.refreshHistory();
    this.setIndex(index ?? Math.floor(series.images.length / 2));
    void this.compareDraft();
  }

  /** The line said while the stored label is shown, e.g. “Showing the stored label (drawn by Dr A, <date>)”. */
  get storedLabelText(): string | null {
    const s = this.storedLabel;
    if (!s) return null;
    const authors = s.authors.filter((a) => a.trim() !== '');
    const by = authors.length > 0 ? ` by ${authors.join(', ')}` : '';
    return `Showing the stored label (${s.origins.join(' and ')}${by}, ${STORED_AT.format(Date.parse(s.createdAt))})`;
  }

  /** Asks the backend whether the saved draft (the working label shown) is the stored label. */
  async compareDraft(): Promise<void> {
    const seriesId = this.seriesId;
    if (seriesId === null) return;
    const r = await api.review.labels({ seriesId, taskId: this.drawTaskId });
    if (r.ok && this.seriesId === seriesId) this.draftVsLabel = r.value.draft;
  }

  close(): void {
    this.openToken++;
    this.nav.reset();
    void this.draft?.close();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    this.frames?.dispose();
    this.series = null;
    this.seriesId = null;
    this.frames = this.predictions = this.editor = this.draft = null;
    this.countCache.clear();
    clearTimeout(this.settleTimer);
    this.loadedFrames = 0;
    this.error = null;
    // Nothing of one series may show on the next: its value under the pointer, its window, the
    // threshold range taken from its window, its label counts.
    this.cursor = null;
    this.pointer = null;
    this.counts = [];
    this.labelled = [];
    this.hiddenLabels = [];
    this.draftVsLabel = 'none';
    this.storedLabel = null;
    this.win.reset();
    this.tools.resetForSeries();
  }

  // Navigation ---------------------------------------------------------------------------

  setIndex(i: number): void {
    const series = this.series;
    if (!series || series.images.length === 0) return;
    this.tools.cancel(this.editor);
    this.nav.index = Math.max(0, Math.min(series.images.length - 1, Math.round(i)));
    const imageId = this.image!.imageId;
    void this.frames!.load(imageId);
    this.frames!.prefetchAround(
      series.images.map((x) => x.imageId),
      this.nav.index,
    );
    // While the reader scrolls, per-slice requests and counts wait until the slice stays.
    clearTimeout(this.settleTimer);
    this.settleTimer = setTimeout(() => {
      if (this.image?.imageId !== imageId) return;
      void this.predictions?.load(imageId);
      this.refreshCounts(true);
    }, SETTLE_MS);
    this.refreshCounts(false);
  }

  step(delta: number): void {
    this.setIndex(this.nav.index + delta);
  }

  // Window and view ----------------------------------------------------------------------

  setWindow(center: number, width: number, source: WindowSource = 'manual', preset?: string): void {
    this.win.set(center, width, source, preset);
  }

  applyPreset(n: number): void {
    const preset = presetsFor(this.series?.modality ?? '')[n];
    if (!preset) return this.say(`No window preset ${n + 1} for ${this.series?.modality || 'this modality'}`);
    const frame = this.frame;
    if ('low' in preset && !frame) return; // a percentile preset needs the slice's values
    const w = presetWindow(preset, frame?.pixels ?? [], frame?.slope, frame?.intercept);
    this.setWindow(w.center, w.width, 'preset', preset.label);
  }

  autoWindow(): void {
    const image = this.image;
    const frame = this.frame;
    if (!image || !frame) return;
    const w = initialWindow({
      modality: this.series!.modality,
      fileCenter: image.windowCenter,
      fileWidth: image.windowWidth,
      values: frame.pixels,
      slope: frame.slope,
      intercept: frame.intercept,
    });
    // The 0 key means "from the file, else the data": never a CT preset here.
    const auto =
      w.source === 'preset' ? { ...percentileWindow(frame.pixels, frame.slope, frame.intercept), source: 'auto' as const } : w;
    this.setWindow(auto.center, auto.width, auto.source);
  }

  /** Modality units per screen pixel of a right-drag: the frame's value range over 1024. */
  windowStep(): number {
    const f = this.frame;
    if (!f) return 1;
    return Math.max(0.1, (Math.abs(f.slope) * (f.max - f.min)) / 1024);
  }

  resize(width: number, height: number, dpr: number): void {
    this.size = { width, height, dpr };
    if (!this.viewFitted && this.image && width > 0) this.fit();
    this.renderer?.resize(width, height, dpr);
  }

  fit(): void {
    if (!this.image || this.size.width === 0) return;
    this.view = fitView(this.geometry, this.size.width, this.size.height);
    this.viewFitted = true;
  }

  actualSize(): void {
    if (!this.image) return;
    this.view = actualSizeView(this.geometry, this.size.width, this.size.height, this.size.dpr);
    this.viewFitted = true;
  }

  zoomBy(factor: number, sx = this.size.width / 2, sy = this.size.height / 2): void {
    this.view = zoomAbout(this.view, factor, sx, sy);
  }

  panBy(dx: number, dy: number): void {
    this.view = { ...this.view, panX: this.view.panX + dx, panY: this.view.panY + dy };
  }

  // Rendering ----------------------------------------------------------------------------

  /** Reads everything the picture depends on, so an $effect re-runs when any of it changes. */
  renderDeps(): unknown[] {
    this.pictureChanged.track();
    return [this.nav.index, this.win.current, this.view, ...this.overlay.deps(), this.series];
  }

  scene(): Scene | null {
    const image = this.image;
    if (!image || !this.frames || !this.editor) return null;
    const prediction = this.predictions?.peek(image.imageId) ?? null;
    const visible = !this.overlay.held;
    return {
      imageId: image.imageId,
      frame: this.frames.get(image.imageId),
      window: this.win.current,
      geometry: this.geometry,
      view: this.view,
      labels: this.editor.labels.peek(image.imageId),
      showLabels: visible && this.overlay.labels,
      style: this.overlay.style,
      opacity: this.overlay.opacity,
      prediction: prediction?.mask,
      showPrediction: visible && this.overlay.prediction,
      predictionStyle: this.overlay.predictionStyle,
      heat: prediction?.uncertainty ?? undefined,
      showHeat: visible && this.overlay.heat,
    };
  }

  redrawLabels(rect: Rect | null, now: boolean): void {
    const image = this.image;
    if (!image || !this.renderer) return;
    this.renderer.labelsChanged(rect ?? { x0: 0, y0: 0, x1: image.columns, y1: image.rows });
    if (now) this.renderer.drawNow(rect);
    else this.renderer.schedule();
  }

  private frameArrived(imageId: number): void {
    this.loadedFrames = this.frames?.size ?? 0;
    if (this.series && this.loadedFrames === this.series.images.length) void this.prefetchPredictions();
    // Only the frame on screen redraws: the others arriving (a whole series prefetching) must
    // not repaint the same picture once each (measured: tests/bench/transport.ts).
    if (imageId !== this.image?.imageId) return;
    this.pictureChanged.notify();
    const frame = this.frame;
    if (this.pendingAutoWindow && frame) {
      this.pendingAutoWindow = false;
      this.autoWindow();
    }
    const t = this.tools.threshold;
    if (frame && t.low === 0 && t.high === 0) this.thresholdFromWindow();
    if (!this.viewFitted) this.fit();
    const error = this.frames?.errors.get(imageId);
    if (error) this.error = { code: 'corrupt', message: `Slice ${this.nav.index + 1}: ${error}` };
  }

  /** Once the pixels are in, the predictions follow, one at a time, so scrolling shows them too. */
  private async prefetchPredictions(): Promise<void> {
    const predictions = this.predictions;
    for (const image of this.series?.images ?? []) {
      if (this.predictions !== predictions || !predictions) return;
      if (predictions.peek(image.imageId) === undefined) await predictions.load(image.imageId);
    }
  }

  // Editing ------------------------------------------------------------------------------

  /** The threshold range starts as the window's range: what is visible is what gets painted. */
  thresholdFromWindow(): void {
    const w = this.win.current;
    this.tools.threshold.low = round(w.center - w.width / 2);
    this.tools.threshold.high = round(w.center + w.width / 2);
  }

  allowedMask(): Uint8Array | null {
    return this.tools.allowedMask(this.frame);
  }

  edited(ids: readonly number[]): void {
    const editor = this.editor;
    const series = this.series;
    if (!editor || !series) return;
    const labelled = [...this.labelled];
    for (const id of ids) {
      const i = series.images.findIndex((x) => x.imageId === id);
      if (i >= 0) labelled[i] = editor.labels.hasLabels(id);
    }
    this.labelled = labelled;
    for (const id of ids) this.countCache.delete(id);
    this.refreshCounts();
    this.refreshHistory();
    this.storedLabel = null;
    this.draft?.touch();
  }

  refreshHistory(): void {
    this.undoLabel = this.editor?.history.undoLabel ?? null;
    this.redoLabel = this.editor?.history.redoLabel ?? null;
  }

  /** Pixels per label on the slice on screen; `compute` false shows only what is cached. */
  private refreshCounts(compute = true): void {
    const image = this.image;
    if (!image) return void (this.counts = []);
    let counts = this.countCache.get(image.imageId);
    if (!counts && compute) {
      const map = this.editor?.labels.peek(image.imageId);
      counts = map ? labelCounts(map) : [];
      this.countCache.set(image.imageId, counts);
    }
    this.counts = counts ?? [];
  }

  say(text: string): void {
    this.notice = text;
    clearTimeout(this.noticeTimer);
    this.noticeTimer = setTimeout(() => (this.notice = null), 3000);
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export const viewer = new ViewerState();
