// The registry gate: a registered candidate is loaded in onnxruntime (the worker's load probes
// it on a constant input), then candidate and parent segment the same frozen validation images
// through the real inference pipeline (a dedicated inference worker: decode, toModelInput,
// onnxruntime, flip TTA as inference runs it (none for a task whose labels have a side,
// inference/tta.ts), un-letterbox, clean-up, stored as predictions of each version). Per-case
// Dice against the current labels, the paired bootstrap 95 % interval of the mean difference
// and the verdict are stored in model_version_training.gate. The same comparison runs on the
// reference set of the parent's own domain shipped with the model (model.json `referenceSet`),
// read from its PNG files as the import reads them, and is stored in reference_gate: a candidate
// that gains on the new domain but forgets the old one shows it there.
// Whatever the versions' kinds (issue 25): a 3D version segments each validation series whole
// (the inference worker's volume path) and its validation slices are scored; a 2D one slice by
// slice; the per-case and per-label comparison is the same.
// A task's multi-label (softmax) line is compared per label: each label's mean difference and
// interval, and the verdict on the per-case mean over labels. A task's first model has no
// parent: its gate reports each label's validation Dice with a bootstrap interval (issue 22).
import { existsSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { dice } from '../../shared/imaging/postprocess';
import { decodeRle } from '../../shared/imaging/rle';
import { modelDims, type ModelManifest } from '../../shared/model/manifest';
import type { FirstModelGate, GateCase, GateLabelComparison, GateResult } from '../../shared/contract/training';
import { bootstrapMean, gateComparison, independentOfParent, pairedBootstrap } from '../../shared/model/gate';
import { diceByLabel } from '../../shared/imaging/label-dice';
import { ttaFlipsForTask } from '../../shared/model/laterality';
import { readRaster } from '../imaging/raster/read';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import { maskReaders, storeGate, taskLabelsOfRun, trainingRecord, validationCases } from './queries';
import { loadRequestOf, type EngineReply, type EngineRequest } from '../inference/protocol';
import { candidates } from '../inference/providers';
import { ttaFlipsOfJob } from '../inference/tta';
import type { InferenceWorkerData } from '../inference/worker';
import type { ModelRegistry } from '../models/registry';
import { readTask } from '../tasks/queries';
import { startWorker } from '../workers';

export interface GateOptions {
  db: Database;
  dbPath: string;
  storeDir: string;
  registry: ModelRegistry;
  sqliteBinding?: string;
  ttaFlips: () => 0 | 2 | 4;
}

/**
 * The validation images' real domain in words, from their series (never assumed "new"):
 * "US Demo breast US (shifted domain) × 3, US Demo breast US (base domain) × 2", most first.
 */
export function describeCases(series: readonly string[]): string {
  const counts = new Map<string, number>();
  for (const s of series) counts.set(s || 'no description', (counts.get(s || 'no description') ?? 0) + 1);
  return [...counts]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([s, n]) => `${s} × ${n}`)
    .join(', ');
}

/** Dice of each label in `values` on one case, leaving out a label absent from the truth and every prediction. */
function scoreByLabel(truth: Uint8Array, predictions: Uint8Array[], values: number[]): Record<number, number>[] {
  const present = values.filter((v) => truth.includes(v) || predictions.some((p) => p.includes(v)));
  return predictions.map((p) => diceByLabel(p, truth, present));
}

const meanOf = (r: Record<number, number>) => {
  const xs = Object.values(r);
  return xs.length === 0 ? 1 : xs.reduce((a, b) => a + b, 0) / xs.length;
};

/**
 * Runs the gate for the candidate a training run registered; returns and stores the result.
 * A binary (sigmoid) line compares foreground Dice as always; a task's softmax line compares
 * each label and decides on the per-case mean over labels; a first model (no parent) gets a
 * {@link FirstModelGate}, stored in the same column.
 */
export async function runGate(o: GateOptions, candidateVersionId: number): Promise<GateResult | FirstModelGate> {
  const record = trainingRecord(o.db, candidateVersionId);
  if (!record) throw new ServiceError('not-found', `model version ${candidateVersionId} was not made by a training run`);
  const cases = validationCases(o.db, record.runId);
  if (cases.length === 0) throw new ServiceError('conflict', 'the run has no validation labels to compare on');
  const candidate = o.registry.get(candidateVersionId);
  const perLabel = candidate.manifest.output.activation === 'softmax' || record.parentVersionId === null;
  const labels = perLabel ? taskLabelsOfRun(o.db, record.runId) : [];
  const values = labels.map((l) => l.value);
  const worker = new GateWorker(o);
  // The flips inference would run for each version (none for a task whose labels have a side); the candidate's are reported.
  const requested = o.ttaFlips();
  const taskLabels = readTask(o.db, candidate.taskId)?.labels ?? [];
  const flipsOf = (v: { manifest: ModelManifest }) => ttaFlipsOfJob(requested, modelDims(v.manifest), taskLabels);
  const ttaFlips = flipsOf(candidate).used;
  try {
    const ids = cases.map((c) => c.imageId);
    const provider = await worker.load(candidate);
    await worker.segment(ids, flipsOf(candidate).request);
    const masks = maskReaders(o.db);
    const predicted = (versionId: number, imageId: number, n: number) => {
      const p = masks.prediction(imageId, versionId);
      if (!p) throw new ServiceError('internal', `no prediction of version ${versionId} for image ${imageId}`);
      return decodeRle(p, n);
    };
    const truthOf = (c: { labelId: number; rows: number; columns: number }) =>
      decodeRle(masks.label(c.labelId)!, c.rows * c.columns);

    if (record.parentVersionId === null) {
      const scoredFirst = cases.map((c) => {
        const [byLabel] = scoreByLabel(truthOf(c), [predicted(candidateVersionId, c.imageId, c.rows * c.columns)], values);
        return { labelId: c.labelId, imageId: c.imageId, candidateDice: meanOf(byLabel!), candidateByLabel: byLabel! };
      });
      const overall = bootstrapMean(scoredFirst.map((c) => c.candidateDice));
      const first: FirstModelGate = {
        kind: 'first-model',
        set: 'validation',
        n: overall.n,
        meanCandidate: overall.mean,
        ci95: overall.ci95,
        perLabel: labels.flatMap((l) => {
          const xs = scoredFirst.flatMap((c) => (l.value in c.candidateByLabel ? [c.candidateByLabel[l.value]!] : []));
          if (xs.length === 0) return [];
          const m = bootstrapMean(xs);
          return [{ value: l.value, name: l.name, n: m.n, mean: m.mean, ci95: m.ci95 }];
        }),
        cases: scoredFirst,
        provider,
        ttaFlips,
        finishedAt: new Date().toISOString(),
      };
      storeGate(o.db, candidateVersionId, 'gate', first);
      return first;
    }

    const parentId = record.parentVersionId;
    const parent = o.registry.get(parentId);
    await worker.load(parent);
    await worker.segment(ids, flipsOf(parent).request);
    const scored: GateCase[] = cases.map((c) => {
      const n = c.rows * c.columns;
      const truth = truthOf(c);
      const cand = predicted(candidateVersionId, c.imageId, n);
      const par = predicted(parentId, c.imageId, n);
      const independent = independentOfParent(c, parentId);
      if (!perLabel)
        return {
          labelId: c.labelId,
          imageId: c.imageId,
          candidateDice: dice(cand, truth),
          parentDice: dice(par, truth),
          independent,
        };
      const [cb, pb] = scoreByLabel(truth, [cand, par], values);
      return {
        labelId: c.labelId,
        imageId: c.imageId,
        candidateDice: meanOf(cb!),
        parentDice: meanOf(pb!),
        candidateByLabel: cb!,
        parentByLabel: pb!,
        independent,
      };
    });
    // The parent's own predictions accepted unchanged would score it 100 %: only the others decide,
    // overall and per label.
    const deciding = scored.filter((c) => c.independent === true);
    const basis = deciding.length > 0 ? deciding : scored;
    const labelStats: GateLabelComparison[] = labels.flatMap((l) => {
      const shown = basis.filter((c) => c.candidateByLabel && l.value in c.candidateByLabel);
      if (shown.length === 0) return [];
      const p = pairedBootstrap(
        shown.map((c) => c.candidateByLabel![l.value]!),
        shown.map((c) => c.parentByLabel![l.value]!),
      );
      return [{ value: l.value, name: l.name, ...p }];
    });
    const result: GateResult = {
      set: 'validation',
      ...gateComparison(scored.map((c) => ({ ...c, independent: c.independent === true }))),
      domain: describeCases(cases.map((c) => c.series)),
      ...(perLabel ? { perLabel: labelStats } : {}),
      cases: scored,
      provider,
      ttaFlips,
      finishedAt: new Date().toISOString(),
    };
    storeGate(o.db, candidateVersionId, 'gate', result);
    return result;
  } finally {
    await worker.close();
  }
}

/**
 * The parent's reference set: `<dir>/<referenceSet.dir>/images/*.png|jpg` with the mask of the same
 * file name in `masks/` (foreground = nonzero). A parent without one (a fine-tuned version) uses
 * its nearest ancestor's, since the reference stands for the original domain. Null when no
 * version in the chain ships a set.
 */
export function referenceSetOf(
  o: Pick<GateOptions, 'registry'>,
  versionId: number,
): { dir: string; images: string[]; masks: string[] } | null {
  for (const v of o.registry.lineage(versionId)) {
    const set = v.manifest.referenceSet;
    if (!set || !existsSync(path.join(v.dir, set.dir, 'images'))) continue;
    const dir = path.join(v.dir, set.dir);
    const names = readdirSync(path.join(dir, 'images'))
      .filter((f) => /\.(png|jpe?g)$/i.test(f))
      .sort();
    const masks = names.map((f) => path.join(dir, 'masks', f));
    const missing = masks.find((m) => !existsSync(m));
    if (missing) throw new ServiceError('corrupt', `the reference set of ${v.manifest.id} has no mask ${path.basename(missing)}`);
    return { dir, images: names.map((f) => path.join(dir, 'images', f)), masks };
  }
  return null;
}

/** The reference set's own description (model.json `referenceSet.description`) of the nearest ancestor that ships one. */
function referenceDescription(o: Pick<GateOptions, 'registry'>, versionId: number): string | undefined {
  for (const v of o.registry.lineage(versionId))
    if (v.manifest.referenceSet) return v.manifest.referenceSet.description || undefined;
  return undefined;
}

/**
 * Candidate vs parent on the parent's reference set (forgetting): per-case Dice against the
 * shipped masks, paired bootstrap, verdict; stored in model_version_training.reference_gate.
 * Returns null (and stores nothing) when no reference set is shipped in the parent's chain.
 */
export async function runReferenceGate(o: GateOptions, candidateVersionId: number): Promise<GateResult | null> {
  const record = trainingRecord(o.db, candidateVersionId);
  if (!record) throw new ServiceError('not-found', `model version ${candidateVersionId} was not made by a training run`);
  // A first model has no parent, hence no parent's domain to forget.
  if (record.parentVersionId === null) return null;
  // The reference set is single 2D images: a 3D model (issue 25) segments volumes only.
  if (
    modelDims(o.registry.get(candidateVersionId).manifest) === 3 ||
    modelDims(o.registry.get(record.parentVersionId).manifest) === 3
  )
    return null;
  const set = referenceSetOf(o, record.parentVersionId);
  if (!set || set.images.length === 0) return null;
  const worker = new GateWorker(o);
  // Both versions are 2D here: no flips for a task whose labels have a side.
  const ttaFlips = ttaFlipsForTask(o.ttaFlips(), readTask(o.db, o.registry.get(candidateVersionId).taskId)?.labels ?? []);
  try {
    const provider = await worker.load(o.registry.get(candidateVersionId));
    const candidate = await worker.segmentFiles(set.images, ttaFlips);
    await worker.load(o.registry.get(record.parentVersionId));
    const parent = await worker.segmentFiles(set.images, ttaFlips);
    const cases: GateCase[] = [];
    for (const [i, file] of set.images.entries()) {
      const truth = await readRaster(set.masks[i]!);
      const n = truth.rows * truth.columns;
      const fg = new Uint8Array(n);
      // An RGB mask counts as foreground where any channel is nonzero, as the trainer reads masks.
      for (let k = 0; k < truth.pixels.length; k++) if (truth.pixels[k]! > 0) fg[Math.floor(k / truth.samplesPerPixel)] = 1;
      const score = (m: { rows: number; columns: number; mask: Uint8Array }) => {
        if (m.rows !== truth.rows || m.columns !== truth.columns)
          throw new ServiceError('corrupt', `reference mask ${path.basename(set.masks[i]!)} is not the size of its image`);
        return dice(decodeRle(m.mask, n), fg);
      };
      cases.push({
        labelId: 0,
        imageId: 0,
        name: path.basename(file),
        candidateDice: score(candidate[i]!),
        parentDice: score(parent[i]!),
        independent: true, // shipped masks, not predictions
      });
    }
    const result: GateResult = {
      set: 'reference',
      ...gateComparison(cases.map((c) => ({ ...c, independent: true }))),
      domain: referenceDescription(o, record.parentVersionId),
      cases,
      provider,
      ttaFlips,
      finishedAt: new Date().toISOString(),
    };
    storeGate(o.db, candidateVersionId, 'reference_gate', result);
    return result;
  } finally {
    await worker.close();
  }
}

/** What the inference engine passes for every series (engine.ts), so the gate measures the same masks. */
const PIPELINE = { batchSize: 8, minComponentPixels: 16, fillHoles: true } as const;

/** A dedicated inference worker, so the gate never swaps the model that inference is using. */
class GateWorker {
  private readonly worker: Worker;
  private next = 1;
  private loadedId = '';
  private readonly pending = new Map<number, (r: EngineReply) => void>();

  constructor(o: GateOptions) {
    const data: InferenceWorkerData = {
      dbPath: o.dbPath,
      storeDir: o.storeDir,
      cancel: new SharedArrayBuffer(4),
      ...(o.sqliteBinding ? { sqliteBinding: o.sqliteBinding } : {}),
    };
    this.worker = startWorker('inference-worker', { workerData: data });
    this.worker.on('message', (reply: EngineReply) => {
      if (reply.type === 'progress') return;
      this.pending.get(reply.requestId)?.(reply);
      this.pending.delete(reply.requestId);
    });
  }

  /** Loads (and probes) a version; returns the execution provider used. */
  async load(version: { id: number; dir: string; manifest: ModelManifest }): Promise<string> {
    const m = version.manifest;
    // The same load as the inference engine's: a 3D version (issue 25) segments each validation series whole.
    const loaded = await this.request(
      loadRequestOf(version, { providers: candidates('auto'), threads: Math.max(1, os.availableParallelism()) }),
    );
    if (loaded.type !== 'loaded') {
      const why =
        loaded.type === 'load-failed' ? loaded.failures.map((f) => `${f.provider}: ${f.reason}`).join('; ') : 'no reply';
      throw new ServiceError('corrupt', `model ${m.id} cannot run in onnxruntime (${why})`);
    }
    this.loadedId = m.id;
    return loaded.provider;
  }

  /** Segments database images with the loaded version; the masks are stored as its predictions. */
  async segment(imageIds: number[], ttaFlips: 0 | 2 | 4): Promise<void> {
    const done = await this.request({ type: 'segment', requestId: 0, jobId: 0, imageIds, ttaFlips, ...PIPELINE });
    if (done.type !== 'segmented' || done.failed.length > 0)
      throw new ServiceError(
        'internal',
        `segmenting with ${this.loadedId} failed: ${done.type === 'segmented' ? done.failed.map((f) => f.reason).join('; ') : done.type}`,
      );
  }

  /** Segments image files with the loaded version; the masks (RLE) in file order. */
  async segmentFiles(files: string[], ttaFlips: 0 | 2 | 4): Promise<{ rows: number; columns: number; mask: Uint8Array }[]> {
    const done = await this.request({ type: 'segment-files', requestId: 0, files, ttaFlips, ...PIPELINE });
    if (done.type !== 'segmented-files' || done.failed.length > 0 || done.masks.length !== files.length)
      throw new ServiceError(
        'corrupt',
        `segmenting the reference set with ${this.loadedId} failed: ${
          done.type === 'segmented-files' ? done.failed.map((f) => `${path.basename(f.file)}: ${f.reason}`).join('; ') : done.type
        }`,
      );
    return done.masks;
  }

  private request(req: EngineRequest): Promise<EngineReply> {
    const requestId = this.next++;
    return new Promise((resolve) => {
      this.pending.set(requestId, resolve);
      this.worker.postMessage({ ...req, requestId });
    });
  }

  async close(): Promise<void> {
    await this.worker.terminate();
  }
}
