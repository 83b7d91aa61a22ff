// The one contract between the renderer and the backend, whatever carries it (Electron IPC, the
// headless HTTP + WebSocket server, or the in-process transport of the CLI and tests).
//
// Adding a service (review.ts, training.ts, export.ts, dicomweb.ts follow this pattern):
//  1. In `contract/<service>.ts`, a `<service>Methods` map of zod schemas, one per method's
//     single input (`z.undefined()` for none). Binary fields are `bytes(max)` (./bytes.ts):
//     Uint8Array, never base64. A result that carries bytes or crosses as data gets a schema too;
//     derive its type from it (`z.infer`).
//  2. The `<Service>Service` interface takes its inputs from the schemas:
//     `m(input: z.input<typeof xMethods.m>): Promise<R>` (no parameter for `z.undefined()`).
//     Never restate an input by hand: `ContractAgrees` below fails the build on any drift.
//  3. Add the map to `contract`, the interface to `Services`, `export *` the file; events go in
//     `Events`, named onDidX. Long work is a job: add its kind's params/progress/result to
//     `JobKinds` (./jobs.ts).
//  4. Implement it in `src/main/<feature>/` (throw `ServiceError(code, message)` for expected
//     failures) and construct it in src/main/backend.ts. Callers — renderer, CLI, tests — use
//     `createApiClient` (backend.api in process); nothing calls a concrete service around it.
import type { z } from 'zod';
import type { Result } from '../result';
import type { ContractAgrees } from './check';
import { demoMethods, type DemoService } from './demo';
import { importMethods, type ImportProgress, type ImportService } from './import';
import { inferenceMethods, type InferenceService, type InferenceStatus } from './inference';
import { modelsMethods, type ModelsService } from './models';
import { modelShareMethods, type ModelShareService } from './model-share';
import { jobsMethods, type Job, type JobsService } from './jobs';
import { settingsMethods, type Settings, type SettingsService } from './settings';
import { systemMethods, type SystemService, type TrainerStatus } from './system';
import { worklistMethods, type WorklistService } from './worklist';
import { viewerMethods, type ViewerService } from './viewer';
import { reviewMethods, type ReviewService } from './review';
import { exportMethods, type ExportService } from './export';
import { dicomwebMethods, type DicomwebService } from './dicomweb';
import { tasksMethods, type TasksService } from './tasks';
import {
  trainingMethods,
  type TrainerEpochEvent,
  type TrainerStepEvent,
  type TrainingRun,
  type TrainingService,
} from './training';

export * from './demo';
export * from './import';
export * from './inference';
export * from './models';
export * from './model-share';
export * from './jobs';
export * from './settings';
export * from './system';
export * from './worklist';
export * from './viewer';
export * from './review';
export * from './export';
export * from './dicomweb';
export * from './training';
export * from './tasks';

export const contract = {
  system: systemMethods,
  settings: settingsMethods,
  jobs: jobsMethods,
  import: importMethods,
  worklist: worklistMethods,
  models: modelsMethods,
  modelShare: modelShareMethods,
  inference: inferenceMethods,
  demo: demoMethods,
  viewer: viewerMethods,
  review: reviewMethods,
  export: exportMethods,
  dicomweb: dicomwebMethods,
  training: trainingMethods,
  tasks: tasksMethods,
} as const;

/** Service interfaces, implemented in src/main. */
export interface Services {
  system: SystemService;
  settings: SettingsService;
  jobs: JobsService;
  import: ImportService;
  worklist: WorklistService;
  models: ModelsService;
  modelShare: ModelShareService;
  inference: InferenceService;
  demo: DemoService;
  viewer: ViewerService;
  review: ReviewService;
  export: ExportService;
  dicomweb: DicomwebService;
  training: TrainingService;
  tasks: TasksService;
}

// Fails to compile when `contract` and `Services` disagree on a service, a method or an input;
// the error's text names each problem (see check.ts).
const contractAgrees: ContractAgrees<typeof contract, Services> = true;
void contractAgrees;

export type ServiceName = keyof typeof contract;
export type MethodName<S extends ServiceName> = keyof (typeof contract)[S] & string;

/** Events the backend pushes to every window, named onDidX. */
export interface Events {
  onDidChangeSettings: Settings;
  onDidChangeTrainer: TrainerStatus;
  onDidChangeJob: Job;
  onDidImportProgress: ImportProgress;
  /** Studies were added or changed: worklists should refresh. */
  onDidChangeStudies: { studyIds: number[] };
  /** An import job finished (done): the studies it added or changed, e.g. to segment them. */
  onDidImportStudies: { jobId: number; studyIds: number[] };
  onDidChangeInference: InferenceStatus;
  onDidChangeModels: { activeId: number | null };
  /** A task was created or its name, applicability or labels changed. */
  onDidChangeTasks: { taskIds: number[] };
  /** Review decisions changed these series' states (queues and the worklist column should refresh). */
  onDidChangeReview: { seriesIds: number[] };
  /** A fine-tuning run was queued, started or finished. */
  onDidChangeTrainingRun: TrainingRun;
  /** Each optimiser step of the running fine-tune (the trainer's `step` event). */
  onDidTrainStep: TrainerStepEvent & { runId: number };
  /** Each validation of the running fine-tune (the trainer's `epoch` event). */
  onDidTrainValidate: TrainerEpochEvent & { runId: number };
}
export type EventName = keyof Events;

type Method<F> = F extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<Result<R>> : never;

/** What the renderer holds: every service method, returning a Result instead of throwing. */
export type Api = {
  [S in ServiceName]: { [M in MethodName<S>]: M extends keyof Services[S] ? Method<Services[S][M]> : never };
} & {
  on<E extends EventName>(event: E, listener: (payload: Events[E]) => void): () => void;
};

/** The schema-checked input of a method (for tests and transports). */
export type MethodInput<S extends ServiceName, M extends MethodName<S>> = z.input<(typeof contract)[S][M]>;

export function isServiceName(value: unknown): value is ServiceName {
  return typeof value === 'string' && Object.hasOwn(contract, value);
}

export function isMethodName<S extends ServiceName>(service: S, value: unknown): value is MethodName<S> {
  return typeof value === 'string' && Object.hasOwn(contract[service], value);
}
