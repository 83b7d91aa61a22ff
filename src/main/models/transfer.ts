// Export and import of a model version as a folder (how versions travel between workstations):
// model.json, model.onnx, weights.pt, split.json, learning-curve.json and the replay/ and reference/
// sets when present.
// Both sides copy into a hidden temporary folder beside the destination and rename it in, so a
// destination either holds the whole version or nothing.
import { cpSync, existsSync, renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { ServiceError } from '../../shared/result';
import { readModelPackage, type ModelPackage } from './package';

/** What a version folder holds, as far as it travels (files or folders; absent ones are skipped). */
export const PARTS = ['model.json', 'model.onnx', 'weights.pt', 'split.json', 'learning-curve.json', 'replay', 'reference'];

/** Copies the version in `sourceDir` to `destDir` (which must not exist); returns the copy. */
export function copyModelFolder(sourceDir: string, destDir: string): ModelPackage {
  const source = readModelPackage(sourceDir); // refuses a damaged folder before anything is written
  const dest = path.resolve(destDir);
  if (existsSync(dest)) throw new ServiceError('conflict', `${dest} already exists; choose a new folder`);
  const tmp = path.join(path.dirname(dest), `.${path.basename(dest)}.tmp-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  try {
    for (const part of PARTS) {
      const from = path.join(source.dir, part);
      if (existsSync(from)) cpSync(from, path.join(tmp, part), { recursive: true });
    }
    readModelPackage(tmp); // the copy is whole before it gets its name
    renameSync(tmp, dest);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    if (e instanceof ServiceError) throw e;
    throw new ServiceError('io', `could not copy the model to ${dest}: ${(e as Error).message}`);
  }
  return readModelPackage(dest);
}
