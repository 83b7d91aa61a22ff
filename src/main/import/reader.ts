// An import reader thread: claims files from the shared counter and ingests them (read, hash,
// database check, fast header) into its slots of shared memory; posts the results in small
// batches. The import worker appends a new image's bytes from the slot to its pack and frees the
// slot. The import worker also ingests files itself from the same counter; see readers.ts.
import { workerData } from 'node:worker_threads';
import { openDatabaseReadOnly } from '../db/database';
import { ingestFile, type ScannedFile } from './ingest';
import { FREED, NEXT, POSTED, SLOTS, STOP, type ReaderData, type ReaderFiles, type ReaderMessage } from './reader-protocol';

const BATCH = 4;
const BATCH_MS = 10;
const SLOT_BYTES = 1 << 20;

const { dbPath, sqliteBinding, control: controlBuffer, slots: slotsBuffer, port } = workerData as ReaderData;
const control = new Int32Array(controlBuffer);
const states = new Int32Array(slotsBuffer);
const buffers: SharedArrayBuffer[] = [];
const db = openDatabaseReadOnly(dbPath, sqliteBinding ? { nativeBinding: sqliteBinding } : {});
const known = db.prepare('SELECT 1 FROM files WHERE sha256 = ?').pluck();
const isKnown = (sha256: string) => known.get(sha256) !== undefined;
type Entry = Extract<ReaderMessage, { type: 'results' }>['results'][number];
let batch: Entry[] = [];
let lastPost = Date.now();

const post = (message: ReaderMessage) => {
  port.postMessage(message);
  Atomics.add(control, POSTED, 1);
  Atomics.notify(control, POSTED);
};
const flush = () => {
  if (batch.length) post({ type: 'results', results: batch });
  batch = [];
  lastPost = Date.now();
};
const stopped = () => Atomics.load(control, STOP) === 1;

/** A free slot, waiting for the import worker to free one if need be; -1 once stopped. */
function acquire(): number {
  for (;;) {
    const freed = Atomics.load(states, FREED);
    for (let i = 0; i < SLOTS; i++) if (Atomics.load(states, i) === 0) return i;
    flush(); // the import worker frees slots only once it has the results that hold them
    if (stopped()) return -1;
    Atomics.wait(states, FREED, freed, 100);
  }
}

function run(files: ScannedFile[]): void {
  try {
    while (!stopped()) {
      const slot = acquire();
      if (slot < 0) break;
      const index = Atomics.add(control, NEXT, 1);
      if (index >= files.length) break;
      const file = files[index]!;
      const memory = (size: number) => {
        if ((buffers[slot]?.byteLength ?? 0) < size) buffers[slot] = new SharedArrayBuffer(Math.max(size, SLOT_BYTES));
        return new Uint8Array(buffers[slot]!);
      };
      try {
        const { result, bytes } = ingestFile(index, file, memory, isKnown);
        if (bytes) {
          Atomics.store(states, slot, 1);
          batch.push({ result, bytes: { slot, buffer: buffers[slot]!, length: bytes.length } });
        } else batch.push({ result });
      } catch {
        // The import worker reads it again with the full readers and reports what went wrong.
        batch.push({ result: { index, path: file.path, size: file.size, status: 'deferred', sha256: '' } });
      }
      if (batch.length >= BATCH || Date.now() - lastPost >= BATCH_MS) flush();
    }
  } finally {
    db.close();
    flush();
    post({ type: 'done' });
    port.close();
  }
}

// The file list comes once the import worker has scanned the inputs.
port.once('message', (m: ReaderFiles) => run(m.files));
