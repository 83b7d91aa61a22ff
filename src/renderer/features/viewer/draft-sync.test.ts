import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { fail, ok } from '../../../shared/result';
import { DraftSync, type DraftSource, type DraftStatus } from './draft-sync';

function source(): DraftSource & { dirty: Set<number> } {
  const dirty = new Set<number>();
  return {
    dirty,
    hasDirty: () => dirty.size > 0,
    takeDirty: () => {
      const ids = [...dirty];
      dirty.clear();
      return ids;
    },
    restoreDirty: (ids) => ids.forEach((id) => dirty.add(id)),
    encode: (id) => Uint8Array.of(id & 0xff, id >> 8),
    history: () => null,
  };
}

describe('DraftSync', () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it('saves 400 ms after the last edit, and at the latest a second after the first', async () => {
    const src = source();
    const save = vi.fn(async ({ baseRevision }: { baseRevision: number }) => ok({ revision: baseRevision + 1, updatedAt: '' }));
    const statuses: DraftStatus[] = [];
    const sync = new DraftSync(7, 0, src, save, (s) => statuses.push(s));
    // An edit every 300 ms: the quiet period never comes, the one-second limit does.
    for (let t = 0; t < 900; t += 300) {
      src.dirty.add(t);
      sync.touch();
      await vi.advanceTimersByTimeAsync(300);
    }
    await vi.advanceTimersByTimeAsync(100);
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toMatchObject({
      seriesId: 7,
      baseRevision: 0,
      slices: [{ imageId: 0, labels: Uint8Array.of(0, 0) }, { imageId: 300 }, { imageId: 600 }],
    });
    expect(statuses.at(-1)).toBe('saved');
    src.dirty.add(1);
    sync.touch();
    await vi.advanceTimersByTimeAsync(399);
    expect(save).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(save).toHaveBeenCalledTimes(2);
    expect(save.mock.calls[1]![0].baseRevision).toBe(1);
  });

  it('keeps failed slices for a retry, stops on a conflict, and saves what is left on close', async () => {
    const src = source();
    const results = [fail('io', 'offline'), ok({ revision: 1, updatedAt: '' }), fail('conflict', 'elsewhere')];
    const save = vi.fn(async (_input: { seriesId: number }) => results.shift()!);
    const statuses: DraftStatus[] = [];
    const sync = new DraftSync(1, 0, src, save, (s) => statuses.push(s));
    src.dirty.add(5);
    await sync.flush();
    expect(statuses.at(-1)).toBe('error');
    expect([...src.dirty]).toEqual([5]);
    await vi.advanceTimersByTimeAsync(2000); // the retry
    expect(save).toHaveBeenCalledTimes(2);
    expect(statuses.at(-1)).toBe('saved');
    src.dirty.add(6);
    await sync.flush();
    expect(statuses.at(-1)).toBe('conflict');
    src.dirty.add(7);
    sync.touch();
    await sync.close();
    expect(save).toHaveBeenCalledTimes(3);

    const other = new DraftSync(2, 0, src, save, () => {});
    results.push(ok({ revision: 4, updatedAt: '' }));
    await other.close();
    expect(save).toHaveBeenCalledTimes(4);
    expect(save.mock.calls[3]![0]).toMatchObject({ seriesId: 2 });
  });

  it('started from the stored label: saves nothing until an edit, then the stored slices with the edit', async () => {
    const src = source();
    const save = vi.fn(async ({ baseRevision }: { baseRevision: number; slices: { imageId: number }[] }) =>
      ok({ revision: baseRevision + 1, updatedAt: '' }),
    );
    const sync = new DraftSync(3, 0, src, save, () => {});
    sync.seedFrom([10, 11]);
    // A flush (a submit, a task switch) with nothing edited writes no draft.
    await sync.flush();
    expect(save).not.toHaveBeenCalled();
    src.dirty.add(11);
    src.dirty.add(12);
    await sync.flush();
    expect(save).toHaveBeenCalledTimes(1);
    expect(save.mock.calls[0]![0]).toMatchObject({ baseRevision: 0 });
    expect(save.mock.calls[0]![0].slices.map((s) => s.imageId).sort()).toEqual([10, 11, 12]);
    // Only the first save carries them; later ones carry the edited slices only.
    src.dirty.add(12);
    await sync.flush();
    expect(save.mock.calls[1]![0].slices.map((s) => s.imageId)).toEqual([12]);
    // Closing with nothing edited writes nothing either.
    const other = new DraftSync(4, 0, src, save, () => {});
    other.seedFrom([10]);
    await other.close();
    expect(save).toHaveBeenCalledTimes(2);
  });
});
