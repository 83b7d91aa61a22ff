// Atomic file writes for the demo generators.
import { rename, rm, writeFile } from 'node:fs/promises';
import { hashInts, hashLabel } from './prng';

/** Writes a file under a temporary name and renames it in, so readers never see half a file. */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const tmp = `${file}.${process.pid}.${hashInts(Date.now() % 1e9, hashLabel(file)).toString(36)}.tmp`;
  try {
    await writeFile(tmp, data);
    await rename(tmp, file);
  } catch (err) {
    await rm(tmp, { force: true });
    throw err;
  }
}
