// The import worker thread: its own database connection, the whole import, progress messages
// to the main thread, and a shared flag the main thread sets to cancel.
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from '../db/database';
import { ContentStore } from '../store/content-store';
import { runImport, type ImportSummary } from './run-import';
import type { ImportProgress } from '../../shared/contract';

export interface ImportWorkerData {
  dbPath: string;
  storeDir: string;
  jobId: number;
  paths: string[];
  /** The task a DICOM SEG in the import becomes labels of. */
  taskId?: number;
  sqliteBinding?: string;
  /** Int32Array over it: [0] = 1 asks the import to stop after the current file or series. */
  cancel: SharedArrayBuffer;
}

export type ImportWorkerMessage =
  { type: 'progress'; progress: ImportProgress } | { type: 'done'; summary: ImportSummary } | { type: 'error'; message: string };

const data = workerData as ImportWorkerData;
const flag = new Int32Array(data.cancel);
const post = (m: ImportWorkerMessage) => parentPort!.postMessage(m);
const db = openDatabase(data.dbPath, data.sqliteBinding ? { nativeBinding: data.sqliteBinding } : {});

runImport({
  db,
  store: new ContentStore(data.storeDir),
  jobId: data.jobId,
  paths: data.paths,
  ...(data.taskId ? { taskId: data.taskId } : {}),
  readers: { dbPath: data.dbPath, sqliteBinding: data.sqliteBinding },
  isCancelled: () => Atomics.load(flag, 0) === 1,
  onProgress: (progress) => post({ type: 'progress', progress }),
})
  .then((summary) => post({ type: 'done', summary }))
  .catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }))
  .finally(() => db.close());
