import { describe, expect, it } from 'vitest';
import { applyPatch, diffPatch, EditHistory } from './history';
import { fillPolygon } from './label-ops';

describe('undo patches', () => {
  it('store only what changed and undo and redo with the same patch', () => {
    const before = new Uint8Array(512 * 512);
    const after = before.slice();
    fillPolygon({ data: after, width: 512, height: 512 }, [100, 100, 200, 100, 200, 180, 100, 180], 1);
    const patch = diffPatch(before, after)!;
    // 80 changed rows of one run each, plus the unchanged runs between them: a few hundred bytes.
    expect(patch.length).toBeLessThan(600);
    const map = after.slice();
    expect(applyPatch(map, patch)).toEqual([100 * 512 + 100, 179 * 512 + 200]);
    expect(map).toEqual(before);
    applyPatch(map, patch);
    expect(map).toEqual(after);
    expect(diffPatch(after, after.slice())).toBeNull();
  });

  it('rejects a patch of the wrong size', () => {
    const patch = diffPatch(new Uint8Array(4), Uint8Array.of(0, 1, 0, 0))!;
    expect(() => applyPatch(new Uint8Array(5), patch)).toThrow(/covers 4/);
  });
});

describe('EditHistory', () => {
  const step = (n: number) => ({ label: `s${n}`, patches: [{ imageId: n, xor: Uint8Array.of(0, 4) }] });

  it('undoes and redoes in order, and a new step drops the redo branch', () => {
    const h = new EditHistory();
    h.push(step(1));
    h.push(step(2));
    expect(h.undo()?.label).toBe('s2');
    expect(h.redoLabel).toBe('s2');
    h.push(step(3));
    expect(h.canRedo).toBe(false);
    expect([h.undo()?.label, h.undo()?.label, h.undo()]).toEqual(['s3', 's1', null]);
    expect(h.redo()?.label).toBe('s1');
  });

  it('drops the oldest steps beyond its byte budget, never the newest', () => {
    const h = new EditHistory(100, 10);
    const big = (label: string, n: number) => ({ label, patches: [{ imageId: 1, xor: new Uint8Array(n) }] });
    h.push(big('a', 4));
    h.push(big('b', 4));
    h.push(big('c', 4));
    expect([h.size, h.bytes, h.undoLabel]).toEqual([2, 8, 'c']);
    h.push(big('huge', 50));
    expect([h.size, h.undoLabel]).toEqual([1, 'huge']);
  });

  it('keeps at most `limit` steps and survives serialisation with its cursor', () => {
    const h = new EditHistory(50);
    for (let i = 0; i < 70; i++) h.push(step(i));
    expect(h.size).toBe(50);
    h.undo();
    const copy = EditHistory.fromSerialized(structuredClone(h.serialize()));
    expect(copy.size).toBe(50);
    expect(copy.redoLabel).toBe('s69');
    expect(copy.undoLabel).toBe('s68');
    expect(copy.undo()?.patches[0]?.xor).toEqual(Uint8Array.of(0, 4));
    let n = 0;
    while (copy.undo()) n++;
    expect(n).toBe(48);
  });
});
