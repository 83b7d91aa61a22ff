// Draft queries: one row per series and task in `drafts` (migration 0180), one per labelled slice
// in `draft_slices`. Each task's draft is its own: painting the thyroid task never touches the
// lesion draft of the same series.
// A save writes the changed slices and the history in one transaction, so the stored labels
// and the stored undo history always describe the same state.
import type { DraftSlice, DraftView, LabelOrigin } from '../../shared/contract';
import type { SerializedHistory } from '../../shared/imaging/history';
import { decodeRle } from '../../shared/imaging/rle';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';

export interface SaveInput {
  seriesId: number;
  taskId: number;
  baseRevision: number;
  slices: DraftSlice[];
  history: SerializedHistory | null;
}

export class DraftStore {
  constructor(private readonly db: Database) {}

  read(seriesId: number, taskId = 1): DraftView | null {
    const draft = this.db
      .prepare('SELECT revision, history, updated_at FROM drafts WHERE series_id = ? AND task_id = ?')
      .get(seriesId, taskId) as { revision: number; history: string | null; updated_at: string } | undefined;
    if (!draft) return null;
    const slices = this.db
      .prepare(
        `SELECT d.image_id AS imageId, d.labels FROM draft_slices d JOIN images i ON i.id = d.image_id
         WHERE d.series_id = ? AND d.task_id = ? ORDER BY i.position_index, i.id`,
      )
      .all(seriesId, taskId) as { imageId: number; labels: Buffer }[];
    return {
      seriesId,
      taskId,
      revision: draft.revision,
      slices: slices.map((s) => ({ imageId: s.imageId, labels: s.labels })),
      history: draft.history === null ? null : readHistory(draft.history),
      updatedAt: draft.updated_at,
    };
  }

  /**
   * The task's current stored label (rows of `labels` not superseded) as the viewer's starting
   * state when the series has no draft: revision 0 (a first save creates the draft), no undo
   * history, only slices with labelled pixels, each map the stored RLE unchanged (pixel-equal).
   * `storedLabel` names its authors, origins and latest time. Null when the task has no stored
   * label on the series. Reads only: opening a series writes nothing.
   */
  readStoredLabel(seriesId: number, taskId = 1): DraftView | null {
    const rows = this.db
      .prepare(
        `SELECT l.image_id AS imageId, l.mask, l.foreground_pixels AS foreground, l.author, l.origin, l.created_at AS createdAt
         FROM labels l JOIN images i ON i.id = l.image_id
         WHERE l.series_id = ? AND l.task_id = ? AND l.superseded_at IS NULL ORDER BY i.position_index, i.id`,
      )
      .all(seriesId, taskId) as {
      imageId: number;
      mask: Buffer;
      foreground: number;
      author: string;
      origin: LabelOrigin;
      createdAt: string;
    }[];
    if (rows.length === 0) return null;
    const createdAt = rows.reduce((at, r) => (r.createdAt > at ? r.createdAt : at), rows[0]!.createdAt);
    return {
      seriesId,
      taskId,
      revision: 0,
      slices: rows.filter((r) => r.foreground > 0).map((r) => ({ imageId: r.imageId, labels: r.mask })),
      history: null,
      updatedAt: createdAt,
      storedLabel: {
        authors: [...new Set(rows.map((r) => r.author))],
        origins: [...new Set(rows.map((r) => r.origin))],
        createdAt,
      },
    };
  }

  save(input: SaveInput): { revision: number; updatedAt: string } {
    const sizes = new Map(
      (
        this.db.prepare('SELECT id, rows * columns AS pixels FROM images WHERE series_id = ?').all(input.seriesId) as {
          id: number;
          pixels: number;
        }[]
      ).map((r) => [r.id, r.pixels]),
    );
    if (sizes.size === 0 && !this.db.prepare('SELECT 1 FROM series WHERE id = ?').get(input.seriesId)) {
      throw new ServiceError('not-found', `no series ${input.seriesId}`);
    }
    if (!this.db.prepare('SELECT 1 FROM tasks WHERE id = ?').get(input.taskId))
      throw new ServiceError('not-found', `no task ${input.taskId}`);
    // Decode before the transaction: a corrupt map is refused before anything is written.
    const decoded = input.slices.map((s) => {
      const pixels = sizes.get(s.imageId);
      if (pixels === undefined) throw new ServiceError('invalid-input', `image ${s.imageId} is not in series ${input.seriesId}`);
      const rle = Buffer.from(s.labels.buffer, s.labels.byteOffset, s.labels.byteLength);
      let foreground = 0;
      try {
        const map = decodeRle(rle, pixels);
        for (let i = 0; i < map.length; i++) if (map[i] !== 0) foreground++;
      } catch (e) {
        throw new ServiceError('invalid-input', `labels of image ${s.imageId}: ${(e as Error).message}`);
      }
      return { imageId: s.imageId, rle, foreground };
    });
    const history = input.history ? writeHistory(input.history) : null;
    return this.db
      .transaction(() => {
        const current = this.db
          .prepare('SELECT revision FROM drafts WHERE series_id = ? AND task_id = ?')
          .pluck()
          .get(input.seriesId, input.taskId) as number | undefined;
        if ((current ?? 0) !== input.baseRevision) {
          throw new ServiceError(
            'conflict',
            `the draft was saved elsewhere (revision ${current ?? 0}, this window has ${input.baseRevision}): reopen the series`,
          );
        }
        const row = this.db
          .prepare(
            `INSERT INTO drafts (series_id, task_id, revision, history) VALUES (@seriesId, @taskId, 1, @history)
             ON CONFLICT (series_id, task_id) DO UPDATE SET revision = revision + 1, history = @history,
               updated_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')
             RETURNING revision, updated_at`,
          )
          .get({ seriesId: input.seriesId, taskId: input.taskId, history }) as { revision: number; updated_at: string };
        const put = this.db.prepare(
          `INSERT INTO draft_slices (series_id, task_id, image_id, labels, foreground_pixels) VALUES (?, ?, ?, ?, ?)
           ON CONFLICT (series_id, task_id, image_id) DO UPDATE SET labels = excluded.labels, foreground_pixels = excluded.foreground_pixels`,
        );
        const drop = this.db.prepare('DELETE FROM draft_slices WHERE series_id = ? AND task_id = ? AND image_id = ?');
        for (const s of decoded) {
          if (s.foreground > 0) put.run(input.seriesId, input.taskId, s.imageId, s.rle, s.foreground);
          else drop.run(input.seriesId, input.taskId, s.imageId);
        }
        return { revision: row.revision, updatedAt: row.updated_at };
      })
      .immediate();
  }

  discard(seriesId: number, taskId = 1): boolean {
    return this.db.prepare('DELETE FROM drafts WHERE series_id = ? AND task_id = ?').run(seriesId, taskId).changes > 0;
  }
}

// The undo history is stored as the JSON text migration 0040 declared (a STRICT TEXT column),
// its patches base64 in that text only: a storage encoding, never what the contract carries.
type StoredHistory = Omit<SerializedHistory, 'entries'> & {
  entries: { label: string; patches: { imageId: number; xor: string }[] }[];
};

function writeHistory(history: SerializedHistory): string {
  const stored: StoredHistory = {
    ...history,
    entries: history.entries.map((e) => ({
      label: e.label,
      patches: e.patches.map((p) => ({
        imageId: p.imageId,
        xor: Buffer.from(p.xor.buffer, p.xor.byteOffset, p.xor.byteLength).toString('base64'),
      })),
    })),
  };
  return JSON.stringify(stored);
}

function readHistory(text: string): SerializedHistory {
  const stored = JSON.parse(text) as StoredHistory;
  return {
    ...stored,
    entries: stored.entries.map((e) => ({
      label: e.label,
      patches: e.patches.map((p) => ({ imageId: p.imageId, xor: new Uint8Array(Buffer.from(p.xor, 'base64')) })),
    })),
  };
}
