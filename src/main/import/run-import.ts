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

/** Runs one import start to end (see `ImportRun`). */
export function runImport(ctx: ImportContext): Promise<ImportSummary> {
  return new ImportRun(ctx).run();
}

/**
 * One import as three named steps — scan the inputs, ingest every file (read, hash, store, read
 * its header, on this thread and the reader threads), commit series by series — with the
 * report's items and the progress it sends kept between them.
 */
class ImportRun {
  private readonly started = Date.now();
  private readonly cpuAtStart = process.cpuUsage();
  private readonly progress: ImportProgress;
  private lastSent = 0;
  // Items are written in batches, in their own transactions: they are the report, not the index.
  private pending: [string, ImportItemStatus, string, string | null][] = [];
  // A reader's own message behind a report reason: kept for whoever investigates, never shown.
  private readonly details: string[] = [];
  private readonly groups = new Map<string, SeriesGroup>();
  private readonly sopsThisRun = new Set<string>();
  private readonly hashesThisRun = new Set<string>();
  private filesByReaders = 0;
  private readonly sql;

  constructor(private readonly ctx: ImportContext) {
    const db = ctx.db;
    this.progress = {
      jobId: ctx.jobId,
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
    this.sql = {
      insertItem: db.prepare('INSERT INTO import_items (job_id, path, status, reason, series_uid) VALUES (?, ?, ?, ?, ?)'),
      knownHash: db.prepare('SELECT 1 FROM files WHERE sha256 = ?').pluck(),
      knownSop: db.prepare('SELECT 1 FROM images WHERE sop_instance_uid = ? AND frame_index = ?').pluck(),
      knownLabelSet: db.prepare('SELECT 1 FROM label_sets WHERE sop_instance_uid = ?').pluck(),
      insertLabelSet: db.prepare(
        `INSERT OR IGNORE INTO label_sets (file_id, sop_instance_uid, referenced_series_uid, segments, task_id, status, job_id)
         VALUES ((SELECT id FROM files WHERE sha256 = ?), ?, ?, ?, ?, 'pending', ?)`,
      ),
      insertFile: db.prepare(
        'INSERT OR IGNORE INTO files (sha256, store_path, size, format, original_path) VALUES (?, ?, ?, ?, ?)',
      ),
    };
  }

  async run(): Promise<ImportSummary> {
    // Reader threads start now and take files once the scan is done (readers.ts).
    const ctx = this.ctx;
    const count = ctx.readers && mayNeedReaders(ctx.paths) ? (ctx.readers.count ?? readerCount()) : 0;
    const readers = count > 0 && ctx.readers ? new ReaderPool(ctx.readers, count) : null;
    const files = this.scan();
    const scanned = Date.now();
    const pack = await this.ingest(files, readers);
    const read = Date.now();
    const studyIds = this.commit();
    this.writeLog();
    this.removeUnreferenced(pack);
    const cancelled = ctx.isCancelled();
    this.progress.phase = 'done';
    delete this.progress.etaSeconds;
    this.report(true);
    const ended = Date.now();
    const cpu = process.cpuUsage(this.cpuAtStart);
    return {
      progress: this.progress,
      cancelled,
      studyIds,
      elapsedMs: ended - this.started,
      phasesMs: { scan: scanned - this.started, read: read - scanned, index: ended - read },
      filesByReaders: this.filesByReaders,
      cpuMs: (cpu.user + cpu.system) / 1000,
    };
  }

  // Step 1: the inputs, listed and sized; what cannot be listed is reported.
  private scan(): ScannedFile[] {
    const scan = scanPaths(this.ctx.paths, this.ctx.isCancelled);
    for (const problem of scan.problems) this.item(problem.path, 'failed', problem.reason);
    this.progress.filesSeen = scan.files.length;
    this.progress.bytesTotal = scan.files.reduce((sum, f) => sum + f.size, 0);
    this.progress.phase = 'reading';
    this.report(true);
    return scan.files;
  }

  // Step 2: every file read, hashed and stored (new images appended to this import's pack) with
  // its header; large imports share the reading with the reader threads, and this thread claims
  // files from the same counter, so it never waits for them to start. Returns the pack.
  private async ingest(files: readonly ScannedFile[], pool: ReaderPool | null): Promise<PackWriter> {
    const ctx = this.ctx;
    let readers = pool;
    const done = new Uint8Array(files.length);
    const pack = this.ctx.store.openPack();
    const scratch = new Scratch();
    const isKnown = (sha256: string) => this.isKnown(sha256);
    const ingestHere = async (index: number) => {
      const { result, bytes } = ingestFile(index, files[index]!, scratch.take, isKnown);
      await this.take(files, done, result, bytes ? pack.append(bytes) : null);
    };
    const takeFromReader = async ({ result, bytes, release }: ReaderResult) => {
      try {
        const stored = bytes && !ctx.isCancelled() ? pack.append(bytes) : null;
        release();
        // After a cancel the readers' last results are not taken.
        if (!ctx.isCancelled()) await this.take(files, done, result, stored, true);
      } catch (e) {
        release();
        throw e;
      }
    };
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
    return pack;
  }

  // Step 3: each series committed in a transaction of its own; returns the studies touched.
  private commit(): number[] {
    this.progress.phase = 'indexing';
    this.report(true);
    const indexer = new Indexer(this.ctx.db);
    const studyIds = new Set<number>();
    const reported = new Set<string>();
    for (const group of this.groups.values()) {
      if (this.ctx.isCancelled()) break;
      const result = indexer.commit(group);
      this.committed.add(group);
      studyIds.add(result.studyId);
      this.progress.seriesIndexed++;
      for (const o of result.outcomes) {
        // A file with several series (a 4D volume) is one item of the report, given with its first.
        if (reported.has(o.path)) continue;
        reported.add(o.path);
        this.item(
          o.path,
          o.added ? 'imported' : 'duplicate',
          o.added ? o.notes.join('; ') : 'images already in the database',
          group.series.seriesUid,
        );
      }
      this.report();
    }
    this.flushItems();
    // DICOM SEGs waiting for their series (this import's and earlier ones) become labels now
    // where they can; the report says what became of each (label-sets.ts).
    if (!this.ctx.isCancelled())
      reportLabelSets(this.ctx.db, this.ctx.jobId, resolvePendingLabelSets(this.ctx.db, this.ctx.store));
    return [...studyIds];
  }

  private readonly committed = new Set<SeriesGroup>();

  /** What one ingested file means for this import; `stored` is where a new image's bytes went. */
  private async take(
    files: readonly ScannedFile[],
    done: Uint8Array,
    r: Ingested,
    stored: StoredLocation | null,
    byReader = false,
  ): Promise<void> {
    done[r.index] = 1;
    if (byReader) this.filesByReaders++;
    this.progress.bytesRead += r.size;
    if (r.status === 'unreadable') this.item(r.path, 'failed', r.reason);
    else if (r.status === 'deferred') await this.readFully(files[r.index]!, r.sha256);
    else if (r.status === 'refused') this.refuse(r.path, r.sha256, r.outcome);
    // (A reader checked the database before its bytes were stored; a file committed by another
    // process since then keeps its first copy: the indexer's upsert.)
    else if (r.status === 'known' || this.hashesThisRun.has(r.sha256))
      this.item(r.path, 'duplicate', 'same file already imported');
    else if (this.isDuplicateSop(r.frames))
      this.item(r.path, 'duplicate', 'same SOP Instance UID already imported'); // its pack bytes stay unreferenced
    else
      this.stage(
        r.path,
        r.sha256,
        r.size,
        { status: 'image', series: r.series, frames: r.frames, ...(r.notes ? { notes: r.notes } : {}) },
        stored!,
        true,
      );
    this.report();
  }

  /**
   * A file the fast path did not take: the full readers (dcmjs, itk-wasm, image decoders), and a
   * store file of its own once the checks say it is new.
   */
  private async readFully(file: ScannedFile, knownSha256: string): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file.path);
    } catch (e) {
      this.item(file.path, 'failed', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    const sha256 = knownSha256 || ContentStore.hash(bytes);
    if (this.isKnown(sha256) || this.hashesThisRun.has(sha256)) {
      this.item(file.path, 'duplicate', 'same file already imported');
      return;
    }
    const outcome = await readRecords(file.path, bytes, sha256);
    switch (outcome.status) {
      case 'skipped':
      case 'failed':
        this.refuse(file.path, sha256, outcome);
        return;
      case 'label-set': {
        if (this.sql.knownLabelSet.get(outcome.sopInstanceUid) !== undefined) {
          this.item(file.path, 'duplicate', 'same SOP Instance UID already imported (a DICOM SEG)');
          return;
        }
        const stored = this.ctx.store.put(bytes, sha256);
        this.ctx.db.transaction(() => {
          this.sql.insertFile.run(sha256, stored.relative, bytes.length, 'dicom', file.path);
          this.sql.insertLabelSet.run(
            sha256,
            outcome.sopInstanceUid,
            outcome.referencedSeriesUid,
            JSON.stringify(outcome.segments),
            this.ctx.taskId ?? 1,
            this.ctx.jobId,
          );
        })();
        this.hashesThisRun.add(sha256);
        this.item(
          file.path,
          'imported',
          `DICOM SEG kept as a label set for series ${outcome.referencedSeriesUid}`,
          outcome.referencedSeriesUid,
        );
        return;
      }
      case 'image': {
        if (this.isDuplicateSop(outcome.frames)) {
          this.item(file.path, 'duplicate', 'same SOP Instance UID already imported');
          return;
        }
        const stored = this.ctx.store.put(bytes, sha256, storedExtension(file.path, outcome.series.format));
        this.stage(file.path, sha256, bytes.length, outcome, stored, stored.written);
        return;
      }
    }
  }

  /** Groups a new image's frames by series for the commit. */
  private stage(
    path: string,
    sha256: string,
    size: number,
    outcome: ImageOutcome,
    stored: StoredLocation,
    written: boolean,
  ): void {
    for (const f of outcome.frames) if (f.sopInstanceUid) this.sopsThisRun.add(`${f.sopInstanceUid}#${f.frameIndex}`);
    this.hashesThisRun.add(sha256);
    // A 4D volume's later time points are series of their own over the same stored file; the
    // file's notes are reported once, with its first series.
    const parts = [
      { series: outcome.series, frames: outcome.frames, notes: outcome.notes ?? [] },
      ...(outcome.more ?? []).map((m) => ({ ...m, notes: [] })),
    ];
    for (const part of parts) {
      const uid = part.series.seriesUid;
      let group = this.groups.get(uid);
      if (!group) this.groups.set(uid, (group = { series: part.series, files: [] }));
      group.files.push({
        path,
        sha256,
        stored,
        size,
        written,
        format: part.series.format,
        frames: part.frames,
        notes: part.notes,
      });
    }
  }

  /** A file no reader imports: skipped or failed with the reader's reason (a copy of an imported file is a duplicate). */
  private refuse(p: string, sha256: string, outcome: Extract<ReadOutcome, { status: 'skipped' | 'failed' }>): void {
    if (this.isKnown(sha256) || this.hashesThisRun.has(sha256)) this.item(p, 'duplicate', 'same file already imported');
    else if (outcome.status === 'skipped') this.item(p, 'skipped', outcome.reason);
    else {
      if (outcome.detail)
        this.details.push(`${new Date().toISOString()} job ${this.ctx.jobId} ${p}: ${outcome.detail.replace(/\s+/g, ' ')}`);
      this.item(p, 'failed', outcome.reason);
    }
  }

  private isKnown(sha256: string): boolean {
    return this.sql.knownHash.get(sha256) !== undefined;
  }

  /** Whether every frame of an image is in the database or earlier in this import already. */
  private isDuplicateSop(frames: readonly FrameRecord[]): boolean {
    const withSop = frames.filter((f) => f.sopInstanceUid);
    return (
      withSop.length > 0 &&
      withSop.every(
        (f) =>
          this.sopsThisRun.has(`${f.sopInstanceUid}#${f.frameIndex}`) || this.sql.knownSop.get(f.sopInstanceUid, f.frameIndex),
      )
    );
  }

  private item(p: string, status: ImportItemStatus, reason = '', seriesUid: string | null = null): void {
    this.pending.push([p, status, reason, seriesUid]);
    if (status === 'imported') this.progress.filesImported++;
    else if (status === 'duplicate') this.progress.filesDuplicate++;
    else if (status === 'skipped') this.progress.filesSkipped++;
    else this.progress.filesFailed++;
    if (this.pending.length >= ITEM_BATCH) this.flushItems();
  }

  private flushItems(): void {
    this.ctx.db.transaction(() => {
      for (const [p, status, reason, uid] of this.pending) this.sql.insertItem.run(this.ctx.jobId, p, status, reason, uid);
      this.pending = [];
    })();
  }

  private report(force = false): void {
    const now = Date.now();
    if (!force && now - this.lastSent < PROGRESS_INTERVAL_MS) return;
    this.lastSent = now;
    const p = this.progress;
    const elapsed = (now - this.started) / 1000;
    if (p.phase === 'reading' && p.bytesRead > 0 && elapsed > 0.5)
      p.etaSeconds = Math.round(((p.bytesTotal - p.bytesRead) * elapsed) / p.bytesRead);
    this.ctx.onProgress({ ...p });
  }

  /** The readers' own messages behind the report's reasons, for whoever investigates. */
  private writeLog(): void {
    if (!this.details.length) return;
    try {
      const logs = path.join(path.dirname(this.ctx.store.root), 'logs');
      mkdirSync(logs, { recursive: true });
      appendFileSync(path.join(logs, 'import.log'), this.details.join('\n') + '\n');
    } catch (e) {
      console.error(`[import] cannot write the import log: ${(e as Error).message}`);
    }
  }

  /**
   * Nothing is left behind that nothing refers to: the store files of series a cancel kept out,
   * and packs no committed file points into (all of them after an early cancel).
   */
  private removeUnreferenced(pack: PackWriter): void {
    const store = this.ctx.store;
    const referenced = referencedIn(this.ctx.db);
    for (const group of this.groups.values()) {
      if (this.committed.has(group)) continue;
      for (const f of group.files)
        if (f.written && f.stored.offset === null && !this.isKnown(f.sha256)) store.remove(f.stored.relative);
    }
    for (const written of pack.packs) if (!referenced(written)) store.remove(written);
  }
}

type ImageOutcome = Extract<ReadOutcome, { status: 'image' }>;
type PackWriter = ReturnType<ContentStore['openPack']>;

/** This import's SEG items say what became of them; an earlier import's SEG attached now gets an item of its own. */
function reportLabelSets(db: Database, jobId: number, outcomes: PendingOutcome[]): void {
  const update = db.prepare('UPDATE import_items SET reason = ? WHERE job_id = ? AND path = ?');
  const insert = db.prepare(
    "INSERT INTO import_items (job_id, path, status, reason, series_uid) VALUES (?, ?, 'imported', ?, ?)",
  );
  db.transaction(() => {
    for (const o of outcomes) {
      if (o.jobId === jobId) update.run(o.message, jobId, o.path);
      else if (o.status !== 'pending') insert.run(jobId, o.path, `imported earlier: ${o.message}`, o.seriesUid);
    }
  })();
}
