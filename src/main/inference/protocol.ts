// Messages between the inference engine (main thread) and its worker.
import type { ExecutionProviderName, InferenceTimings } from '../../shared/contract';
import type { ModelInputSpec } from '../../shared/imaging/preprocess';
import type { InputStatistics } from '../../shared/model/input-statistics';
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
  providers: ExecutionProviderName[];
  threads: number;
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
  | { type: 'progress'; jobId: number; done: number; total: number; timings: InferenceTimings }
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
