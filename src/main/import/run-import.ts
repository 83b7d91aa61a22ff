// One import, start to end: scan the inputs, read each file's header, copy it into the store,
// then commit series by series. Runs in a worker thread (see worker.ts) with its own database
// connection; the same function runs in-process in tests.
import { readFileSync } from 'node:fs';
import type { ImportItemStatus, ImportProgress } from '../../shared/contract';
import type { Database } from '../db/database';
import { ContentStore } from './content-store';
import { Indexer, type SeriesGroup } from './indexer';
import { readRecords } from './read-file';
import { storedExtension } from './read-other';
import { scanPaths } from './scan';

export interface ImportContext {
  db: Database;
  store: ContentStore;
  jobId: number;
  paths: readonly string[];
  isCancelled(): boolean;
  onProgress(progress: ImportProgress): void;
}

export interface ImportSummary {
  progress: ImportProgress;
  cancelled: boolean;
  studyIds: number[];
  /** Scan to last series committed, in the worker (worker start-up excluded). */
  elapsedMs: number;
}

const ITEM_BATCH = 200;
const PROGRESS_INTERVAL_MS = 200;

export async function runImport(ctx: ImportContext): Promise<ImportSummary> {
  const { db, store, jobId } = ctx;
  const started = Date.now();
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
  const item = (p: string, status: ImportItemStatus, reason = '', seriesUid: string | null = null) => {
    pending.push([p, status, reason, seriesUid]);
    if (status === 'imported') progress.filesImported++;
    else if (status === 'duplicate') progress.filesDuplicate++;
    else if (status === 'skipped') progress.filesSkipped++;
    else progress.filesFailed++;
    if (pending.length >= ITEM_BATCH) flushItems();
  };

  const scan = scanPaths(ctx.paths, ctx.isCancelled);
  for (const problem of scan.problems) item(problem.path, 'failed', problem.reason);
  progress.filesSeen = scan.files.length;
  progress.bytesTotal = scan.files.reduce((sum, f) => sum + f.size, 0);
  progress.phase = 'reading';
  report(true);

  const knownHash = db.prepare('SELECT 1 FROM files WHERE sha256 = ?').pluck();
  const knownSop = db.prepare('SELECT 1 FROM images WHERE sop_instance_uid = ? AND frame_index = ?').pluck();
  const insertLabelSet = db.prepare(
    `INSERT OR IGNORE INTO label_sets (file_id, sop_instance_uid, referenced_series_uid, segments)
     VALUES ((SELECT id FROM files WHERE sha256 = ?), ?, ?, ?)`,
  );
  const insertFile = db.prepare('INSERT OR IGNORE INTO files (sha256, store_path, size, format, original_path) VALUES (?, ?, ?, ?, ?)');
  const groups = new Map<string, SeriesGroup>();
  const sopsThisRun = new Set<string>();

  // Synchronous reads, hashes and writes: measured faster on 2 cores than handing each file to
  // libuv's thread pool (1.2 ms vs 0.5 ms per 128 KB file, docs/benchmarks.md).
  const handleFile = async (file: { path: string; size: number }): Promise<void> => {
    let bytes: Uint8Array;
    try {
      bytes = readFileSync(file.path);
    } catch (e) {
      item(file.path, 'failed', `cannot read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
      return;
    }
    progress.bytesRead += file.size;
    const sha256 = ContentStore.hash(bytes);
    if (knownHash.get(sha256)) {
      item(file.path, 'duplicate', 'same file already imported');
      return;
    }
    const outcome = await readRecords(file.path, bytes, sha256);
    switch (outcome.status) {
      case 'skipped':
        item(file.path, 'skipped', outcome.reason);
        return;
      case 'failed':
        item(file.path, 'failed', outcome.reason);
        return;
      case 'label-set': {
        const stored = store.put(bytes, sha256);
        db.transaction(() => {
          insertFile.run(sha256, stored.relative, bytes.length, 'dicom', file.path);
          insertLabelSet.run(sha256, outcome.sopInstanceUid, outcome.referencedSeriesUid, JSON.stringify(outcome.segments));
        })();
        item(file.path, 'imported', `DICOM SEG kept as a label set for series ${outcome.referencedSeriesUid}`, outcome.referencedSeriesUid);
        return;
      }
      case 'image': {
        const sops = outcome.frames.filter((f) => f.sopInstanceUid).map((f) => [f.sopInstanceUid!, f.frameIndex] as const);
        if (sops.length > 0 && sops.every(([sop, frame]) => sopsThisRun.has(`${sop}#${frame}`) || knownSop.get(sop, frame))) {
          item(file.path, 'duplicate', 'same SOP Instance UID already imported');
          return;
        }
        for (const [sop, frame] of sops) sopsThisRun.add(`${sop}#${frame}`);
        const stored = store.put(bytes, sha256, storedExtension(file.path, outcome.series.format));
        const uid = outcome.series.seriesUid;
        let group = groups.get(uid);
        if (!group) groups.set(uid, (group = { series: outcome.series, files: [] }));
        group.files.push({ path: file.path, sha256, relative: stored.relative, size: bytes.length, format: outcome.series.format, frames: outcome.frames });
        return;
      }
    }
  };
  for (const file of scan.files) {
    if (ctx.isCancelled()) break;
    await handleFile(file);
    report();
  }

  progress.phase = 'indexing';
  report(true);
  const indexer = new Indexer(db);
  const studyIds = new Set<number>();
  for (const group of groups.values()) {
    if (ctx.isCancelled()) break;
    const result = indexer.commit(group);
    studyIds.add(result.studyId);
    progress.seriesIndexed++;
    for (const o of result.outcomes) item(o.path, o.added ? 'imported' : 'duplicate', o.added ? '' : 'images already in the database', group.series.seriesUid);
    report();
  }
  flushItems();
  const cancelled = ctx.isCancelled();
  progress.phase = 'done';
  delete progress.etaSeconds;
  report(true);
  return { progress, cancelled, studyIds: [...studyIds], elapsedMs: Date.now() - started };
}
