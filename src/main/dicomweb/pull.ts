// "Pull the team's labels" for a task (issue 26): the SEGs on the PACS (QIDO-RS, Modality SEG)
// whose segments are the task's labels become its labels here, provenance `imported`, author the
// SEG's Content Creator's Name. QIDO-RS cannot filter on the nested Segmented Property Type Code
// Sequence, so each SEG is retrieved (WADO-RS) and its codes compared with the task's; a SEG
// with none of them is reported and left on the PACS, never merged. Its source series is
// retrieved where it is not here, and the import goes through the same mapping as any SEG
// (label-sets.ts, label-mapping.ts). The patient's frozen split is decided by the same rule
// (a hash of the patient, src/shared/review/split.ts) as on the workstation that labelled it.
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PacsPullReport, Task, TaskLabel } from '../../shared/contract';
import { LOCAL_SCHEME, sameCode, type CodedConcept } from '../../shared/model/codes';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { seriesByUid } from '../export/queries';
import { readSegDocument, SegReadError, type SegDocument } from '../export/seg-read';
import type { Dataset } from '../export/write-part10';
import { importSegBytes, LabelImportError, proposeSegBytes } from '../import/label-sets';
import { MappingError } from '../import/label-mapping';
import type { ImportMainService } from '../import/service';
import { decideSplit } from '../review/labels';
import type { ContentStore } from '../store/content-store';
import type { DicomwebClient } from './client';
import { retrieveAndImport } from './retrieve';

const dcmjs = createRequire(import.meta.url)('dcmjs') as {
  data: {
    DicomMessage: {
      readFile(buffer: ArrayBuffer, options?: { untilTag?: string; includeUntilTagValue?: boolean }): { dict: Dataset };
    };
    DicomMetaDictionary: { naturalizeDataset(dict: Dataset): Dataset };
  };
};

export interface PullDeps {
  db: Database;
  store: ContentStore;
  importer: ImportMainService;
  dataDir: string;
}

interface Candidate {
  sopInstanceUid: string;
  studyInstanceUid: string;
  bytes: Uint8Array;
  doc: SegDocument;
  author: string;
  /** Content Date + Content Time, to apply a series' SEGs oldest first (the newest wins). */
  contentAt: string;
}

const describe = (c: CodedConcept | null) => (c ? `${c.meaning || c.value} (${c.scheme} ${c.value})` : 'no code');

/**
 * Whether a segment's Segmented Property Type is one of the task's labels in use. A local code
 * (LOCAL_SCHEME, `L<value>`) names a label only within its task, so it must carry the same
 * meaning (the label's name) too: another task's local L1 is not this task's.
 */
export function isTaskCode(labels: readonly TaskLabel[], type: CodedConcept | null): boolean {
  if (!type) return false;
  return labels.some(
    (l) =>
      l.retiredAt === null &&
      sameCode(l.type, type) &&
      (l.type.scheme.toUpperCase() !== LOCAL_SCHEME || l.type.meaning.trim().toLowerCase() === type.meaning.trim().toLowerCase()),
  );
}

/** The task's codes in use as one string: a SEG found of another task is looked at again only when it changes. */
function codeSignature(task: Task): string {
  return task.labels
    .filter((l) => l.retiredAt === null)
    .map((l) => `${l.type.scheme.toUpperCase()}:${l.type.value}:${l.type.meaning.trim().toLowerCase()}`)
    .sort()
    .join('|');
}

/** What the pull is doing, for the job's progress (JobKinds['pull']['progress']). */
export interface PullProgress {
  step: 'looking' | 'taking';
  /** SEGs finished in this step, of `total`. */
  done: number;
  total: number;
  /** The same, for a human. */
  phase: string;
}

export interface PullRun {
  /** Aborted: the pull stops before the next SEG (and aborts the current SEG's downloads). */
  signal?: AbortSignal;
  /** Called before each SEG and at the end of each step; `everySeg` false for a SEG skipped without a download. */
  onProgress?: (progress: PullProgress, everySeg: boolean) => void;
}

/**
 * A pull that stopped before its end: cancelled (`reason.code` 'cancelled') or the PACS went away
 * (`reason` its ServiceError in words). `report` is what was done until then, complete for every
 * SEG it names, with the SEGs not got to in `notLookedAt`.
 */
export class PullStopped extends Error {
  constructor(
    readonly report: PacsPullReport,
    readonly reason: ServiceError,
  ) {
    super(reason.message);
  }
}

/** PACS errors that stop the whole pull rather than one SEG: the PACS is away, refuses this account, or the user cancelled. */
const stopsThePull = (e: unknown): e is ServiceError =>
  e instanceof ServiceError && (e.code === 'cancelled' || e.code === 'unavailable' || e.code === 'unauthorized');

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/**
 * Pulls the task's SEGs from the PACS into this workstation (see the file's comment), in two
 * steps: every SEG found is read and its codes compared with the task's ('looking'), then the
 * task's SEGs are taken oldest first ('taking'). SEGs taken before, sent from here, or found of
 * another task while the task's codes were the same, are skipped without being retrieved. Per SEG
 * all or nothing; a SEG's own trouble (unreadable, not fitting) is in the report. Throws a
 * ServiceError in words when the PACS cannot be searched, and PullStopped when the pull is
 * cancelled (`run.signal`) or the PACS goes away midway: what was taken until then stays.
 */
export async function pullTaskLabels(
  d: PullDeps,
  client: DicomwebClient,
  task: Task,
  run: PullRun = {},
): Promise<PacsPullReport> {
  const report: PacsPullReport = {
    taskId: task.id,
    found: 0,
    imported: [],
    alreadyHere: 0,
    notOfTask: [],
    otherTasksSeenBefore: 0,
    refused: [],
    seriesRetrieved: 0,
    notLookedAt: [],
  };
  const stop = (cause: ServiceError, left: readonly { sopInstanceUid: string; studyInstanceUid: string }[]): never => {
    report.notLookedAt = left.map((l) => ({ sopInstanceUid: l.sopInstanceUid, studyInstanceUid: l.studyInstanceUid }));
    throw new PullStopped(report, cause);
  };
  const cancelled = () => new ServiceError('cancelled', 'cancelled');
  const instances = await client.searchInstancesOfModality('SEG', run.signal);
  report.found = instances.length;
  const codes = codeSignature(task);
  const seenBefore = d.db.prepare(
    `SELECT outcome FROM pacs_pulls WHERE task_id = ? AND sop_instance_uid = ? AND (outcome = 'imported' OR codes = ?)
     UNION ALL SELECT 'imported' FROM pacs_pushes WHERE sop_instance_uid = ?`,
  );
  const otherTask = d.db.prepare(
    `INSERT INTO pacs_pulls (task_id, sop_instance_uid, author, outcome, codes) VALUES (?, ?, ?, 'other-task', ?)
     ON CONFLICT (task_id, sop_instance_uid) DO UPDATE SET codes = excluded.codes, pulled_at = excluded.pulled_at`,
  );
  const candidates: Candidate[] = [];
  const looking = (n: number, everySeg: boolean) =>
    run.onProgress?.(
      {
        step: 'looking',
        done: n,
        total: instances.length,
        phase:
          n < instances.length
            ? `Looking at SEG ${n + 1} of ${instances.length} on the PACS`
            : `Looked at the ${plural(instances.length, 'SEG')} on the PACS`,
      },
      everySeg,
    );
  for (const [n, i] of instances.entries()) {
    const before = seenBefore.pluck().get(task.id, i.sopInstanceUid, codes, i.sopInstanceUid) as string | undefined;
    looking(n, before === undefined);
    if (run.signal?.aborted) stop(cancelled(), [...instances.slice(n), ...candidates]);
    if (before !== undefined) {
      if (before === 'imported') report.alreadyHere++;
      else report.otherTasksSeenBefore++;
      continue;
    }
    const base = { sopInstanceUid: i.sopInstanceUid, seriesInstanceUid: '', author: '' };
    let bytes: Uint8Array;
    let doc: SegDocument;
    try {
      bytes = await client.retrieveInstance(i.studyInstanceUid, i.seriesInstanceUid, i.sopInstanceUid, run.signal);
      doc = readSegDocument(bytes);
    } catch (e) {
      if (stopsThePull(e)) stop(e, [...instances.slice(n), ...candidates]);
      // One unreadable SEG on the PACS does not stop the others.
      const why =
        e instanceof ServiceError || e instanceof SegReadError ? e.message : 'it is not a SEG this workstation can read';
      report.refused.push({ ...base, message: `the SEG could not be retrieved or read: ${why}` });
      continue;
    }
    const author = doc.contentCreatorName.replace(/\^+$/, '');
    const seen = { ...base, seriesInstanceUid: doc.referencedSeriesUid, author };
    if (!doc.segments.some((s) => isTaskCode(task.labels, s.type))) {
      otherTask.run(task.id, i.sopInstanceUid, author, codes);
      report.notOfTask.push({
        ...seen,
        segments: doc.segments.map((s) => `${s.label} — ${describe(s.type)}`),
        message: `none of its segments is a label of task ${task.name} by code: left on the PACS`,
      });
      continue;
    }
    candidates.push({
      sopInstanceUid: i.sopInstanceUid,
      studyInstanceUid: i.studyInstanceUid,
      bytes,
      doc,
      author,
      contentAt: contentAt(bytes),
    });
  }
  looking(instances.length, true);
  candidates.sort((a, b) => a.contentAt.localeCompare(b.contentAt));
  for (const [k, c] of candidates.entries()) {
    run.onProgress?.(
      {
        step: 'taking',
        done: k,
        total: candidates.length,
        phase: `Taking the labels of SEG ${k + 1} of ${candidates.length} of this task (by ${c.author || 'an unnamed reader'})`,
      },
      true,
    );
    if (run.signal?.aborted) stop(cancelled(), candidates.slice(k));
    try {
      await takeOne(d, client, task, c, report, run.signal);
    } catch (e) {
      if (stopsThePull(e)) stop(e, candidates.slice(k));
      throw e;
    }
  }
  const taken = candidates.length;
  run.onProgress?.(
    { step: 'taking', done: taken, total: taken, phase: `Done with the ${plural(taken, 'SEG')} of this task` },
    true,
  );
  return report;
}

/**
 * One SEG of the task: its series retrieved where missing, checked, then written as labels with
 * the split in one transaction. Throws (nothing of the SEG's labels written) only the PACS errors
 * that stop the whole pull (stopsThePull); any other trouble is a refusal in the report.
 */
async function takeOne(
  d: PullDeps,
  client: DicomwebClient,
  task: Task,
  c: Candidate,
  report: PacsPullReport,
  signal?: AbortSignal,
): Promise<void> {
  const seen = { sopInstanceUid: c.sopInstanceUid, seriesInstanceUid: c.doc.referencedSeriesUid, author: c.author };
  const refuse = (message: string) => report.refused.push({ ...seen, message });
  if (!c.doc.referencedSeriesUid) return void refuse('the SEG names no source series (Referenced Series Sequence)');
  if (!seriesByUid(d.db, c.doc.referencedSeriesUid)) {
    try {
      await retrieveAndImport(
        { client, importer: d.importer, staging: path.join(d.dataDir, 'staging', `pull-${task.id}-${randomUUID()}`) },
        c.doc.studyInstanceUid || c.studyInstanceUid,
        c.doc.referencedSeriesUid,
        signal ? { signal } : {},
      );
      report.seriesRetrieved++;
    } catch (e) {
      if (stopsThePull(e)) throw e;
      const why = e instanceof ServiceError ? e.message : 'they could not be imported';
      return void refuse(`its images could not be retrieved from the PACS: ${why}`);
    }
  }
  const series = seriesByUid(d.db, c.doc.referencedSeriesUid);
  if (!series) return void refuse('its images are not on this workstation after the retrieve');
  const own = d.db
    .prepare("SELECT count(*) FROM labels WHERE series_id = ? AND task_id = ? AND superseded_at IS NULL AND origin != 'imported'")
    .pluck()
    .get(series.id, task.id) as number;
  if (own > 0)
    return void refuse(
      `series ${series.description || series.seriesUid} already has ${own} labels of task ${task.name} made on this workstation: they are kept, the SEG is not taken`,
    );
  try {
    const proposal = proposeSegBytes(d.db, d.store, c.bytes, task.id);
    if (proposal.blocked) return void refuse(`it does not fit its series here: ${proposal.blocked}`);
    if (proposal.unresolved.length > 0)
      return void refuse(
        `segments need the reader's choice: ${proposal.segments
          .filter((s) => s.value === null)
          .map((s) => `segment ${s.number} "${s.label}": ${s.problem}`)
          .join('; ')}`,
      );
    const applied = d.db.transaction(() => {
      const r = importSegBytes(d.db, d.store, c.bytes, task.id, [], '');
      decideSplit(d.db, r.seriesId);
      d.db
        .prepare(
          `INSERT INTO pacs_pulls (task_id, sop_instance_uid, series_id, author, outcome) VALUES (?, ?, ?, ?, 'imported')
           ON CONFLICT (task_id, sop_instance_uid) DO UPDATE SET
             series_id = excluded.series_id, author = excluded.author, outcome = 'imported', pulled_at = excluded.pulled_at`,
        )
        .run(task.id, c.sopInstanceUid, r.seriesId, c.author);
      return r;
    })();
    report.imported.push({
      ...seen,
      seriesId: applied.seriesId,
      imagesLabelled: applied.imagesLabelled,
      message: applied.message,
    });
  } catch (e) {
    // Nothing of this SEG was written (one transaction); the others go on.
    if (e instanceof LabelImportError || e instanceof MappingError) return void refuse(e.message);
    console.error(`[pacs] pulling SEG ${c.sopInstanceUid}: ${(e as Error).stack ?? String(e)}`);
    refuse('it could not be imported because of an error in the workstation (details in its log)');
  }
}

/** Content Date and Content Time of a SEG as one sortable string ('' when absent). */
function contentAt(bytes: Uint8Array): string {
  try {
    const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(
      dcmjs.data.DicomMessage.readFile(buffer, { untilTag: '00620002', includeUntilTagValue: false }).dict,
    );
    return `${String(ds.ContentDate ?? '')}${String(ds.ContentTime ?? '').padEnd(13, '0')}`;
  } catch {
    return '';
  }
}
