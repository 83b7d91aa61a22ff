// A series from the PACS into the study database: every instance downloaded (WADO-RS) into a
// staging folder first, and only then handed to the ordinary import, so a transfer cut off midway
// imports nothing. Used by the retrieve job and by a pull of a task's labels.
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Job } from '../../shared/contract';
import { ServiceError } from '../../shared/result';
import type { ImportMainService } from '../import/service';
import type { DicomwebClient } from './client';

export interface RetrievedSeries {
  /** The import job that took the instances in, finished. */
  imported: Extract<Job, { kind: 'import' }>;
  importJobId: number;
  instances: number;
}

/**
 * Downloads the series' instances into `staging` (removed afterwards, whatever happens) and
 * imports them (a SEG among them becomes labels of `taskId`, label-sets.ts). Throws
 * ServiceError in words: no instances, a PACS error, an import that did not finish.
 */
export async function retrieveAndImport(
  o: { client: DicomwebClient; importer: ImportMainService; staging: string },
  studyUid: string,
  seriesUid: string,
  options: { signal?: AbortSignal; taskId?: number; onProgress?: (done: number, total: number) => void } = {},
): Promise<RetrievedSeries> {
  try {
    const instances = await o.client.searchInstances(studyUid, seriesUid, options.signal);
    if (instances.length === 0) throw new ServiceError('not-found', 'the PACS has no instances in that series');
    mkdirSync(o.staging, { recursive: true });
    for (const [i, sop] of instances.entries()) {
      options.onProgress?.(i, instances.length);
      const bytes = await o.client.retrieveInstance(studyUid, seriesUid, sop, options.signal);
      writeFileSync(path.join(o.staging, `${String(i + 1).padStart(5, '0')}.dcm`), bytes);
    }
    options.onProgress?.(instances.length, instances.length);
    const { jobId: importJobId } = await o.importer.start({
      paths: [o.staging],
      ...(options.taskId ? { taskId: options.taskId } : {}),
    });
    const imported = await o.importer.wait(importJobId);
    if (imported.status !== 'done')
      throw new ServiceError('internal', `the import of the retrieved series ${imported.status}: ${imported.error ?? ''}`);
    if (imported.kind !== 'import' || !imported.result)
      throw new ServiceError('internal', 'the import of the retrieved series gave no result');
    return { imported, importJobId, instances: instances.length };
  } finally {
    rmSync(o.staging, { recursive: true, force: true });
  }
}
