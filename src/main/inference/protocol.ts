// Messages between the inference engine (main thread) and its worker.
import type { ExecutionProviderName, InferenceTimings } from '../../shared/contract';
import type { ModelInputSpec } from '../../shared/imaging/preprocess';
import type { InputStatistics } from '../../shared/model/input-statistics';
import {
  outputThreshold,
  outputValues,
  volumeModelInput,
  type ModelManifest,
  type VolumeModelInput,
} from '../../shared/model/manifest';
import type { ProviderFailure } from './providers';

export interface LoadRequest {
  type: 'load';
  requestId: number;
  modelVersionId: number;
  onnxPath: string;
  spec: ModelInputSpec;
  threshold: number;
  /** The version's (or its nearest ancestor's) input statistics; absent or null: no applicability signal (the gate's runs). */
  inputStatistics?: Pick<InputStatistics, 'low' | 'high'> | null;
  /**
   * What the output channels mean (model.json `output`); absent: one sigmoid channel (the
   * binary models). softmax: `classes` channels, 0 = background, class k painted as values[k−1].
   */
  output?: ModelOutputSpec;
  /**
   * A 3D model (model.json `architecture.dims` 3, issue 25): its sliding-window patch and
   * spacing. Absent for a 2D model. With it, a `segment` request segments each series of its
   * images whole, as one volume, and stores a prediction for every slice of those series.
   */
  volume?: VolumeModelInput;
  providers: ExecutionProviderName[];
  threads: number;
}

/**
 * The load request of a model version, the same for the inference engine and the registry
 * gate (so both run a version through the same pipeline).
 */
export function loadRequestOf(
  version: { id: number; dir: string; manifest: ModelManifest },
  o: { providers: ExecutionProviderName[]; threads: number; inputStatistics?: Pick<InputStatistics, 'low' | 'high'> | null },
): LoadRequest {
  const m = version.manifest;
  const volume = volumeModelInput(m);
  return {
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
    threshold: outputThreshold(m),
    ...(o.inputStatistics !== undefined ? { inputStatistics: o.inputStatistics } : {}),
    // What the output channels mean (a task's softmax line paints label values).
    output: { activation: m.output.activation, classes: m.output.classes, values: outputValues(m) },
    ...(volume ? { volume } : {}),
    providers: o.providers,
    threads: o.threads,
  };
}

export interface ModelOutputSpec {
  activation: 'sigmoid' | 'softmax';
  classes: number;
  values: number[];
}

export interface SegmentRequest {
  type: 'segment';
  requestId: number;
  jobId: number;
  imageIds: number[];
  ttaFlips: 0 | 2 | 4;
  batchSize: number;
  minComponentPixels: number;
  fillHoles: boolean;
  /** A 3D model: the most bytes one series' inference may hold (`volumeInferenceBytes`); default VOLUME_MEMORY_BUDGET (2 GiB). */
  volumeMemoryBytes?: number;
}

/**
 * Segments image files that are not in the database (PNG or JPEG, read as the import reads them)
 * with the same pipeline, and answers with the masks instead of storing them: the registry
 * gate's reference set shipped with a model (src/main/training/gate.ts).
 */
export interface SegmentFilesRequest {
  type: 'segment-files';
  requestId: number;
  files: string[];
  ttaFlips: 0 | 2 | 4;
  batchSize: number;
  minComponentPixels: number;
  fillHoles: boolean;
}

export type EngineRequest = LoadRequest | SegmentRequest | SegmentFilesRequest | { type: 'close'; requestId: number };

export type EngineReply =
  | { type: 'loaded'; requestId: number; provider: ExecutionProviderName; failures: ProviderFailure[]; probeMs: number }
  | { type: 'load-failed'; requestId: number; failures: ProviderFailure[] }
  | {
      type: 'progress';
      jobId: number;
      done: number;
      total: number;
      timings: InferenceTimings;
      /**
       * A 3D model's phases (absent for 2D: images segmented): 'reading' counts the series'
       * slices read (unit 'images'), 'segmenting' the sliding windows run (unit 'windows').
       */
      phase?: 'reading' | 'segmenting';
      unit?: 'images' | 'windows';
    }
  | {
      type: 'segmented';
      requestId: number;
      jobId: number;
      done: number;
      failed: { imageId: number; reason: string }[];
      cancelled: boolean;
      timings: InferenceTimings;
    }
  | {
      type: 'segmented-files';
      requestId: number;
      /** One per file that could be read, in request order: the mask as stored predictions are (RLE, rows × columns). */
      masks: { file: string; rows: number; columns: number; mask: Uint8Array }[];
      failed: { file: string; reason: string }[];
    }
  | { type: 'error'; requestId: number; message: string };
