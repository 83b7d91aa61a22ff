// Runs interpolation in a Web Worker; falls back to this thread where a worker cannot start.
import { interpolateLabels } from '../../../shared/imaging/interpolate';
import type { InterpolateRequest } from './interpolate.worker';

type Job = { request: InterpolateRequest; resolve: (maps: Uint8Array[]) => void };

let worker: Worker | null | undefined;
let nextId = 1;
const waiting = new Map<number, Job>();

function local({ a, b, width, height, count }: InterpolateRequest): Uint8Array[] {
  return interpolateLabels(a, b, width, height, count);
}

function getWorker(): Worker | null {
  if (worker !== undefined) return worker;
  try {
    worker = new Worker(new URL('./interpolate.worker.ts', import.meta.url), { type: 'module' });
    worker.onmessage = (e: MessageEvent<{ id: number; maps: Uint8Array[] }>) => {
      waiting.get(e.data.id)?.resolve(e.data.maps);
      waiting.delete(e.data.id);
    };
    worker.onerror = () => {
      worker = null;
      for (const job of waiting.values()) job.resolve(local(job.request));
      waiting.clear();
    };
  } catch {
    worker = null;
  }
  return worker;
}

export function interpolate(a: Uint8Array, b: Uint8Array, width: number, height: number, count: number): Promise<Uint8Array[]> {
  const request: InterpolateRequest = { id: nextId++, a: a.slice(), b: b.slice(), width, height, count };
  const w = getWorker();
  if (!w) return Promise.resolve(local(request));
  return new Promise((resolve) => {
    waiting.set(request.id, { request, resolve });
    // Copies are posted (not transferred) so a failed worker can still be replaced locally.
    w.postMessage(request);
  });
}
