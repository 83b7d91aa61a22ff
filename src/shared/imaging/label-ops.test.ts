import { describe, expect, it } from 'vitest';
import { fillPolygon, floodFill, intensityMask, labelCounts, paintCapsule, type LabelGrid } from './label-ops';

const grid = (width = 40, height = 30): LabelGrid => ({ data: new Uint8Array(width * height), width, height });
const at = (g: LabelGrid, x: number, y: number) => g.data[y * g.width + x];

describe('paintCapsule', () => {
  it('paints a dab of the pixels whose centres are within the radius', () => {
    const g = grid();
    const rect = paintCapsule(g, 10.5, 10.5, 10.5, 10.5, 3, 1);
    // Integer offsets with dx² + dy² ≤ 9: 29 pixels.
    expect(labelCounts(g.data)[1]).toBe(29);
    expect(rect).toEqual({ x0: 7, y0: 7, x1: 14, y1: 14 });
    expect(at(g, 13, 10)).toBe(1);
    expect(at(g, 13, 11)).toBe(0);
  });

  it('paints a capsule along a stroke, erases with 0, and reports no change when nothing changed', () => {
    const g = grid();
    paintCapsule(g, 5.5, 5.5, 25.5, 5.5, 1, 2);
    // 21 × 3 plus one pixel of round cap at each end.
    expect(labelCounts(g.data)[2]).toBe(21 * 3 + 2);
    expect(paintCapsule(g, 5.5, 5.5, 25.5, 5.5, 1, 2)).toBeNull();
    paintCapsule(g, 15.5, 5.5, 15.5, 5.5, 0.5, 0);
    expect(labelCounts(g.data)[2]).toBe(64);
  });

  it('honours the allowed mask and clips at the edges', () => {
    const g = grid(10, 10);
    const allowed = new Uint8Array(100);
    for (let i = 0; i < 50; i++) allowed[i] = 1; // top half only
    paintCapsule(g, 0, 5, 0, 5, 4, 1, allowed);
    for (let y = 5; y < 10; y++) for (let x = 0; x < 10; x++) expect(at(g, x, y)).toBe(0);
    expect(labelCounts(g.data)[1]).toBeGreaterThan(0);
  });
});

describe('fillPolygon', () => {
  it('fills an axis-aligned rectangle exactly', () => {
    const g = grid();
    const rect = fillPolygon(g, [10, 5, 30, 5, 30, 15, 10, 15], 1);
    expect(labelCounts(g.data)[1]).toBe(200);
    expect(rect).toEqual({ x0: 10, y0: 5, x1: 30, y1: 15 });
  });

  it('fills a right triangle by pixel centres (x + y < 19)', () => {
    const g = grid();
    fillPolygon(g, [0, 0, 20, 0, 0, 20], 3);
    for (let y = 0; y < 30; y++) for (let x = 0; x < 40; x++) expect(at(g, x, y)).toBe(x + y < 19 ? 3 : 0);
    expect(labelCounts(g.data)[3]).toBe(190);
  });

  it('uses even-odd for self-intersecting lassos and never spills out of the map', () => {
    const g = grid(10, 10);
    fillPolygon(g, [-5, -5, 20, -5, 20, 20, -5, 20], 1);
    expect(labelCounts(g.data)[1]).toBe(100);
    const h = grid(20, 20);
    // A ring: outer square then inner square traversed as one polygon via a seam.
    fillPolygon(h, [0, 0, 10, 0, 10, 10, 0, 10, 0, 0, 3, 3, 3, 7, 7, 7, 7, 3, 3, 3], 1);
    expect(at(h, 5, 5)).toBe(0);
    expect(at(h, 1, 1)).toBe(1);
    expect(labelCounts(h.data)[1]).toBe(100 - 16);
  });
});

describe('floodFill', () => {
  it('fills the hole inside a ring and nothing outside it', () => {
    const g = grid();
    fillPolygon(g, [5, 5, 25, 5, 25, 25, 5, 25], 1);
    fillPolygon(g, [10, 10, 20, 10, 20, 20, 10, 20], 0);
    expect(labelCounts(g.data)[1]).toBe(400 - 100);
    const rect = floodFill(g, 15, 15, 1);
    expect(rect).toEqual({ x0: 10, y0: 10, x1: 20, y1: 20 });
    expect(labelCounts(g.data)[1]).toBe(400);
  });

  it('relabels one 4-connected structure only', () => {
    const g = grid();
    fillPolygon(g, [0, 0, 5, 0, 5, 5, 0, 5], 1);
    fillPolygon(g, [5, 5, 10, 5, 10, 10, 5, 10], 1); // touches only diagonally
    floodFill(g, 1, 1, 2);
    expect(labelCounts(g.data)).toEqual([1200 - 50, 25, 25]);
    expect(floodFill(g, 1, 1, 2)).toBeNull();
  });

  it('grows only through allowed pixels', () => {
    const g = grid(10, 1);
    const allowed = Uint8Array.from([1, 1, 1, 0, 1, 1, 1, 1, 1, 1]);
    floodFill(g, 0, 0, 1, allowed);
    expect(Array.from(g.data)).toEqual([1, 1, 1, 0, 0, 0, 0, 0, 0, 0]);
  });
});

describe('intensityMask', () => {
  it('tests the modality value against the range', () => {
    expect(Array.from(intensityMask(Int16Array.from([0, 1000, 1100, 2000]), 0, 100, 1, -1024))).toEqual([0, 0, 1, 0]);
  });
});
