// One import, start to end: scan the inputs; read, hash and copy each file into the store and
// read its header (ingest.ts, shared with reader threads on large imports: readers.ts); then
// commit series by series. Runs in a worker thread (see worker.ts) with its own database
// connection; the same function runs in-process in tests.
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ImportItemStatus, ImportProgress } from '../../shared/contract';
import type { Database } from '../db/database';
import { ContentStore, referencedIn, type StoredLocation } from '../store/content-store';
import { Indexer, type SeriesGroup } from './indexer';
import { ingestFile, Scratch, type Ingested, type ScannedFile } from './ingest';
import { readRecords } from './read-file';
import { mayNeedReaders, PARALLEL_MIN_FILES, ReaderPool, readerCount, type ReaderResult } from './readers';
import type { FrameRecord, ReadOutcome } from './records';
import { storedExtension } from './read-other';
import { scanPaths } from './scan';
import { resolvePendingLabelSets, type PendingOutcome } from './label-sets';

export interface ImportContext {
  db: Database;
  store: ContentStore;
  jobId: number;
  paths: readonly string[];
  isCancelled(): boolean;
  onProgress(progress: ImportProgress): void;
  /** The task a DICOM SEG found in this import becomes labels of (default the starter task, 1). */
  taskId?: number;
  /** The database file, for reader threads' own connections; without it the import runs on one thread. */
  readers?: { dbPath: string; sqliteBinding?: string | undefined; count?: number };
}

export interface ImportSummary {
  progress: ImportProgress;
  cancelled: boolean;
  studyIds: number[];
  /** Scan to last series committed, in the worker (worker start-up excluded). */
  elapsedMs: number;
  /** Where that time went: listing the inputs, reading and storing files, committing series. */
  phasesMs: { scan: number; read: number; index: number };
  /** Files ingested by reader threads (the rest by the import worker itself). */
  filesByReaders: number;
  /**
   * CPU time of the process (every thread: the import's, its readers', the garbage collector's,
   * and whatever else the process runs) over `elapsedMs`, in ms. With nothing else running in
   * the process it is what the import costs, however loaded the machine (tests/bench/import-real.ts).
   */
  cpuMs: number;
}

const ITEM_BATCH = 200;
const PROGRESS_INTERVAL_MS = 200;

export async function runImport(ctx: ImportContext): Promise<ImportSummary> {
  const { db, store, jobId } = ctx;
  const started = Date.now();
  const cpuAtStart = process.cpuUsage();
  const progress: ImportProgress = {
    jobId,
    phase: 'scanning',
    filesSeen: 0,
    filesImported: 0,
    filesDuplicate: 0,
    filesSkipped: 0,
    filesFailed: 0,
    bytesRead: 0,
    bytesTotal: 0,
    seriesIndexed: 0,
  };
  let lastSent = 0;
  const report = (force = false) => {
    const now = Date.now();
    if (!force && now - lastSent < PROGRESS_INTERVAL_MS) return;
    lastSent = now;
    const elapsed = (now - started) / 1000;
    if (progress.phase === 'reading' && progress.bytesRead > 0 && elapsed > 0.5) {
      progress.etaSeconds = Math.round(((progress.bytesTotal - progress.bytesRead) * elapsed) / progress.bytesRead);
    }
    ctx.onProgress({ ...progress });
  };

  // Items are written in batches, in their own transactions: they are the report, not the index.
  const insertItem = db.prepare('INSERT INTO import_items (job_id, path, status, reason, series_uid) VALUES (?, ?, ?, ?, ?)');
  let pending: [string, ImportItemStatus, string, string | null][] = [];
  const flushItems = db.transaction(() => {
    for (const [p, status, reason, uid] of pending) insertItem.run(jobId, p, status, reason, uid);
    pending = [];
  });
  // A reader's own message behind a report reason: kept for whoever investigates, never shown.
  const details: string[] = [];
  const logDetail = (p: string, detail: string | undefined) => {
    if (detail) details.push(`${new Date().toISOString()} job ${jobId} ${p}: ${detail.replace(/\s+/g, ' ')}`);
  };
  const item = (p: string, status: ImportItemStatus, reason = '', seriesUid: string | null = null) => {
    pending.push([p, status, reason, seriesUid]);
    if (status === 'imported') progress.filesImported++;
    else if (status === 'duplicate') progress.filesDuplicate++;
    else if (status === 'skipped') progress.filesSkipped++;
    else progress.filesFailed++;
    if (pending.length >= ITEM_BATCH) flushItems();
  };

  // Reader threads start now and take files once the scan is done (readers.ts).
  const count = ctx.readers && mayNeedReaders(ctx.paths) ? (ctx.readers.count ?? readerCount()) : 0;
  let readers = count > 0 && ctx.readers ? new ReaderPool(ctx.readers, count) : null;
  const scan = scanPaths(ctx.paths, ctx.isCancelled);
  for (const problem of scan.problems) item(problem.path, 'failed', problem.reason);
  const files = scan.files;
  progress.filesSeen = files.length;
  progress.bytesTotal = files.reduce((sum, f) => sum + f.size, 0);
  progress.phase = 'reading';
  report(true);
  const scanned = Date.now();

  const knownHash = db.prepare('SELECT 1 FROM files WHERE sha256 = ?').pluck();
  const knownSop = db.prepare('SELECT 1 FROM images WHERE sop_instance_uid = ? AND frame_index = ?').pluck();
  const isKnown = (sha256: string) => knownHash.get(sha256) !== undefined;
  const knownLabelSet = db.prepare('SELECT 1 FROM label_sets WHERE sop_instance_uid = ?').pluck();
  const insertLabelSet = db.prepare(
    `INSERT OR IGNORE INTO label_sets (file_id, sop_instance_uid, referenced_series_uid, segments, task_id, status, job_id)
     VALUES ((SELECT id FROM files WHERE sha256 = ?), ?, ?, ?, ?, 'pending', ?)`,
  );
  const insertFile = db.prepare('INSERT OR IGNORE INTO files (sha256, store_path, size, format, original_path) VALUES (?, ?, ?, ?, ?)');
  const groups = new Map<string, SeriesGroup>();
  const sopsThisRun = new Set<string>();
  const hashesThisRun = new Set<string>();

  /** Whether every frame of an image is in the database or earlier in this import already. */
  const isDuplicateSop = (frames: readonly FrameRecord[]) => {
    const withSop = frames.filter((f) => f.sopInstanceUid);
    return withSop.length > 0 && withSop.every((f) => sopsThisRun.has(`${f.sopInstanceUid}#${f.frameIndex}`) || knownSop.get(f.sopInstanceUid, f.frameIndex));
  };
  const stage = (path: string, sha256: string, size: number, outcome: ImageOutcome, stored: StoredLocation, written: boolean) => {
    for (const f of outcome.frames) if (f.sopInstanceUid) sopsThisRun.add(`${f.sopInstanceUid}#${f.frameIndex}`);
    hashesThisRun.add(sha256);
    // A 4D volume's later time points are series of their own over the same stored file; the
    // file's notes are reported once, with its first series.
    const parts = [{ series: outcome.series, frames: outcome.frames, notes: outcome.notes ?? [] }, ...(outcome.more ?? []).map((m) => ({ ...m, notes: [] }))];
    for (const part of parts) {
      const uid = part.series.seriesUid;
      let group = groups.get(uid);
      if (!group) groups.set(uid, (group = { series: part.series, files: [] }));
      group.files.push({ path, sha256, stored, size, written, format: part.series.format, frames: part.frames, notes: part.notes });
    }
  };

  /** A file no reader imports: skipped or failed with the reader's reason (a copy of an imported file is a duplicate). */
  const refuse = (p: string, sha256: string, outcome: Extract<ReadOutcome, { status: 'skipped' | 'failed' }>) => {
    if (isKnown(sha256) || hashesThisRun.has(sha256)) item(p, 'duplicate', 'same file already imported');
    else if (outcome.status === 'skipped') item(p, 'skipped', outcome.reason);
    else {
      logDetail(p, outcome.detail);
      item(p, 'failed', outcome.reason);
    }
  };

  // A file the fast path did not take: the full readers (dcmjs, itk-wasm, image decoders), and a
  // store file of its own once the checks say it is new.
  const readFully = async (file: ScannedFile, knownSha256: string): Promise<void> => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file.path);
    } catch (e) {
      item(file.path, 'failed', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    const sha256 = knownSha256 || ContentStore.hash(bytes);
    if (isKnown(sha256) || hashesThisRun.has(sha256)) {
      item(file.path, 'duplicate', 'same file already imported');
      return;
    }
    const outcome = await readRecords(file.path, bytes, sha256);
    switch (outcome.status) {
      case 'skipped':
      case 'failed':
        refuse(file.path, sha256, outcome);
        return;
      case 'label-set': {
        if (knownLabelSet.get(outcome.sopInstanceUid) !== undefined) {
          item(file.path, 'duplicate', 'same SOP Instance UID already imported (a DICOM SEG)');
          return;
        }
        const stored = store.put(bytes, sha256);
        db.transaction(() => {
          insertFile.run(sha256, stored.relative, bytes.length, 'dicom', file.path);
          insertLabelSet.run(sha256, outcome.sopInstanceUid, outcome.referencedSeriesUid, JSON.stringify(outcome.segments), ctx.taskId ?? 1, jobId);
        })();
        hashesThisRun.add(sha256);
        item(file.path, 'imported', `DICOM SEG kept as a label set for series ${outcome.referencedSeriesUid}`, outcome.referencedSeriesUid);
        return;
      }
      case 'image': {
        if (isDuplicateSop(outcome.frames)) {
          item(file.path, 'duplicate', 'same SOP Instance UID already imported');
          return;
        }
        const stored = store.put(bytes, sha256, storedExtension(file.path, outcome.series.format));
        stage(file.path, sha256, bytes.length, outcome, stored, stored.written);
        return;
      }
    }
  };

  // What one ingested file means for this import; `stored` is where a new image's bytes went.
  const done = new Uint8Array(files.length);
  let filesByReaders = 0;
  const take = async (r: Ingested, stored: StoredLocation | null, byReader = false): Promise<void> => {
    done[r.index] = 1;
    if (byReader) filesByReaders++;
    progress.bytesRead += r.size;
    if (r.status === 'unreadable') item(r.path, 'failed', r.reason);
    else if (r.status === 'deferred') await readFully(files[r.index]!, r.sha256);
    else if (r.status === 'refused') refuse(r.path, r.sha256, r.outcome);
    // (A reader checked the database before its bytes were stored; a file committed by another
    // process since then keeps its first copy: the indexer's upsert.)
    else if (r.status === 'known' || hashesThisRun.has(r.sha256)) item(r.path, 'duplicate', 'same file already imported');
    else if (isDuplicateSop(r.frames)) item(r.path, 'duplicate', 'same SOP Instance UID already imported'); // its pack bytes stay unreferenced
    else stage(r.path, r.sha256, r.size, { status: 'image', series: r.series, frames: r.frames, ...(r.notes ? { notes: r.notes } : {}) }, stored!, true);
    report();
  };
  const pack = store.openPack();
  const scratch = new Scratch();
  const ingestHere = async (index: number) => {
    const { result, bytes } = ingestFile(index, files[index]!, scratch.take, isKnown);
    await take(result, bytes ? pack.append(bytes) : null);
  };
  const takeFromReader = async ({ result, bytes, release }: ReaderResult) => {
    try {
      const stored = bytes && !ctx.isCancelled() ? pack.append(bytes) : null;
      release();
      // After a cancel the readers' last results are not taken.
      if (!ctx.isCancelled()) await take(result, stored, true);
    } catch (e) {
      release();
      throw e;
    }
  };

  // Large imports share the reading with the reader threads; this thread stores every new image
  // and claims files from the same counter, so it never waits for them to start.
  if (readers && files.length < PARALLEL_MIN_FILES && ctx.readers?.count === undefined) {
    readers.close();
    readers = null;
  }
  readers?.start(files);
  let sequential = 0;
  const claim = () => (readers ? readers.claim() : sequential < files.length ? sequential++ : -1);
  try {
    for (let index = claim(); index >= 0 && !ctx.isCancelled(); index = claim()) {
      await ingestHere(index);
      for (const r of readers?.drain() ?? []) await takeFromReader(r);
    }
    if (readers) {
      while (!readers.finished) {
        if (ctx.isCancelled()) readers.stop();
        for (const r of readers.drain()) await takeFromReader(r);
        await readers.wait(50);
      }
      for (const r of readers.drain()) await takeFromReader(r);
    }
    // A file a reader claimed but never reported (its thread died) is read here.
    for (let i = 0; i < files.length && !ctx.isCancelled(); i++) if (!done[i]) await ingestHere(i);
  } finally {
    readers?.stop();
    readers?.close();
    pack.close();
  }
  // A reader that failed cost speed, not files (this thread read what it left): say so in the log.
  for (const error of readers?.errors ?? []) console.error(`[import] a reader thread failed: ${error}`);

  const read = Date.now();
  progress.phase = 'indexing';
  report(true);
  const indexer = new Indexer(db);
  const studyIds = new Set<number>();
  const uncommitted = new Set(groups.values());
  const reported = new Set<string>();
  for (const group of groups.values()) {
    if (ctx.isCancelled()) break;
    const result = indexer.commit(group);
    uncommitted.delete(group);
    studyIds.add(result.studyId);
    progress.seriesIndexed++;
    for (const o of result.outcomes) {
      // A file with several series (a 4D volume) is one item of the report, given with its first.
      if (reported.has(o.path)) continue;
      reported.add(o.path);
      item(o.path, o.added ? 'imported' : 'duplicate', o.added ? o.notes.join('; ') : 'images already in the database', group.series.seriesUid);
    }
    report();
  }
  flushItems();
  // DICOM SEGs waiting for their series (this import's and earlier ones) become labels now
  // where they can; the report says what became of each (label-sets.ts).
  if (!ctx.isCancelled()) reportLabelSets(db, jobId, resolvePendingLabelSets(db, store));
  if (details.length) {
    try {
      const logs = path.join(path.dirname(store.root), 'logs');
      mkdirSync(logs, { recursive: true });
      appendFileSync(path.join(logs, 'import.log'), details.join('\n') + '\n');
    } catch (e) {
      console.error(`[import] cannot write the import log: ${(e as Error).message}`);
    }
  }

  // Nothing is left behind that nothing refers to: the store files of series a cancel kept out,
  // and packs no committed file points into (all of them after an early cancel).
  const referenced = referencedIn(db);
  for (const group of uncommitted)
    for (const f of group.files) if (f.written && f.stored.offset === null && !isKnown(f.sha256)) store.remove(f.stored.relative);
  for (const written of pack.packs) if (!referenced(written)) store.remove(written);

  const cancelled = ctx.isCancelled();
  progress.phase = 'done';
  delete progress.etaSeconds;
  report(true);
  const ended = Date.now();
  const cpu = process.cpuUsage(cpuAtStart);
  return {
    progress,
    cancelled,
    studyIds: [...studyIds],
    elapsedMs: ended - started,
    phasesMs: { scan: scanned - started, read: read - scanned, index: ended - read },
    filesByReaders,
    cpuMs: (cpu.user + cpu.system) / 1000,
  };
}

type ImageOutcome = Extract<ReadOutcome, { status: 'image' }>;

/** This import's SEG items say what became of them; an earlier import's SEG attached now gets an item of its own. */
function reportLabelSets(db: Database, jobId: number, outcomes: PendingOutcome[]): void {
  const update = db.prepare('UPDATE import_items SET reason = ? WHERE job_id = ? AND path = ?');
  const insert = db.prepare("INSERT INTO import_items (job_id, path, status, reason, series_uid) VALUES (?, ?, 'imported', ?, ?)");
  db.transaction(() => {
    for (const o of outcomes) {
      if (o.jobId === jobId) update.run(o.message, jobId, o.path);
      else if (o.status !== 'pending') insert.run(jobId, o.path, `imported earlier: ${o.message}`, o.seriesUid);
    }
  })();
}
