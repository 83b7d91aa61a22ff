// Where an export is written before it is complete, and how it moves into the reader's folder.
// The stage lives in the data folder, never inside the destination: a killed export leaves
// nothing in the folder a PACS send or a script may walk, and the next start of any command
// removes the stages of processes that are gone. Finished files move in under names that are
// free: an earlier export is never overwritten.
import {
  copyFileSync,
  cpSync,
  existsSync,
  linkSync,
  mkdirSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
} from 'node:fs';
import path from 'node:path';
import type { Database } from '../db/database';
import { isProcessAlive } from '../process-alive';

/** `<data>/export-staging`: one folder per running export. */
export function exportStagingRoot(dataDir: string): string {
  return path.join(dataDir, 'export-staging');
}

/** A new, empty stage for one export job: `<root>/<time base 36>-<pid>-<job id>`. */
export function createStage(root: string, jobId: number): string {
  const dir = path.join(root, `${Date.now().toString(36)}-${process.pid}-${jobId}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

const STAGE = /^([0-9a-z]+)-(\d+)-\d+$/;
/** What this version leaves in a destination while copying across file systems: `.<name>.<pid>.lgms-part`. */
const PART = /^\..*\.(\d+)\.lgms-part$/;
/** The stage inside the destination of versions before this one: `.lgms-export-<job id>-<hex>`. */
const OLD_STAGE = /^\.lgms-export-(\d+)-[0-9a-f]+$/;

/**
 * Removes what killed exports left behind: stages in the data folder of processes that are
 * gone, and, in the destination of each export job the database still calls running (its
 * process died: this runs before those jobs are marked interrupted), a partly copied entry or an
 * earlier version's hidden stage of that job. Returns the paths removed.
 */
export function sweepExportLeftovers(dataDir: string, db: Database): string[] {
  const removed: string[] = [];
  const root = exportStagingRoot(dataDir);
  for (const name of existsSync(root) ? readdirSync(root) : []) {
    const m = STAGE.exec(name);
    if (m && isProcessAlive(Number(m[2]), parseInt(m[1]!, 36))) continue;
    rmSync(path.join(root, name), { recursive: true, force: true });
    removed.push(path.join(root, name));
  }
  const running = db.prepare("SELECT id, params FROM jobs WHERE kind = 'export' AND status = 'running'").all() as {
    id: number;
    params: string;
  }[];
  for (const job of running) {
    let outDir: unknown;
    try {
      outDir = (JSON.parse(job.params) as { outDir?: unknown }).outDir;
    } catch {
      continue;
    }
    if (typeof outDir !== 'string' || !path.isAbsolute(outDir) || !existsSync(outDir)) continue;
    for (const name of readdirSync(outDir)) {
      const part = PART.exec(name);
      const old = OLD_STAGE.exec(name);
      if ((part && !isProcessAlive(Number(part[1]))) || (old && Number(old[1]) === job.id)) {
        rmSync(path.join(outDir, name), { recursive: true, force: true });
        removed.push(path.join(outDir, name));
      }
    }
  }
  return removed;
}

/**
 * `name` if nothing of that name is in `dir`, else `name-2`, `name-3` … with the extension kept
 * (`.nii.gz` counts as one).
 */
export function freeName(dir: string, name: string): string {
  if (!existsSync(path.join(dir, name))) return name;
  const ext = /(\.nii\.gz|\.[A-Za-z0-9]{1,5})$/.exec(name)?.[1] ?? '';
  const stem = name.slice(0, name.length - ext.length);
  for (let n = 2; ; n++) {
    const candidate = `${stem}-${n}${ext}`;
    if (!existsSync(path.join(dir, candidate))) return candidate;
  }
}

/**
 * Moves every entry of `stage` into `outDir` under a free name and removes the stage. Returns
 * each entry's final name (different from its own when that name was taken). A file never
 * replaces another (a hard link fails on an existing name); across file systems the entry is
 * copied to a hidden part name first and renamed in whole.
 */
export function moveIntoPlace(stage: string, outDir: string): Map<string, string> {
  mkdirSync(outDir, { recursive: true });
  const names = new Map<string, string>();
  for (const entry of readdirSync(stage)) {
    const from = path.join(stage, entry);
    const isDir = statSync(from).isDirectory();
    for (let attempt = 0; ; attempt++) {
      const name = freeName(outDir, entry);
      const to = path.join(outDir, name);
      try {
        place(from, to, isDir, path.join(outDir, `.${name}.${process.pid}.lgms-part`));
        names.set(entry, name);
        break;
      } catch (e) {
        const code = (e as NodeJS.ErrnoException).code;
        // Another export took the name between the check and the move: try the next one.
        if ((code === 'EEXIST' || code === 'ENOTEMPTY') && attempt < 100) continue;
        throw e;
      }
    }
  }
  rmSync(stage, { recursive: true, force: true });
  return names;
}

function place(from: string, to: string, isDir: boolean, part: string): void {
  try {
    if (isDir) {
      if (existsSync(to)) throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
      renameSync(from, to);
    } else {
      linkSync(from, to);
      unlinkSync(from);
    }
    return;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EXDEV') throw e;
  }
  // The data folder and the destination are on different file systems.
  try {
    if (isDir) cpSync(from, part, { recursive: true, errorOnExist: true, force: false });
    else copyFileSync(from, part);
    if (existsSync(to)) throw Object.assign(new Error(`${to} exists`), { code: 'EEXIST' });
    renameSync(part, to);
  } finally {
    rmSync(part, { recursive: true, force: true });
  }
}
