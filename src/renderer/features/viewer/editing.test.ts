import { describe, expect, it } from 'vitest';
import { labelCounts, type Rect } from '../../../shared/imaging/label-ops';
import { Editor, type EditContext } from './editing';
import { BrushTool } from './tools/brush';
import { PolygonTool } from './tools/polygon';

function setup() {
  const redraws: (Rect | null)[] = [];
  const editedIds: number[][] = [];
  const ctx: EditContext = {
    imageId: 1,
    width: 32,
    height: 32,
    scale: 4,
    segment: 1,
    brushRadius: 3,
    allowed: () => null,
    redraw: (rect) => void redraws.push(rect),
    edited: (ids) => void editedIds.push([...ids]),
  };
  return { ctx: { redraws, editedIds }, editor: new Editor(ctx, () => 32 * 32) };
}

const at = (x: number, y: number, sx = x * 4, sy = y * 4) => ({ x, y, sx, sy, shift: false });

describe('Editor with the tools', () => {
  it('makes one undo step per brush stroke, holding only the changed pixels', () => {
    const { ctx, editor } = setup();
    const brush = new BrushTool('brush');
    brush.down(at(8, 8), editor);
    brush.move(at(12, 8), editor);
    brush.move(at(16, 8), editor);
    brush.up(at(16, 8), editor);
    const painted = labelCounts(editor.labels.get(1))[1]!;
    expect(painted).toBeGreaterThan(29);
    expect(editor.history.size).toBe(1);
    expect(editor.history.undoLabel).toBe('Brush');
    expect(ctx.editedIds).toEqual([[1]]);
    expect(editor.labels.takeDirty()).toEqual([1]);
    expect(editor.undo()).toBe('Brush');
    expect(labelCounts(editor.labels.get(1))).toEqual([1024]);
    expect(editor.redo()).toBe('Brush');
    expect(labelCounts(editor.labels.get(1))[1]).toBe(painted);
  });

  it('rolls a stroke back on Escape and records nothing', () => {
    const { editor } = setup();
    const eraser = new BrushTool('eraser');
    editor.labels.get(1).fill(1);
    eraser.down(at(8, 8), editor);
    expect(labelCounts(editor.labels.get(1))[0]).toBeGreaterThan(0);
    expect(eraser.key('Escape', editor)).toBe(true);
    expect(labelCounts(editor.labels.get(1))).toEqual([0, 1024]);
    expect(editor.history.size).toBe(0);
  });

  it('closes a polygon on Enter, and a lasso at the end of its drag', () => {
    const { editor } = setup();
    const polygon = new PolygonTool('polygon');
    for (const [x, y] of [
      [2, 2],
      [10, 2],
      [10, 6],
    ]) {
      polygon.down(at(x!, y!), editor);
      polygon.up(at(x!, y!), editor);
    }
    polygon.down(at(2.2, 5.8), editor); // snaps to (2, 6)
    polygon.up(at(2.2, 5.8), editor);
    expect(polygon.preview).toHaveLength(4);
    expect(polygon.key('Enter', editor)).toBe(true);
    expect(labelCounts(editor.labels.get(1))[1]).toBe(32);

    const lasso = new PolygonTool('polygon-erase');
    lasso.down(at(0, 0), editor);
    lasso.move(at(20, 0), editor);
    lasso.move(at(20, 20), editor);
    lasso.move(at(0, 20), editor);
    lasso.up(at(0, 20), editor);
    expect(labelCounts(editor.labels.get(1))).toEqual([1024]);
    expect(editor.history.size).toBe(2);
    expect(editor.history.undoLabel).toBe('Polygon erase');
  });

  it('replaces maps on several slices as one step (an AI action)', () => {
    const { editor } = setup();
    const a = new Uint8Array(1024).fill(1);
    const b = new Uint8Array(1024);
    b[5] = 2;
    expect(
      editor.replace(
        'Load prediction (all slices)',
        new Map([
          [1, a],
          [2, b],
          [3, new Uint8Array(1024)],
        ]),
      ),
    ).toBe(2);
    expect(editor.history.size).toBe(1);
    editor.undo();
    expect(editor.labels.hasLabels(1) || editor.labels.hasLabels(2)).toBe(false);
    editor.redo();
    expect(editor.labels.get(2)[5]).toBe(2);
  });
});
