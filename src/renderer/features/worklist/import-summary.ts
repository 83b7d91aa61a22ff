// One sentence a reader understands for a finished import, instead of bare counts that read as a
// failure ("0 imported, 40 already there") when nothing went wrong.
import type { ImportReport } from '../../../shared/contract';

/** The summary line of an import report; `demo` when it was Load demo studies. */
export function importSummary(r: Pick<ImportReport, 'counts'> & { job: { status: string } }, demo = false): string {
  const { imported, duplicate, skipped, failed } = r.counts;
  const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;
  if (r.job.status === 'cancelled') return `Cancelled after ${plural(imported, 'file')} imported`;
  if (r.job.status === 'failed') return 'The import stopped with an error';
  if (imported + duplicate + skipped + failed === 0)
    return 'The folder held nothing to import: no DICOM, NIfTI, NRRD, MetaImage, PNG or JPEG files';
  if (imported === 0 && skipped === 0 && failed === 0)
    return demo
      ? 'Demo studies already loaded'
      : `Already in the worklist: ${duplicate === 1 ? 'the file was' : `all ${duplicate} files were`} imported before`;
  const parts = [`${imported} imported`];
  if (duplicate) parts.push(`${duplicate} already there`);
  if (skipped) parts.push(`${skipped} skipped`);
  if (failed) parts.push(`${failed} failed`);
  return parts.join(', ');
}
