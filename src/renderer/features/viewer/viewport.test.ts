import { describe, expect, it } from 'vitest';
import { actualSizeView, fitView, toImage, toScreen, zoomAbout } from './viewport';

describe('viewport geometry', () => {
  const square = { columns: 512, rows: 512, aspect: 1 };
  const tall = { columns: 200, rows: 100, aspect: 2 }; // rows 2 mm apart, columns 1 mm

  it('fits the slice with its pixel-spacing aspect, centred', () => {
    const v = fitView(tall, 1000, 500, 1);
    expect(v.zoom).toBe(2.5); // 100 rows × 2 aspect × 2.5 = 500 px high
    expect(toScreen(v, tall, 200, 100)).toEqual({ x: 750, y: 500 });
    expect(toScreen(v, tall, 0, 0)).toEqual({ x: 250, y: 0 });
  });

  it('shows one image pixel per device pixel at 1:1, on whole device pixels', () => {
    const v = actualSizeView(square, 1001, 801, 2);
    expect(v.zoom).toBe(0.5);
    expect((v.panX * 2) % 1).toBe(0);
    expect((v.panY * 2) % 1).toBe(0);
  });

  it('maps screen and image coordinates both ways, and zooms about the pointer', () => {
    const v = fitView(tall, 800, 600);
    const p = toImage(v, tall, 321, 234);
    const back = toScreen(v, tall, p.x, p.y);
    expect(back.x).toBeCloseTo(321, 9);
    expect(back.y).toBeCloseTo(234, 9);
    const z = zoomAbout(v, 3, 321, 234);
    const q = toImage(z, tall, 321, 234);
    expect(q.x).toBeCloseTo(p.x, 9);
    expect(q.y).toBeCloseTo(p.y, 9);
    expect(zoomAbout(v, 1e9, 0, 0).zoom).toBe(64);
  });
});
