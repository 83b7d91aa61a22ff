// A model version's identity when it travels between workstations: a SHA-256 content hash over
// its files, so two copies are the same version exactly when every byte is the same, whatever
// their folder or model id (issue 26).
import { createHash } from 'node:crypto';
import { createReadStream, existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import type { PublishedFile } from '../../shared/contract/model-share';
import { PARTS } from './transfer';

/**
 * The files of the version in `dir` that travel (transfer.ts `PARTS`, folders walked in full),
 * as relative POSIX paths sorted in code-unit order (the stated order of the content hash).
 * Links and other non-regular entries are left out.
 */
export function versionFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const abs = path.join(dir, ...rel.split('/'));
    const st = statSync(abs, { throwIfNoEntry: false });
    if (!st) return;
    if (st.isFile()) out.push(rel);
    else if (st.isDirectory()) for (const name of readdirSync(abs)) walk(`${rel}/${name}`);
  };
  for (const part of PARTS) if (existsSync(path.join(dir, part))) walk(part);
  return out.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** SHA-256 (hex) and size in bytes of one file, read as a stream. */
export function hashFile(file: string): Promise<{ sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const h = createHash('sha256');
    let size = 0;
    createReadStream(file)
      .on('data', (chunk: string | Buffer) => {
        size += chunk.length;
        h.update(chunk);
      })
      .on('error', reject)
      .on('end', () => resolve({ sha256: h.digest('hex'), size }));
  });
}

/**
 * The content hash of a list of files: SHA-256 (hex) of the UTF-8 text made of one line per file,
 * `<sha256 of the file> <size in bytes> <relative path>\n`, in the order given (versionFiles'
 * order: paths sorted by code unit). Changing, adding, removing or renaming any file changes it.
 */
export function contentHash(files: readonly PublishedFile[]): string {
  const h = createHash('sha256');
  for (const f of files) h.update(`${f.sha256} ${f.size} ${f.path}\n`, 'utf8');
  return h.digest('hex');
}

/** Every travelling file of the version in `dir` with its size and SHA-256, and the content hash over them. */
export async function hashVersion(dir: string): Promise<{ contentHash: string; files: PublishedFile[] }> {
  const files: PublishedFile[] = [];
  for (const rel of versionFiles(dir)) files.push({ path: rel, ...(await hashFile(path.join(dir, ...rel.split('/')))) });
  return { contentHash: contentHash(files), files };
}
