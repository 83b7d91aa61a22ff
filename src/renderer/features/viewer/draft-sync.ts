// Saves the working labels as a draft through the backend while the reader edits: at most
// 400 ms after the last edit and never more than a second after the first unsaved one, one
// save in flight at a time, each carrying the slices changed since the last save and the whole
// undo history (small: only changed pixels, RLE).
import type { DraftSlice } from '../../../shared/contract';
import type { SerializedHistory } from '../../../shared/imaging/history';
import type { ApiError, Result } from '../../../shared/result';

export type DraftStatus = 'clean' | 'pending' | 'saving' | 'saved' | 'error' | 'conflict';

export interface DraftSource {
  hasDirty(): boolean;
  takeDirty(): number[];
  restoreDirty(ids: number[]): void;
  encode(imageId: number): Uint8Array;
  history(): SerializedHistory | null;
}

type Save = (input: {
  seriesId: number;
  baseRevision: number;
  slices: DraftSlice[];
  history: SerializedHistory | null;
}) => Promise<Result<{ revision: number; updatedAt: string }>>;

const QUIET_MS = 400;
const MAX_WAIT_MS = 1000;
const RETRY_MS = 2000;

export class DraftSync {
  private quietTimer: ReturnType<typeof setTimeout> | undefined;
  private maxTimer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: Promise<void> | null = null;
  private again = false;
  private stopped = false;
  private touchedWhileSaving = false;
  /** Slices of the stored label the viewer started from, sent with the first save (seedFrom). */
  private seeded: number[] = [];

  constructor(
    private readonly seriesId: number,
    public revision: number,
    private readonly source: DraftSource,
    private readonly save: Save,
    private readonly onstatus: (status: DraftStatus, error?: ApiError) => void,
  ) {}

  /**
   * The viewer starts from the task's stored label (no draft yet): the first save that carries
   * an edit also carries these slices, so the draft it creates is the stored label plus the
   * edit, never the edit alone. Nothing is saved for them until the reader edits.
   */
  seedFrom(imageIds: readonly number[]): void {
    this.seeded = [...imageIds];
  }

  /** Something changed: save soon. */
  touch(): void {
    if (this.stopped) return;
    this.onstatus('pending');
    this.touchedWhileSaving = this.inFlight !== null;
    clearTimeout(this.quietTimer);
    this.quietTimer = setTimeout(() => void this.flush(), QUIET_MS);
    this.maxTimer ??= setTimeout(() => void this.flush(), MAX_WAIT_MS);
  }

  /** Saves now (and again after the save in flight, if one is). */
  async flush(): Promise<void> {
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    this.quietTimer = this.maxTimer = undefined;
    if (this.stopped) return;
    if (this.inFlight) {
      this.again = true;
      return this.inFlight;
    }
    this.inFlight = this.saveOnce().finally(() => (this.inFlight = null));
    await this.inFlight;
    if (this.again) {
      this.again = false;
      await this.flush();
    }
  }

  /** Saves what is left (after any save in flight) and stops: the series is being closed. */
  async close(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearTimeout(this.quietTimer);
    clearTimeout(this.maxTimer);
    if (this.inFlight) await this.inFlight;
    if (this.source.hasDirty()) await this.saveOnce();
  }

  private async saveOnce(): Promise<void> {
    const edited = this.source.takeDirty();
    // No draft and nothing edited: nothing to save (an empty draft would submit as an empty label).
    if (edited.length === 0 && this.revision === 0) return;
    const ids = edited.length > 0 ? [...new Set([...edited, ...this.seeded])] : edited;
    if (edited.length > 0) this.seeded = [];
    const slices = ids.map((imageId) => ({ imageId, labels: this.source.encode(imageId) }));
    this.onstatus('saving');
    this.touchedWhileSaving = false;
    const result = await this.save({
      seriesId: this.seriesId,
      baseRevision: this.revision,
      slices,
      history: this.source.history(),
    });
    if (result.ok) {
      this.revision = result.value.revision;
      this.onstatus(this.touchedWhileSaving ? 'pending' : 'saved');
      return;
    }
    this.source.restoreDirty(ids);
    if (result.error.code === 'conflict') {
      // Another window owns the draft now: stop rather than overwrite its work.
      this.stopped = true;
      this.onstatus('conflict', result.error);
      return;
    }
    this.onstatus('error', result.error);
    if (!this.stopped) this.quietTimer = setTimeout(() => void this.flush(), RETRY_MS);
  }
}
