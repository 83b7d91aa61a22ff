// Messages between the inference engine (main thread) and its worker.
import type { ExecutionProviderName } from '../../shared/contract';
import type { ModelInputSpec } from '../../shared/imaging/preprocess';
import type { ProviderFailure } from './providers';

export interface LoadRequest {
  type: 'load';
  requestId: number;
  modelVersionId: number;
  onnxPath: string;
  spec: ModelInputSpec;
  threshold: number;
  providers: ExecutionProviderName[];
  threads: number;
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

export type EngineRequest = LoadRequest | SegmentRequest | { type: 'close'; requestId: number };

export interface StepTimings {
  decode: number;
  preprocess: number;
  model: number;
  postprocess: number;
  store: number;
  total: number;
}

export type EngineReply =
  | { type: 'loaded'; requestId: number; provider: ExecutionProviderName; failures: ProviderFailure[]; probeMs: number }
  | { type: 'load-failed'; requestId: number; failures: ProviderFailure[] }
  | { type: 'progress'; jobId: number; done: number; total: number; timings: StepTimings }
  | { type: 'segmented'; requestId: number; jobId: number; done: number; failed: { imageId: number; reason: string }[]; cancelled: boolean; timings: StepTimings }
  | { type: 'error'; requestId: number; message: string };
