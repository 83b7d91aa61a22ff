// The Review view's state: which queue is shown, the open case, the decision keys' effects, and
// the address (#/review/<queue>/<series>) so a reload returns to the same case. The viewer is the
// workspace; this class only tells it which series to show and when editing starts.
import type { AuditEntry, ReviewDecision, ReviewItem, ReviewQueue } from '../../../shared/contract';
import type { ApiError, Result } from '../../../shared/result';
import { transition, type ReviewAction } from '../../../shared/review/state';
import { api } from '../../lib/api';
import { currentTaskId } from '../../lib/tasks.svelte';
import { loadPrediction } from '../viewer/actions';
import { viewer } from '../viewer/viewer.svelte';

export type ReviewTab = ReviewQueue | 'audit';
export type ReviewMode = 'decide' | 'edit' | 'reject';

const ADDRESS = /^#\/review\/(review|correction|audit)(?:\/(\d+))?$/;

/** The tab and series named by an address such as `#/review/correction/12`, or null. */
export function parseAddress(hash: string): { tab: ReviewTab; seriesId: number | null } | null {
  const m = ADDRESS.exec(hash);
  return m ? { tab: m[1] as ReviewTab, seriesId: m[2] ? Number(m[2]) : null } : null;
}

export class ReviewSession {
  tab = $state<ReviewTab>('review');
  items = $state.raw<ReviewItem[]>([]);
  current = $state.raw<ReviewItem | null>(null);
  mode = $state<ReviewMode>('decide');
  rejectReason = $state('');
  message = $state<string | null>(null);
  error = $state<ApiError | null>(null);
  audit = $state.raw<AuditEntry[]>([]);
  auditFilter = $state('');
  /** The last accept, so Ctrl/Cmd+Z can undo it as one step. */
  lastAccepted = $state<number | null>(null);
  thumbnails = $state<Record<number, string | null>>({});
  private started = false;

  /**
   * Each time the view is shown: a series opened from the worklist stays open for viewing; else
   * the address wins (a reload returns to its case); else the queue's first case.
   */
  async enter(): Promise<void> {
    if (!this.started) {
      this.started = true;
      api.on('onDidChangeJob', (job) => {
        if (job.kind === 'inference' && job.status === 'done' && this.tab !== 'audit') void this.refresh();
      });
    }
    const opened = viewer.seriesId;
    if (opened !== null) {
      // Opened from the worklist: plain viewing and editing, with every viewer key; a case is
      // decided from the queue (click it, or Shift+1 / Shift+2).
      if (this.current?.seriesId !== opened) {
        this.current = null;
        this.message = null; // a message about the last case is not about this series
      }
      return this.refresh();
    }
    const address = parseAddress(location.hash);
    await this.show(address?.tab ?? this.tab, address?.seriesId ?? undefined);
  }

  /** Switches tab; opens `seriesId`, or the queue's first case, or nothing. */
  async show(tab: ReviewTab, seriesId?: number): Promise<void> {
    this.tab = tab;
    this.mode = 'decide';
    if (tab === 'audit') {
      this.current = null;
      viewer.close();
      this.setAddress();
      return this.loadAudit();
    }
    await this.refresh();
    const target = seriesId ?? this.items[0]?.seriesId;
    if (target !== undefined) await this.open(target);
    else {
      this.current = null;
      viewer.close();
      this.setAddress();
    }
  }

  async refresh(): Promise<void> {
    if (this.tab === 'audit') return this.loadAudit();
    const items = this.take(await api.review.queue({ queue: this.tab, taskId: currentTaskId() }));
    if (!items) return;
    this.items = items;
    for (const i of items) if (!(i.seriesId in this.thumbnails)) void this.thumbnail(i.seriesId);
  }

  async open(seriesId: number): Promise<void> {
    const item = this.take(await api.review.item({ seriesId, open: true, taskId: currentTaskId() }));
    if (!item) return;
    this.current = item;
    this.mode = 'decide';
    this.setAddress();
    if (viewer.seriesId !== seriesId) await viewer.open(seriesId);
  }

  /** Whether an action is allowed on the open case (the key is shown greyed otherwise). */
  allowed(action: ReviewAction): boolean {
    return this.current !== null && transition(this.current.state, action).ok;
  }

  async accept(): Promise<void> {
    const c = this.current;
    if (!c || !this.allowed('accept')) return;
    // The reader's strokes are saved first: a series with a drawn draft is decided from it (what the
    // viewer shows), never replaced by the bare prediction.
    if (viewer.seriesId === c.seriesId) await viewer.draft?.flush();
    const d = this.take(await api.review.accept({ seriesId: c.seriesId, taskId: currentTaskId() }));
    if (d) {
      this.lastAccepted = c.seriesId;
      await this.advance(
        d,
        d.fromDraft
          ? `Your draft is the label: ${labelSummary(d)} (Ctrl+Z undoes)`
          : 'Accepted: the prediction is the label (Ctrl+Z undoes)',
      );
    }
  }

  /** E: the viewer's tools on a working label that starts from the prediction. */
  async edit(): Promise<void> {
    if (!this.current || this.mode === 'edit') return;
    // The tools come on only once the prediction is in the working label, so no stroke is lost under it.
    if (!viewer.labelled.some(Boolean) && this.current.modelVersionId !== null) await loadPrediction(viewer, true);
    this.mode = 'edit';
    this.message = 'Editing: the viewer’s tools work; Ctrl+Enter submits, Esc returns to the decision keys';
  }

  async submit(): Promise<void> {
    const c = this.current;
    if (!c || !this.allowed('submit')) return;
    await viewer.draft?.flush();
    const d = this.take(await api.review.submit({ seriesId: c.seriesId, taskId: currentTaskId() }));
    if (d) await this.advance(d, `Submitted: ${labelSummary(d)}`);
  }

  /**
   * Ctrl/Cmd+Enter (or the bar's Submit) on a series opened from the worklist, which is no case of
   * a queue: the reader's saved drawing becomes the painted task's label. This is how a task
   * without a model gets the labels of its first model (issue 22): it has no prediction to review.
   * The backend drops the draft it stored, so the series reopens on the same slice with none.
   */
  async submitDrawing(): Promise<void> {
    const seriesId = viewer.seriesId;
    // The stored label shown without a draft: nothing of the reader's to submit.
    if (seriesId === null || this.current || !viewer.labelled.some(Boolean) || viewer.storedLabel) return;
    const taskId = viewer.drawTaskId;
    const task = viewer.task?.name;
    await viewer.draft?.flush();
    const d = this.take(await api.review.submit({ seriesId, taskId }));
    if (!d) return;
    this.message = `Submitted: ${labelSummary(d)}${task ? ` as labels of “${task}”` : ''}`;
    if (viewer.seriesId === seriesId) await viewer.open(seriesId, viewer.nav.index, taskId);
    void this.refresh();
  }

  startReject(): void {
    if (!this.allowed('reject')) return;
    this.mode = 'reject';
    this.rejectReason = '';
  }

  async confirmReject(): Promise<void> {
    const c = this.current;
    if (!c) return;
    const d = this.take(await api.review.reject({ seriesId: c.seriesId, taskId: currentTaskId(), reason: this.rejectReason }));
    if (d) await this.advance(d, 'Rejected: sent to the correction queue');
  }

  async skip(): Promise<void> {
    const c = this.current;
    if (!c || !this.allowed('skip')) return;
    const d = this.take(await api.review.skip({ seriesId: c.seriesId, taskId: currentTaskId() }));
    if (d) await this.advance(d, 'Skipped: it comes back after the others');
  }

  async step(direction: 'next' | 'prev'): Promise<void> {
    const c = this.current;
    if (!c || this.tab === 'audit') return;
    const n = this.take(await api.review.neighbor({ seriesId: c.seriesId, taskId: currentTaskId(), direction, queue: this.tab }));
    if (n) await this.open(n.seriesId);
    else if (n === null)
      this.message = direction === 'next' ? 'This is the last case in the queue' : 'This is the first case in the queue';
  }

  async assign(assignee: string, note: string): Promise<void> {
    const c = this.current;
    if (!c) return;
    const d = this.take(await api.review.assign({ seriesId: c.seriesId, taskId: currentTaskId(), assignee, note }));
    if (d) {
      this.current = d.item;
      await this.refresh();
    }
  }

  /** Ctrl/Cmd+Z after an accept: the labels are superseded and the case is open again. */
  async undoAccept(): Promise<boolean> {
    const id = this.lastAccepted;
    if (id === null) return false;
    this.lastAccepted = null;
    const d = this.take(await api.review.reopen({ seriesId: id, taskId: currentTaskId() }));
    if (!d) return true;
    this.message = 'Accept undone: the case waits for a decision again';
    await this.refresh();
    await this.open(id);
    return true;
  }

  async loadAudit(): Promise<void> {
    const filter = this.auditFilter.trim();
    const entries = this.take(await api.review.audit(filter ? { action: filter } : {}));
    if (entries) this.audit = entries;
  }

  private async advance(d: ReviewDecision, message: string): Promise<void> {
    this.message = message;
    this.mode = 'decide';
    this.items = this.items.filter(
      (i) => i.seriesId !== d.item.seriesId || d.item.state === (this.tab === 'review' ? 'to-review' : 'in-correction'),
    );
    if (d.next) await this.open(d.next.seriesId);
    else {
      this.current = null;
      viewer.close();
      this.setAddress();
      this.message = `${message}. The queue is empty.`;
    }
    void this.refresh();
  }

  private async thumbnail(seriesId: number): Promise<void> {
    const r = await api.worklist.thumbnail({ seriesId });
    this.thumbnails[seriesId] = r.ok ? r.value : null;
  }

  private setAddress(): void {
    const hash = `#/review/${this.tab}${this.current ? `/${this.current.seriesId}` : ''}`;
    if (location.hash !== hash) history.replaceState(null, '', hash);
  }

  private take<T>(r: Result<T>): T | undefined {
    if (r.ok) {
      this.error = null;
      return r.value;
    }
    this.error = r.error;
    return undefined;
  }
}

/** "2 slice labels saved (edit Dice 0.912)": what a submit (or an accept of a draft) stored. */
function labelSummary(d: ReviewDecision): string {
  const edited = d.labels.filter((l) => l.origin === 'edited');
  const dice = edited.length
    ? ` (edit Dice ${(edited.reduce((a, l) => a + (l.editDice ?? 0), 0) / edited.length).toFixed(3)})`
    : '';
  return `${d.labels.length} slice label${d.labels.length === 1 ? '' : 's'} saved${dice}`;
}

export const review = new ReviewSession();
