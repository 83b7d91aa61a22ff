// A canvas the size of the slice, off screen, holding one layer's RGBA pixels; the compositor
// scales it onto the viewport.

export class Surface {
  readonly canvas: OffscreenCanvas;
  private readonly ctx: OffscreenCanvasRenderingContext2D;
  readonly image: ImageData;
  /** The image's bytes as packed RGBA words (little-endian: 0xAABBGGRR). */
  readonly words: Uint32Array;

  constructor(
    readonly width: number,
    readonly height: number,
  ) {
    this.canvas = new OffscreenCanvas(width, height);
    const ctx = this.canvas.getContext('2d');
    if (!ctx) throw new Error('2D canvas is not available');
    this.ctx = ctx;
    this.image = ctx.createImageData(width, height);
    this.words = new Uint32Array(this.image.data.buffer);
  }

  /** Pushes the whole image, or one rectangle of it, to the canvas. */
  flush(x0 = 0, y0 = 0, x1 = this.width, y1 = this.height): void {
    this.ctx.putImageData(this.image, 0, 0, x0, y0, x1 - x0, y1 - y0);
  }

  fits(width: number, height: number): boolean {
    return this.width === width && this.height === height;
  }
}

export function rgba(r: number, g: number, b: number, a = 255): number {
  return ((a << 24) | (b << 16) | (g << 8) | r) >>> 0;
}
