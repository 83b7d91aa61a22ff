// The import worker's reader threads. Files are claimed from a shared counter, so the import
// worker ingests files itself from the first moment and the readers join as soon as they have
// started. Results come back through message ports that the import worker drains synchronously
// between its own files (receiveMessageOnPort), without waiting on its event loop; a new image's
// bytes wait in the reader's slot of shared memory until the import worker has stored them.
//
// Nothing can go missing: every result carries its file index, and a file a reader claimed but
// never reported (the thread died) is ingested again by the import worker at the end.
import { statSync } from 'node:fs';
import os from 'node:os';
import { MessageChannel, receiveMessageOnPort, type MessagePort, type Worker } from 'node:worker_threads';
import { startWorker } from '../workers';
import type { Ingested, ScannedFile } from './ingest';
import {
  CONTROL_SLOTS,
  FREED,
  NEXT,
  POSTED,
  SLOTS,
  STOP,
  type ReaderData,
  type ReaderFiles,
  type ReaderMessage,
} from './reader-protocol';

/** Below this many files a thread's start-up costs more than it saves. */
export const PARALLEL_MIN_FILES = 64;

/**
 * Reader threads beside the import worker: the cores left after the import worker and the
 * app's own thread (which must stay responsive during an import), at most 3. On the 2-core
 * development VM that is none: a reader there made the import no faster (docs/benchmarks.md).
 * LGMS_IMPORT_READERS=n overrides it (tests and the benchmark use it).
 */
export function readerCount(): number {
  const forced = process.env['LGMS_IMPORT_READERS'];
  if (forced !== undefined && /^\d+$/.test(forced)) return Number(forced);
  return Math.max(0, Math.min(os.availableParallelism() - 2, 3));
}

/**
 * Whether an import is worth reader threads: a folder, or many files. They start before the
 * scan, so that they are ready when it ends; an import that turns out small stops them.
 */
export function mayNeedReaders(paths: readonly string[]): boolean {
  return paths.length >= PARALLEL_MIN_FILES || paths.some((p) => statSync(p, { throwIfNoEntry: false })?.isDirectory() === true);
}

/** A reader's result; `bytes` (a new image's) must be stored, then `release` called. */
export interface ReaderResult {
  result: Ingested;
  bytes: Uint8Array | null;
  release(): void;
}

interface Reader {
  worker: Worker;
  port: MessagePort;
  slots: Int32Array;
  done: boolean;
}

const nothing = () => {};

export class ReaderPool {
  private readonly control = new Int32Array(new SharedArrayBuffer(CONTROL_SLOTS * 4));
  private readonly readers: Reader[] = [];
  /** Start-up or run-time failures of reader threads (the import goes on without them). */
  readonly errors: string[] = [];

  private files: readonly ScannedFile[] = [];

  /** Starts the threads; they wait for `start`. */
  constructor(options: { dbPath: string; sqliteBinding?: string | undefined }, count: number) {
    for (let i = 0; i < count; i++) {
      const { port1, port2 } = new MessageChannel();
      const slots = new Int32Array(new SharedArrayBuffer((SLOTS + 1) * 4));
      const data: ReaderData = {
        dbPath: options.dbPath,
        ...(options.sqliteBinding ? { sqliteBinding: options.sqliteBinding } : {}),
        control: this.control.buffer as SharedArrayBuffer,
        slots: slots.buffer as SharedArrayBuffer,
        port: port2,
      };
      const reader: Reader = {
        worker: startWorker('import-reader', { workerData: data, transferList: [port2] }),
        port: port1,
        slots,
        done: false,
      };
      // Unreferenced: if the import ends without closing the pool (an exception), the threads do
      // not keep the import worker alive, and they end with it.
      reader.worker.unref();
      reader.worker.on('error', (e) => this.errors.push(e.message));
      reader.worker.on('exit', () => {
        reader.done = true;
        this.wake();
      });
      this.readers.push(reader);
    }
  }

  /** Hands the scanned files to the readers: from now on they claim them. */
  start(files: readonly ScannedFile[]): void {
    this.files = files;
    const message: ReaderFiles = { files: files as ScannedFile[] };
    for (const reader of this.readers) reader.port.postMessage(message);
  }

  /** The next file index for the caller to ingest, or -1 when all are claimed or stopped. */
  claim(): number {
    if (Atomics.load(this.control, STOP) === 1) return -1;
    const index = Atomics.add(this.control, NEXT, 1);
    return index < this.files.length ? index : -1;
  }

  /** Readers stop claiming files; what they have in hand still comes back. */
  stop(): void {
    Atomics.store(this.control, STOP, 1);
    for (const reader of this.readers) Atomics.notify(reader.slots, FREED);
  }

  /** Every result the readers have posted so far. */
  drain(): ReaderResult[] {
    const out: ReaderResult[] = [];
    for (const reader of this.readers) {
      for (let m = receiveMessageOnPort(reader.port); m; m = receiveMessageOnPort(reader.port)) {
        const message = m.message as ReaderMessage;
        if (message.type === 'done') {
          reader.done = true;
          continue;
        }
        for (const { result, bytes } of message.results) {
          if (!bytes) out.push({ result, bytes: null, release: nothing });
          else
            out.push({
              result,
              bytes: new Uint8Array(bytes.buffer, 0, bytes.length),
              release: () => {
                Atomics.store(reader.slots, bytes.slot, 0);
                Atomics.add(reader.slots, FREED, 1);
                Atomics.notify(reader.slots, FREED);
              },
            });
        }
      }
    }
    return out;
  }

  get finished(): boolean {
    return this.readers.every((r) => r.done);
  }

  /**
   * Waits until a reader posts or `ms` pass. Sleeps on the shared counter, then yields to the
   * event loop once so that a thread's exit is noticed.
   */
  async wait(ms: number): Promise<void> {
    const seen = Atomics.load(this.control, POSTED);
    Atomics.wait(this.control, POSTED, seen, ms);
    await new Promise<void>((resolve) => setImmediate(resolve));
  }

  close(): void {
    for (const reader of this.readers) {
      reader.port.close();
      void reader.worker.terminate();
    }
  }

  private wake(): void {
    Atomics.add(this.control, POSTED, 1);
    Atomics.notify(this.control, POSTED);
  }
}
