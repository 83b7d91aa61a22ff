// The registry gate: a registered candidate is loaded in onnxruntime (the worker's load probes
// it on a constant input), then candidate and parent segment the same frozen validation images
// through the real inference pipeline (a dedicated inference worker: decode, toModelInput,
// onnxruntime, flip TTA, un-letterbox, clean-up, stored as predictions of each version). Per-case
// Dice against the current labels, the paired bootstrap 95 % interval of the mean difference
// and the verdict are stored in model_version_training.gate.
import os from 'node:os';
import type { Worker } from 'node:worker_threads';
import { dice } from '../../shared/imaging/postprocess';
import { decodeRle } from '../../shared/imaging/rle';
import type { ModelManifest } from '../../shared/model/manifest';
import type { GateCase, GateResult } from '../../shared/contract/training';
import { pairedBootstrap } from '../../shared/model/gate';
import { ServiceError } from '../../shared/result';
import type { Database } from '../db/database';
import type { EngineReply, EngineRequest } from '../inference/protocol';
import { candidates } from '../inference/providers';
import type { InferenceWorkerData } from '../inference/worker';
import type { ModelRegistry } from '../models/registry';
import { startWorker } from '../workers';

export interface GateOptions {
  db: Database;
  dbPath: string;
  storeDir: string;
  registry: ModelRegistry;
  sqliteBinding?: string;
  ttaFlips: () => 0 | 2 | 4;
}

/** Validation labels a run used (frozen split), as (label, image). */
function validationCases(db: Database, runId: number): { labelId: number; imageId: number; rows: number; columns: number }[] {
  return db
    .prepare(
      `SELECT l.id AS labelId, l.image_id AS imageId, i.rows, i.columns FROM training_run_labels r
       JOIN labels l ON l.id = r.label_id JOIN images i ON i.id = l.image_id
       WHERE r.run_id = ? AND r.split = 'validation' ORDER BY l.id`,
    )
    .all(runId) as { labelId: number; imageId: number; rows: number; columns: number }[];
}

/** Runs the gate for the candidate a training run registered; returns and stores the result. */
export async function runGate(o: GateOptions, candidateVersionId: number): Promise<GateResult> {
  const record = o.db
    .prepare('SELECT run_id, parent_version_id FROM model_version_training WHERE model_version_id = ?')
    .get(candidateVersionId) as { run_id: number; parent_version_id: number } | undefined;
  if (!record) throw new ServiceError('not-found', `model version ${candidateVersionId} was not made by a training run`);
  const cases = validationCases(o.db, record.run_id);
  if (cases.length === 0) throw new ServiceError('conflict', 'the run has no validation labels to compare on');
  const worker = new GateWorker(o);
  const ttaFlips = o.ttaFlips();
  try {
    const ids = cases.map((c) => c.imageId);
    const provider = await worker.segment(o.registry.get(candidateVersionId), ids, ttaFlips);
    await worker.segment(o.registry.get(record.parent_version_id), ids, ttaFlips);
    const mask = o.db.prepare('SELECT mask FROM predictions WHERE image_id = ? AND model_version_id = ?').pluck();
    const label = o.db.prepare('SELECT mask FROM labels WHERE id = ?').pluck();
    const scored: GateCase[] = cases.map((c) => {
      const n = c.rows * c.columns;
      const truth = decodeRle(label.get(c.labelId) as Uint8Array, n);
      const score = (versionId: number) => {
        const p = mask.get(c.imageId, versionId) as Uint8Array | undefined;
        if (!p) throw new ServiceError('internal', `no prediction of version ${versionId} for image ${c.imageId}`);
        return dice(decodeRle(p, n), truth);
      };
      return {
        labelId: c.labelId,
        imageId: c.imageId,
        candidateDice: score(candidateVersionId),
        parentDice: score(record.parent_version_id),
      };
    });
    const stats = pairedBootstrap(
      scored.map((s) => s.candidateDice),
      scored.map((s) => s.parentDice),
    );
    const result: GateResult = {
      set: 'validation',
      ...stats,
      cases: scored,
      provider,
      ttaFlips,
      finishedAt: new Date().toISOString(),
    };
    o.db
      .prepare('UPDATE model_version_training SET gate = ? WHERE model_version_id = ?')
      .run(JSON.stringify(result), candidateVersionId);
    return result;
  } finally {
    await worker.close();
  }
}

/** A dedicated inference worker, so the gate never swaps the model that inference is using. */
class GateWorker {
  private readonly worker: Worker;
  private next = 1;
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

  /** Loads (and probes) a version, segments the images; returns the execution provider used. */
  async segment(
    version: { id: number; dir: string; manifest: ModelManifest },
    imageIds: number[],
    ttaFlips: 0 | 2 | 4,
  ): Promise<string> {
    const m = version.manifest;
    const loaded = await this.request({
      type: 'load',
      requestId: 0,
      modelVersionId: version.id,
      onnxPath: `${version.dir}/${m.files.onnx}`,
      spec: {
        size: m.input.size,
        channels: m.input.channels,
        channelMode: m.input.channelMode,
        normalization: m.input.normalization,
      },
      threshold: m.output.threshold,
      providers: candidates('auto'),
      threads: Math.max(1, os.availableParallelism()),
    });
    if (loaded.type !== 'loaded') {
      const why =
        loaded.type === 'load-failed' ? loaded.failures.map((f) => `${f.provider}: ${f.reason}`).join('; ') : 'no reply';
      throw new ServiceError('corrupt', `model ${m.id} cannot run in onnxruntime (${why})`);
    }
    const done = await this.request({
      type: 'segment',
      requestId: 0,
      jobId: 0,
      imageIds,
      ttaFlips,
      batchSize: 8,
      minComponentPixels: 16,
      fillHoles: true,
    });
    if (done.type !== 'segmented' || done.failed.length > 0)
      throw new ServiceError(
        'internal',
        `segmenting with ${m.id} failed: ${done.type === 'segmented' ? done.failed.map((f) => f.reason).join('; ') : done.type}`,
      );
    return loaded.provider;
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
