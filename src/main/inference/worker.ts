// The inference worker: owns the onnxruntime sessions (session.run blocks its thread for the
// whole call, 232 ms on the main thread when measured) and the whole per-slice pipeline —
// decode → normalise → letterbox → run → sigmoid (softmax for a multi-class model) → un-flip → resize back → threshold (argmax) →
// clean-up → RLE → SQLite — so the main thread only relays progress.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';
import type * as Ort from 'onnxruntime-node';
import {
  adjacentIndices,
  toAdjacentModelInput,
  toModelInput,
  type Letterbox,
  type ModelInputSpec,
} from '../../shared/imaging/preprocess';
import { flipPlanes, letterboxEntropy, sigmoidInPlace, TTA_FLIPS } from '../../shared/imaging/postprocess';
import { inputDistance, inputHistogram, type InputStatistics } from '../../shared/model/input-statistics';
import { encodeSliceMaskRle, SliceMasker, thresholdDice, uncertaintyRle } from '../../shared/imaging/slice-mask';
import { SoftmaxSlices } from '../../shared/imaging/multiclass';
import { openDatabase } from '../db/database';
import { FrameLoader, type LoadedFrame } from '../imaging/frames';
import { readRaster } from '../imaging/raster/read';
import type { FramePixels } from '../../shared/imaging/pixels';
import { ContentStore } from '../store/content-store';
import type { EngineReply, EngineRequest, LoadRequest, ModelOutputSpec, SegmentFilesRequest, SegmentRequest } from './protocol';
import type { InferenceTimings } from '../../shared/contract';
import { knownUnavailable, ORT_NAME, type ProviderFailure } from './providers';
import { VolumeInferenceCancelled, type RunPatch } from '../../shared/imaging/sliding-window';
import type { VolumeModelInput } from '../../shared/model/manifest';
import {
  checkVolumeMemory,
  segmentSeriesVolume,
  seriesVolume,
  VOLUME_MEMORY_BUDGET,
  VolumeRefused,
  VOLUME_TTA_FLIPS,
} from './volume-series';

const ort = createRequire(import.meta.url)('onnxruntime-node') as typeof Ort;
// A provider that cannot load (no CUDA, no GPU) is expected: its error is recorded and shown
// in the status bar, so onnxruntime's own console logging of it is only noise.
ort.env.logLevel = 'fatal';

export interface InferenceWorkerData {
  dbPath: string;
  storeDir: string;
  sqliteBinding?: string;
  /** Int32Array over it: [0] = 1 cancels the running segmentation after its current batch. */
  cancel: SharedArrayBuffer;
}

interface Loaded {
  session: Ort.InferenceSession;
  modelVersionId: number;
  spec: ModelInputSpec;
  threshold: number;
  inputStatistics: Pick<InputStatistics, 'low' | 'high'> | null;
  /** One sigmoid channel, or softmax classes painted as label values (issue 22). */
  classes: ModelOutputSpec;
  input: string;
  output: string;
  /** A 3D model's patch and spacing (issue 25): series are segmented whole (volume-series.ts). */
  volume?: VolumeModelInput;
}

const data = workerData as InferenceWorkerData;
const cancelFlag = new Int32Array(data.cancel);
const db = openDatabase(data.dbPath, data.sqliteBinding ? { nativeBinding: data.sqliteBinding } : {});
const frames = new FrameLoader(db, new ContentStore(data.storeDir));
let current: Loaded | undefined;
const post = (m: EngineReply) => parentPort!.postMessage(m);
const describe = (e: unknown) => (e instanceof Error ? e.message.split('\n')[0]! : String(e));

async function load(req: LoadRequest): Promise<void> {
  const failures: ProviderFailure[] = [];
  const [h, w] = req.spec.size;
  for (const provider of req.providers) {
    const unavailable = knownUnavailable(provider, process.platform, process.env['LD_LIBRARY_PATH'], existsSync);
    if (unavailable) {
      failures.push({ provider, reason: unavailable });
      continue;
    }
    let session: Ort.InferenceSession | undefined;
    try {
      session = await ort.InferenceSession.create(req.onnxPath, {
        executionProviders: [ORT_NAME[provider]],
        intraOpNumThreads: req.threads,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
        // onnxruntime's pool threads busy-wait after each run for the next one; on a workstation
        // whose other programs (and this worker's own post-processing) need the cores, that
        // spinning cost the model step 2–3× under load (docs/benchmarks.md, "spinning").
        extra: { 'session.intra_op.allow_spinning': '0' },
      });
      // A provider that creates a session can still fail on the first run: probe before switching.
      const input = session.inputNames[0]!;
      const output = session.outputNames[0]!;
      // A 3D model is probed on the smallest patch its axes take (32³): a full patch can take seconds on a CPU.
      const spatial = req.volume ? [32, 32, 32] : [h, w];
      const channels = req.volume ? 1 : req.spec.channels;
      const size = spatial.reduce((a, b) => a * b, channels);
      const started = performance.now();
      const result = await session.run({
        [input]: new ort.Tensor('float32', new Float32Array(size).fill(0.5), [1, channels, ...spatial]),
      });
      const probeMs = performance.now() - started;
      const logits = result[output]!;
      const spec: ModelOutputSpec = req.output ?? { activation: 'sigmoid', classes: 1, values: [1] };
      const expected = [1, spec.classes, ...spatial];
      if (logits.dims.join() !== expected.join())
        throw new Error(`probe output has shape [${logits.dims.join(', ')}], expected [${expected.join(', ')}]`);
      if (!(logits.data as Float32Array).every(Number.isFinite)) throw new Error('probe output is not finite');
      const previous = current;
      current = {
        session,
        modelVersionId: req.modelVersionId,
        spec: req.spec,
        threshold: req.threshold,
        inputStatistics: req.inputStatistics ?? null,
        classes: spec,
        input,
        output,
        ...(req.volume ? { volume: req.volume } : {}),
      };
      await previous?.session.release();
      post({ type: 'loaded', requestId: req.requestId, provider, failures, probeMs });
      return;
    } catch (e) {
      failures.push({ provider, reason: describe(e) });
      await session?.release().catch(() => undefined);
    }
  }
  post({ type: 'load-failed', requestId: req.requestId, failures });
}

const insert = db.prepare(`
  INSERT INTO predictions (image_id, model_version_id, mask, uncertainty, foreground_pixels, entropy, tta_flips, tta_dice, timings, input_distance)
  VALUES (@imageId, @modelVersionId, @mask, @uncertainty, @foreground, @entropy, @flips, @ttaDice, @timings, @inputDistance)
  ON CONFLICT (image_id, model_version_id) DO UPDATE SET mask = excluded.mask, uncertainty = excluded.uncertainty,
    foreground_pixels = excluded.foreground_pixels, entropy = excluded.entropy, tta_flips = excluded.tta_flips,
    tta_dice = excluded.tta_dice, timings = excluded.timings, input_distance = excluded.input_distance, created_at = strftime('%Y-%m-%dT%H:%M:%fZ', 'now')`);

const masker = new SliceMasker();
const softmaxSlices = new SoftmaxSlices();
const heatScratch = { heat: new Uint8Array(0) };
// Buffers kept between batches and slices: fresh ones per slice were measurable (docs/benchmarks.md).
const scratch = {
  buffers: new Map<string, Float32Array | Uint8Array>(),
  get<T extends Float32Array | Uint8Array>(name: string, length: number, make: (n: number) => T): T {
    let b = this.buffers.get(name) as T | undefined;
    if (!b || b.length < length) this.buffers.set(name, (b = make(length)));
    return b.subarray(0, length) as T;
  },
  mean(length: number): Float32Array {
    return this.get('mean', length, (n) => new Float32Array(n));
  },
};

/** The batch's input tensor; the same buffer while the batch size holds (onnxruntime reads it during run only). */
function batchInput(length: number): Float32Array {
  let b = scratch.buffers.get('input') as Float32Array | undefined;
  if (!b || b.length !== length) scratch.buffers.set('input', (b = new Float32Array(length)));
  return b;
}

interface BatchOptions {
  ttaFlips: 0 | 2 | 4;
  minComponentPixels: number;
  fillHoles: boolean;
}

interface BatchResult {
  imageId: number;
  mask: Uint8Array;
  uncertainty: Uint8Array | null;
  foreground: number;
  entropy: number;
  ttaDice: number | null;
  /** How far the slice's input lies outside the model's input statistics (0 = like its training images); null without them. */
  inputDistance: number | null;
}

/**
 * The per-batch pipeline after decoding: normalise → letterbox → flips → run → sigmoid →
 * un-flip and average → resize back → threshold → clean-up → RLE. One implementation for the
 * stored predictions and the gate's reference files, so both measure the same thing.
 */
async function runBatch(
  model: Loaded,
  loaded: { id: number; frame: FramePixels; neighbours?: [FramePixels, FramePixels] }[],
  o: BatchOptions,
): Promise<{ results: BatchResult[]; preprocessMs: number; modelMs: number; postprocessMs: number }> {
  const flips = TTA_FLIPS[o.ttaFlips];
  const [h, w] = model.spec.size;
  const planeSize = w * h;
  const inputSize = model.spec.channels * planeSize;
  const t1 = performance.now();
  const n = loaded.length * flips.length;
  const tensor = batchInput(n * inputSize);
  const boxes: Letterbox[] = [];
  const distances: (number | null)[] = [];
  loaded.forEach(({ frame, neighbours }, i) => {
    const slice = { ...frame, invert: frame.photometric === 'MONOCHROME1' };
    const first = i * flips.length * inputSize;
    let box: ReturnType<typeof toModelInput>;
    if (model.spec.channelMode === 'adjacent') {
      // 2.5D: slices z−1, z, z+1 as the three channels (a lone image, e.g. a gate file, repeats itself).
      const [below, above] = (neighbours ?? [frame, frame]).map((f) => ({ ...f, invert: f.photometric === 'MONOCHROME1' }));
      box = toAdjacentModelInput([below!, slice, above!], model.spec, tensor, first);
    } else box = toModelInput(slice, model.spec, tensor, first);
    boxes.push(box);
    // From the input itself, before the model sees it: no softmax in this signal.
    distances.push(model.inputStatistics ? inputDistance(inputHistogram(tensor, first, box), model.inputStatistics) : null);
    // Each flip is a flipped copy of the one normalised input, not a second pass over the slice.
    for (let f = 1; f < flips.length; f++) {
      const offset = first + f * inputSize;
      tensor.copyWithin(offset, first, first + inputSize);
      flipPlanes(tensor, w, h, model.spec.channels, flips[f]!, offset);
    }
  });
  const t2 = performance.now();
  const logits =
    n === 0
      ? new Float32Array(0)
      : ((await model.session.run({ [model.input]: new ort.Tensor('float32', tensor, [n, model.spec.channels, h, w]) }))[
          model.output
        ]!.data as Float32Array);
  const t3 = performance.now();
  const out = model.classes;
  const results: BatchResult[] = loaded.map(({ id, frame }, i) => {
    const box = boxes[i]!;
    if (out.activation === 'softmax') {
      // A multi-class model (issue 22): argmax of the TTA-averaged softmax, label values, per-label clean-up.
      const first = i * flips.length * out.classes * planeSize;
      const r = softmaxSlices.slice(
        logits,
        first,
        flips,
        out.classes,
        box,
        frame.columns,
        frame.rows,
        out.values,
        o.minComponentPixels,
        o.fillHoles,
      );
      return { imageId: id, ...r, inputDistance: distances[i]! };
    }
    const first = i * flips.length * planeSize;
    let prob: Float32Array;
    let agreement: number | null = null;
    if (flips.length === 1) {
      // Only the letterboxed rows are read below (mask and score): the padding needs no sigmoid.
      sigmoidInPlace(logits, first + box.offsetY * w, box.scaledHeight * w);
      prob = logits.subarray(first, first + planeSize);
    } else {
      prob = scratch.mean(planeSize);
      prob.fill(0);
      for (const [f, flip] of flips.entries()) {
        const offset = first + f * planeSize;
        sigmoidInPlace(logits, offset, planeSize);
        flipPlanes(logits, w, h, 1, flip, offset);
        for (let k = 0; k < planeSize; k++) prob[k]! += logits[offset + k]! / flips.length;
      }
      let sum = 0;
      for (let f = 1; f < flips.length; f++)
        sum += thresholdDice(logits, first, logits, first + f * planeSize, planeSize, model.threshold);
      agreement = sum / (flips.length - 1);
    }
    // The score on the model's grid, inside the letterbox; the mask resampled only where it can be foreground.
    const entropy = letterboxEntropy(prob, box);
    const mask = masker.mask(prob, 0, box, frame.columns, frame.rows, model.threshold, o.minComponentPixels, o.fillHoles);
    return {
      imageId: id,
      mask: encodeSliceMaskRle(mask),
      uncertainty: flips.length > 1 ? uncertaintyRle(prob, box, frame.columns, frame.rows, heatScratch) : null,
      foreground: mask.foreground,
      entropy,
      ttaDice: agreement,
      inputDistance: distances[i]!,
    };
  });
  return { results, preprocessMs: t2 - t1, modelMs: t3 - t2, postprocessMs: performance.now() - t3 };
}

async function segment(req: SegmentRequest): Promise<void> {
  const model = current;
  if (!model) return post({ type: 'error', requestId: req.requestId, message: 'no model is loaded' });
  Atomics.store(cancelFlag, 0, 0);
  if (model.volume) return segmentVolumes(req, model, model.volume);
  const flips = TTA_FLIPS[req.ttaFlips];
  const timings: InferenceTimings = { decode: 0, preprocess: 0, model: 0, postprocess: 0, store: 0, total: 0 };
  const failed: { imageId: number; reason: string }[] = [];
  let done = 0;
  const batchSlices = Math.max(1, Math.floor(req.batchSize / flips.length));
  // 2.5D: frames decoded as a neighbour, kept for the next batch.
  let kept = new Map<number, LoadedFrame>();
  for (let start = 0; start < req.imageIds.length; start += batchSlices) {
    if (Atomics.load(cancelFlag, 0) === 1) break;
    const t0 = performance.now();
    const ids = req.imageIds.slice(start, start + batchSlices);
    const loaded: { id: number; frame: LoadedFrame; neighbours?: [LoadedFrame, LoadedFrame] }[] = [];
    for (const id of ids) {
      try {
        loaded.push({ id, frame: kept.get(id) ?? (await frames.load(id)) });
      } catch (e) {
        failed.push({ imageId: id, reason: describe(e) });
      }
    }
    if (model.spec.channelMode === 'adjacent')
      kept = await withNeighbours(req.imageIds, start, start + batchSlices, loaded, kept);
    const t1 = performance.now();
    const batch = await runBatch(model, loaded, req);
    const t4 = performance.now();
    db.transaction(() => {
      for (const r of batch.results)
        insert.run({ ...r, modelVersionId: model.modelVersionId, flips: req.ttaFlips, timings: null });
    })();
    const t5 = performance.now();
    timings.decode += t1 - t0;
    timings.preprocess += batch.preprocessMs;
    timings.model += batch.modelMs;
    timings.postprocess += batch.postprocessMs;
    timings.store += t5 - t4;
    timings.total += t5 - t0;
    done += loaded.length;
    post({ type: 'progress', jobId: req.jobId, done: done + failed.length, total: req.imageIds.length, timings: { ...timings } });
  }
  post({
    type: 'segmented',
    requestId: req.requestId,
    jobId: req.jobId,
    done,
    failed,
    cancelled: Atomics.load(cancelFlag, 0) === 1,
    timings,
  });
}

const cancelSignal = {
  get aborted(): boolean {
    return Atomics.load(cancelFlag, 0) === 1;
  },
};

/**
 * A 3D model (issue 25): each series of the request's images is segmented whole, as one volume
 * (volume-series.ts), and a prediction of every slice of it is stored in one transaction, so a
 * cancel, a refusal or a crash leaves none of the series' slices written. A refused series
 * (not a regular stack, over the memory budget) fails its images with the reason; a cancel stops
 * between windows and stores nothing of the series in progress.
 */
async function segmentVolumes(req: SegmentRequest, model: Loaded, volume: VolumeModelInput): Promise<void> {
  const timings: InferenceTimings = { decode: 0, preprocess: 0, model: 0, postprocess: 0, store: 0, total: 0 };
  const failed: { imageId: number; reason: string }[] = [];
  let done = 0;
  let cancelled = false;
  const bySeries = new Map<number, number[]>();
  const seriesOf = db.prepare('SELECT series_id FROM images WHERE id = ?').pluck();
  for (const id of req.imageIds) {
    const seriesId = seriesOf.get(id) as number | undefined;
    if (seriesId === undefined) failed.push({ imageId: id, reason: `no image ${id}` });
    else bySeries.set(seriesId, [...(bySeries.get(seriesId) ?? []), id]);
  }
  // The onnxruntime session of the loaded provider (CUDA, DirectML, CoreML where they loaded), one patch at a time.
  const runPatch: RunPatch = async (patch, shape) =>
    (await model.session.run({ [model.input]: new ort.Tensor('float32', patch, [1, 1, ...shape]) }))[model.output]!
      .data as Float32Array;
  for (const [seriesId, ids] of bySeries) {
    if (cancelSignal.aborted) {
      cancelled = true;
      break;
    }
    const t0 = performance.now();
    try {
      const v = seriesVolume(db, seriesId);
      checkVolumeMemory(v, volume, model.classes.classes, req.volumeMemoryBytes ?? VOLUME_MEMORY_BUDGET);
      const r = await segmentSeriesVolume(frames, v, { ...volume, values: model.classes.values }, runPatch, {
        ...req,
        signal: cancelSignal,
        onProgress: (phase, d, total) =>
          post({
            type: 'progress',
            jobId: req.jobId,
            done: d,
            total,
            timings: { ...timings },
            phase,
            unit: phase === 'reading' ? 'images' : 'windows',
          }),
      });
      const t1 = performance.now();
      db.transaction(() => {
        // The flips that ran (none for a volume), not the setting that asked for the heat map.
        for (const p of r.slices)
          insert.run({ ...p, modelVersionId: model.modelVersionId, flips: VOLUME_TTA_FLIPS, timings: null });
      })();
      const t2 = performance.now();
      timings.decode += r.timings.decode;
      timings.preprocess += r.timings.preprocess;
      timings.model += r.timings.model;
      timings.postprocess += r.timings.postprocess;
      timings.store += t2 - t1;
      timings.total += t2 - t0;
      done += ids.length;
    } catch (e) {
      if (e instanceof VolumeInferenceCancelled) {
        cancelled = true;
        break;
      }
      const reason = e instanceof VolumeRefused ? e.message : `the 3D segmentation failed: ${describe(e)}`;
      for (const imageId of ids) failed.push({ imageId, reason });
    }
  }
  post({ type: 'segmented', requestId: req.requestId, jobId: req.jobId, done, failed, cancelled, timings });
}

/**
 * Gives each loaded slice of a batch (positions start…end−1 of the series' `imageIds`, in
 * position order) its neighbours z−1 and z+1 for a 2.5D model, the edge slice repeated; a
 * neighbour that cannot be decoded is replaced by the slice itself. Returns the frames the next
 * batch needs again (its z−1 and the first slice, decoded here as a z+1).
 */
async function withNeighbours(
  imageIds: number[],
  start: number,
  end: number,
  loaded: { id: number; frame: LoadedFrame; neighbours?: [LoadedFrame, LoadedFrame] }[],
  kept: Map<number, LoadedFrame>,
): Promise<Map<number, LoadedFrame>> {
  const byId = new Map(kept);
  for (const l of loaded) byId.set(l.id, l.frame);
  const at = async (position: number): Promise<LoadedFrame | undefined> => {
    const id = imageIds[position]!;
    if (!byId.has(id)) {
      try {
        byId.set(id, await frames.load(id));
      } catch {
        return undefined;
      }
    }
    return byId.get(id);
  };
  const positions = new Map(imageIds.slice(start, end).map((id, k) => [id, start + k]));
  for (const l of loaded) {
    const [below, , above] = adjacentIndices(positions.get(l.id)!, imageIds.length);
    l.neighbours = [(await at(below)) ?? l.frame, (await at(above)) ?? l.frame];
  }
  const next = new Map<number, LoadedFrame>();
  for (const position of [end - 1, end]) {
    const id = imageIds[position];
    const frame = id === undefined ? undefined : byId.get(id);
    if (frame) next.set(id!, frame);
  }
  return next;
}

/** Files read as the import reads a PNG or JPEG (FrameLoader's raster path), segmented, masks answered. */
async function segmentFiles(req: SegmentFilesRequest): Promise<void> {
  const model = current;
  if (!model) return post({ type: 'error', requestId: req.requestId, message: 'no model is loaded' });
  if (model.volume)
    return post({ type: 'error', requestId: req.requestId, message: 'a 3D model segments volumes, not single image files' });
  const flips = TTA_FLIPS[req.ttaFlips];
  const batchSlices = Math.max(1, Math.floor(req.batchSize / flips.length));
  const masks: { file: string; rows: number; columns: number; mask: Uint8Array }[] = [];
  const failed: { file: string; reason: string }[] = [];
  for (let start = 0; start < req.files.length; start += batchSlices) {
    const loaded: { id: number; frame: FramePixels; file: string }[] = [];
    for (const [k, file] of req.files.slice(start, start + batchSlices).entries()) {
      try {
        const r = await readRaster(file);
        const frame: FramePixels = {
          imageId: start + k,
          rows: r.rows,
          columns: r.columns,
          samplesPerPixel: r.samplesPerPixel,
          photometric: r.samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2',
          pixels: r.pixels,
          slope: 1,
          intercept: 0,
        };
        loaded.push({ id: start + k, frame, file });
      } catch (e) {
        failed.push({ file, reason: describe(e) });
      }
    }
    const batch = await runBatch(model, loaded, req);
    batch.results.forEach((r, i) => {
      const { file, frame } = loaded[i]!;
      masks.push({ file, rows: frame.rows, columns: frame.columns, mask: r.mask });
    });
  }
  post({ type: 'segmented-files', requestId: req.requestId, masks, failed });
}

// One request at a time, in order: a load during a segmentation waits for it to finish.
let queue = Promise.resolve();
parentPort!.on('message', (req: EngineRequest) => {
  queue = queue.then(async () => {
    try {
      if (req.type === 'load') await load(req);
      else if (req.type === 'segment') await segment(req);
      else if (req.type === 'segment-files') await segmentFiles(req);
      else {
        await current?.session.release();
        db.close();
        post({ type: 'error', requestId: req.requestId, message: 'closed' });
      }
    } catch (e) {
      post({ type: 'error', requestId: req.requestId, message: e instanceof Error ? (e.stack ?? e.message) : String(e) });
    }
  });
});
