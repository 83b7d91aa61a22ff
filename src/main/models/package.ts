// Reads and checks a model folder (model.json + model.onnx [+ weights.pt]) before the app uses it.
import { existsSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseModelManifest, type ModelDomain, type ModelManifest } from '../../shared/model/manifest';
import { ServiceError } from '../../shared/result';

export interface ModelPackage {
  dir: string;
  manifest: ModelManifest;
  onnxPath: string;
  weightsPath?: string;
}

const ONNX_MAGIC_MIN_BYTES = 16;

export function readModelPackage(dir: string): ModelPackage {
  const manifestPath = path.join(dir, 'model.json');
  if (!existsSync(manifestPath)) throw new ServiceError('not-found', `${dir} is not a model folder: model.json is missing`);
  const parsed = parseModelManifest(readFileSync(manifestPath, 'utf8'));
  if (!parsed.ok)
    throw new ServiceError('corrupt', `${manifestPath} is invalid:\n  ${parsed.problems.join('\n  ')}`, parsed.problems);
  const { manifest } = parsed;
  const onnxPath = path.join(dir, manifest.files.onnx);
  if (!existsSync(onnxPath)) throw new ServiceError('corrupt', `${dir}: ${manifest.files.onnx} named in model.json is missing`);
  if (statSync(onnxPath).size < ONNX_MAGIC_MIN_BYTES) throw new ServiceError('corrupt', `${onnxPath} is truncated`);
  const weights = manifest.files.weights ? path.join(dir, manifest.files.weights) : undefined;
  return { dir, manifest, onnxPath, ...(weights && existsSync(weights) ? { weightsPath: weights } : {}) };
}

/**
 * Writes `domain` into the model.json of `dir` when it names none (a fine-tuned version keeps its
 * parent's applicability, issue 21): written to a temporary name and renamed in. Returns whether
 * it wrote. A model.json that already names a domain is left as it is.
 */
export function inheritDomain(dir: string, domain: ModelDomain | undefined): boolean {
  const file = path.join(dir, 'model.json');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
  if (!domain || raw.domain) return false;
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify({ ...raw, domain }, null, 2)}\n`);
  renameSync(tmp, file);
  return true;
}
