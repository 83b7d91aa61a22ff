// The job store on a real SQLite file: each kind's params, progress and result come back as
// that kind's types, progress is null until reported, and a job of another kind is refused.
import { spawn } from 'node:child_process';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import type { Events, Job } from '../../shared/contract';
import { Emitter } from '../../shared/events';
import { openDatabase, type Database } from '../db/database';
import { INTERRUPTED, JobStore } from './store';

describe('job store', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  let jobs: JobStore;
  const seen: Job[] = [];
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'lgms.sqlite'));
    const events = new Emitter<Events>();
    events.on('onDidChangeJob', (j) => seen.push(j));
    jobs = new JobStore(db, events);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('keeps an import job typed from creation to result', async () => {
    const created = jobs.create('import', 'Import ct', { paths: ['/data/ct'] });
    expect(created).toMatchObject({
      kind: 'import',
      status: 'queued',
      params: { paths: ['/data/ct'] },
      progress: null,
      result: null,
    });
    jobs.markRunning(created.id, () => {});
    const progress = {
      jobId: created.id,
      phase: 'reading' as const,
      filesSeen: 3,
      filesImported: 1,
      filesDuplicate: 0,
      filesSkipped: 0,
      filesFailed: 0,
      bytesRead: 10,
      bytesTotal: 30,
      seriesIndexed: 0,
    };
    jobs.progress('import', created.id, progress, true);
    const done = jobs.finish('import', created.id, 'done', {
      result: { studyIds: [4], elapsedMs: 5, phasesMs: { scan: 1, read: 3, index: 1 }, filesByReaders: 0 },
    });
    expect(done.result?.studyIds).toEqual([4]);
    const job = await jobs.get({ id: created.id });
    // The union narrows on kind: an import's result has study IDs, an inference's does not.
    if (job.kind !== 'import') throw new Error(`kind ${job.kind}`);
    expect(job.progress && 'filesSeen' in job.progress ? job.progress.filesSeen : null).toBe(3);
    expect(job.result?.phasesMs.read).toBe(3);
    expect(seen.map((j) => j.status)).toEqual(['queued', 'running', 'running', 'done']);
  });

  it('refuses a job of another kind where one kind is expected', () => {
    const created = jobs.create('inference', 'Segment', { seriesId: 7, ttaFlips: 2 });
    expect(jobs.getOf('inference', created.id).params).toEqual({ seriesId: 7, ttaFlips: 2 });
    expect(() => jobs.getOf('import', created.id)).toThrow(/not an import job/);
  });

  it('cancels a queued job and refuses to cancel a finished one', async () => {
    const created = jobs.create('inference', 'Segment', { seriesId: 7 });
    expect((await jobs.cancel({ id: created.id })).status).toBe('cancelled');
    await expect(jobs.cancel({ id: created.id })).rejects.toMatchObject({ code: 'conflict' });
  });

  it('recoverInterrupted: jobs left running, and imports left queued (nothing would start them), are marked interrupted; a queued segmentation stays queued', () => {
    const running = jobs.create('export', 'Export', { seriesIds: [1] } as never);
    jobs.markRunning(running.id, () => {});
    const importQueued = jobs.create('import', 'Import', { paths: ['/data/ct'] });
    const inferenceQueued = jobs.create('inference', 'Segment', { seriesId: 1 } as never);
    expect(jobs.recoverInterrupted()).toBe(2);
    const status = (id: number) => db.prepare('SELECT status, error FROM jobs WHERE id = ?').get(id);
    expect(status(running.id)).toEqual({ status: 'failed', error: INTERRUPTED });
    expect(status(importQueued.id)).toEqual({ status: 'failed', error: INTERRUPTED });
    expect(status(inferenceQueued.id)).toEqual({ status: 'queued', error: null });
  });

  it("recoverInterrupted leaves alone the jobs of another live process on this data folder (the app while `lgms` starts); a dead or reused owner's are marked", async () => {
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    const dead = spawn('true', [], { stdio: 'ignore' });
    await new Promise((r) => dead.once('exit', r));
    try {
      const mine = (owner: number | null) => {
        const job = jobs.create('export', 'Export', { seriesIds: [1] } as never);
        jobs.markRunning(job.id, () => {});
        db.prepare('UPDATE jobs SET owner_pid = ? WHERE id = ?').run(owner, job.id);
        return job.id;
      };
      const live = mine(other.pid!);
      const gone = mine(dead.pid!);
      const reused = mine(process.pid); // at a start, nothing of this process runs yet
      const legacy = mine(null); // written before owners were kept
      expect(jobs.recoverInterrupted()).toBe(3);
      const status = (id: number) => db.prepare('SELECT status FROM jobs WHERE id = ?').pluck().get(id);
      expect([live, gone, reused, legacy].map(status)).toEqual(['running', 'failed', 'failed', 'failed']);
    } finally {
      other.kill();
    }
  });

  it('stopAll (the app quits): every running job is asked to stop, and one that then ends cancelled is recorded as interrupted', () => {
    const a = jobs.create('export', 'Export a', { seriesIds: [1] } as never);
    const b = jobs.create('export', 'Export b', { seriesIds: [2] } as never);
    const stopped: number[] = [];
    jobs.markRunning(a.id, () => stopped.push(a.id));
    jobs.markRunning(b.id, () => stopped.push(b.id));
    jobs.stopAll();
    expect(stopped).toEqual([a.id, b.id]);
    expect(jobs.finish('export', a.id, 'cancelled')).toMatchObject({ status: 'failed', error: INTERRUPTED });
    // One that finished meanwhile is done, not interrupted.
    expect(jobs.finish('export', b.id, 'done')).toMatchObject({ status: 'done', error: null });
  });
});
