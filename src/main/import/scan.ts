// Expands what the user picked — folders, files, DICOMDIRs — into the list of files to read.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { dcmjs, readQuietly } from '../imaging/dicom/dcmjs-api';
import { directoryFileIds } from '../imaging/dicom/dicomdir';

export interface ScanResult {
  files: { path: string; size: number }[];
  /** Paths that could not be read at all, with the reason. */
  problems: { path: string; reason: string }[];
}

const IGNORED_NAMES = new Set(['.DS_Store', 'Thumbs.db', 'desktop.ini']);

export function scanPaths(inputs: readonly string[], isCancelled: () => boolean = () => false): ScanResult {
  const result: ScanResult = { files: [], problems: [] };
  const seen = new Set<string>();
  const add = (file: string, size: number) => {
    if (seen.has(file)) return;
    seen.add(file);
    result.files.push({ path: file, size });
  };

  const walk = (dir: string) => {
    let entries;
    try {
      entries = readdirSync(dir, { withFileTypes: true });
    } catch (e) {
      result.problems.push({ path: dir, reason: `cannot read folder: ${(e as Error).message}` });
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (isCancelled()) return;
      if (IGNORED_NAMES.has(entry.name) || entry.name.startsWith('._')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.isFile()) add(full, statSafe(full));
      // Symbolic links are followed only when named directly: a loop cannot trap the scan.
    }
  };

  for (const input of inputs) {
    const full = path.resolve(input);
    let st;
    try {
      st = statSync(full);
    } catch (e) {
      result.problems.push({
        path: full,
        reason: `not found or not readable: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
      });
      continue;
    }
    if (st.isDirectory()) walk(full);
    else if (path.basename(full).toUpperCase() === 'DICOMDIR') {
      const listed = dicomdirFiles(full);
      if ('error' in listed) {
        result.problems.push({ path: full, reason: listed.error });
        walk(path.dirname(full)); // still import what is on the disc
      } else {
        for (const f of listed.files) add(f, statSafe(f));
        for (const u of listed.unresolved) result.problems.push(u);
        if (listed.files.length === 0 && listed.unresolved.length === 0)
          result.problems.push({ path: full, reason: 'DICOMDIR lists no files' });
      }
    } else add(full, st.size);
  }
  return result;
}

function statSafe(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return 0;
  }
}

/**
 * Files a DICOMDIR references (Referenced File ID, relative to the DICOMDIR's folder; PS3.10
 * §8.5: components separated by "\\" or stored as separate values). A "/" inside a component is
 * taken as a separator too, as pydicom's FileSet and other readers do for non-conformant writers.
 * An entry that cannot be resolved is listed in `unresolved` with its reason, never dropped.
 */
export function dicomdirFiles(
  dicomdir: string,
): { files: string[]; unresolved: { path: string; reason: string }[] } | { error: string } {
  try {
    const bytes = readFileSync(dicomdir);
    const root = path.dirname(dicomdir);
    const files: string[] = [];
    const unresolved: { path: string; reason: string }[] = [];
    for (const raw of directoryFileIds(bytes) ?? parsedFileIds(bytes)) {
      const parts = raw.split(/[\\/]/).map((p) => p.trim());
      const shown = `${dicomdir} → ${raw}`;
      // Never leave the disc: no parent steps, no absolute or empty components.
      if (parts.some((p) => p === '..' || p === '.' || p === '')) {
        unresolved.push({ path: shown, reason: 'DICOMDIR entry points outside its folder: not followed' });
        continue;
      }
      const file = resolveCaseInsensitive(root, parts);
      if (!existsSync(file)) unresolved.push({ path: shown, reason: 'DICOMDIR entry names a file that is not on the disc' });
      else files.push(file);
    }
    return { files, unresolved };
  } catch {
    return { error: 'cannot read DICOMDIR: its directory records are damaged (the folder is imported instead)' };
  }
}

/** The Referenced File IDs as dcmjs parses them: for the DICOMDIRs the quick reader leaves (dicomdir.ts). */
export function parsedFileIds(bytes: Buffer): string[] {
  const data = readQuietly(() =>
    dcmjs.data.DicomMessage.readFile(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer),
  );
  const ds = dcmjs.data.DicomMetaDictionary.naturalizeDataset(data.dict) as {
    DirectoryRecordSequence?: { ReferencedFileID?: string | string[] }[];
  };
  const ids: string[] = [];
  for (const record of ds.DirectoryRecordSequence ?? []) {
    const id = record.ReferencedFileID;
    if (id) ids.push((Array.isArray(id) ? id : [String(id)]).join('\\'));
  }
  return ids;
}

/** CDs written on one OS and read on another often differ in letter case. */
function resolveCaseInsensitive(root: string, parts: string[]): string {
  let dir = root;
  for (const part of parts) {
    const exact = path.join(dir, part);
    let next = exact;
    try {
      statSync(exact);
    } catch {
      const match = safeList(dir).find((n) => n.toUpperCase() === part.toUpperCase());
      if (match) next = path.join(dir, match);
    }
    dir = next;
  }
  return dir;
}

function safeList(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
