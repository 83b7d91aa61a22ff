// Decoded frames in the renderer: fetched from the backend (which decodes the files), turned
// back into typed arrays, kept within a memory budget, and prefetched nearest-first around the
// slice on screen so scrolling never waits once the series is in.
import { FRAMES_PER_CALL, type PixelDtype, type ViewerFrame, type ViewerFrameBatch } from '../../../shared/contract';
import type { FramePixels, PixelArray } from '../../../shared/imaging/pixels';
import type { Result } from '../../../shared/result';

export type { PixelArray };

export interface Frame extends FramePixels {
  min: number;
  max: number;
}

const ARRAYS: Record<PixelDtype, new (buffer: ArrayBuffer, offset: number, length: number) => PixelArray> = {
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  uint32: Uint32Array,
  int32: Int32Array,
  float32: Float32Array,
  float64: Float64Array,
};

export function decodeFrame(f: ViewerFrame): Frame {
  const Ctor = ARRAYS[f.dtype];
  const size = (Ctor as unknown as { BYTES_PER_ELEMENT: number }).BYTES_PER_ELEMENT;
  // A view needs its element size's alignment, which bytes inside a received message need not
  // have: copy then (one memcpy, far below the frame's cost to draw).
  const bytes = f.data.byteOffset % size === 0 && f.data.buffer instanceof ArrayBuffer ? f.data : f.data.slice();
  const pixels = new Ctor(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength / size);
  return {
    imageId: f.imageId,
    rows: f.rows,
    columns: f.columns,
    samplesPerPixel: f.samplesPerPixel,
    photometric: f.photometric,
    pixels,
    slope: f.slope,
    intercept: f.intercept,
    min: f.min,
    max: f.max,
  };
}

/** Frames per call once the first frame is in (the first call carries only the one on screen, for a quick first paint). */
const BATCH = 8;

export class FrameCache {
  private readonly frames = new Map<number, Frame>();
  private readonly pending = new Map<number, Promise<Frame | null>>();
  private queue: number[] = [];
  private workers = 0;
  private bytes = 0;
  private disposed = false;
  readonly errors = new Map<number, string>();

  /**
   * @param fetchFrames asks the backend for up to FRAMES_PER_CALL frames in one call
   *   (`viewer.frames`): one HTTP request per frame cost the headless page more than the bytes.
   */
  constructor(
    private readonly fetchFrames: (imageIds: number[]) => Promise<Result<ViewerFrameBatch>>,
    private readonly onload: (imageId: number) => void,
    private readonly budget = 768 * 1024 * 1024,
    private readonly concurrency = 2,
    private readonly batch = Math.min(BATCH, FRAMES_PER_CALL),
  ) {}

  get size(): number {
    return this.frames.size;
  }

  get(imageId: number): Frame | undefined {
    return this.frames.get(imageId);
  }

  load(imageId: number): Promise<Frame | null> {
    const hit = this.frames.get(imageId);
    if (hit) return Promise.resolve(hit);
    return this.pending.get(imageId) ?? this.request([imageId]);
  }

  /** Loads `ids` nearest to `index` first, replacing any earlier prefetch order. */
  prefetchAround(ids: readonly number[], index: number): void {
    const order = ids.map((id, i) => ({ id, d: Math.abs(i - index) + (i < index ? 0.5 : 0) }));
    order.sort((a, b) => a.d - b.d);
    this.queue = order.map((o) => o.id).filter((id) => !this.frames.has(id) && !this.errors.has(id));
    while (this.workers < this.concurrency && this.queue.length > 0) void this.work();
  }

  dispose(): void {
    this.disposed = true;
    this.queue = [];
    this.frames.clear();
  }

  /** One call for `ids`; resolves with the first id's frame once all of them are settled. */
  private request(ids: number[]): Promise<Frame | null> {
    const answer = this.fetchFrames(ids);
    const settled = ids.map((id) => {
      const p = answer.then((r) => this.settle(id, r));
      this.pending.set(id, p);
      return p;
    });
    return Promise.all(settled).then(([first]) => first ?? null);
  }

  private settle(imageId: number, r: Result<ViewerFrameBatch>): Frame | null {
    this.pending.delete(imageId);
    if (this.disposed) return null;
    const sent = r.ok ? r.value.frames.find((f) => f.imageId === imageId) : undefined;
    if (!sent) {
      const reason = r.ok ? r.value.failed.find((f) => f.imageId === imageId)?.message : r.error.message;
      this.errors.set(imageId, reason ?? 'the backend sent no pixels for this image');
      this.onload(imageId);
      return null;
    }
    const frame = decodeFrame(sent);
    this.store(frame);
    this.onload(imageId);
    return frame;
  }

  private async work(): Promise<void> {
    this.workers++;
    try {
      while (!this.disposed) {
        const size = this.frames.size === 0 && this.pending.size === 0 ? 1 : this.batch;
        const ids: number[] = [];
        while (ids.length < size && this.queue.length > 0) {
          const id = this.queue.shift()!;
          if (!this.frames.has(id) && !this.pending.has(id)) ids.push(id);
        }
        if (ids.length === 0) break;
        await this.request(ids);
      }
    } finally {
      this.workers--;
    }
  }

  private store(frame: Frame): void {
    this.frames.set(frame.imageId, frame);
    this.bytes += frame.pixels.byteLength;
    // Oldest first out; a series larger than the budget streams instead of failing.
    for (const [id, f] of this.frames) {
      if (this.bytes <= this.budget || id === frame.imageId) break;
      this.frames.delete(id);
      this.bytes -= f.pixels.byteLength;
    }
  }
}
