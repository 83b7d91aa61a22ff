// Builds the whole backend for one data folder: database, services, events and the dispatcher.
// Electron, the headless server, the CLI and the tests all start here.
import path from 'node:path';
import type { Api, Events, Services, SystemInfo } from '../shared/contract';
import { createApiClient } from '../shared/contract/client';
import { Emitter } from '../shared/events';
import { openDatabase, type Database } from './db/database';
import { DemoMainService } from './demo/service';
import { ExportMainService } from './export/service';
import { sweepExportLeftovers } from './export/staging';
import { DicomwebMainService } from './dicomweb/service';
import { FILE_ONLY, type SecretBox } from './dicomweb/endpoints';
import { FrameLoader } from './imaging/frames';
import { ContentStore, referencedIn } from './store/content-store';
import { ImportMainService } from './import/service';
import { InferenceEngine } from './inference/engine';
import { resetInterruptedSegmentations } from './inference/queries';
import { JobStore } from './jobs/store';
import { ModelRegistry } from './models/registry';
import { ModelShareMainService } from './models/share';
import { ensurePrivateDataDir, privateFiles } from './data-dir';
import { appVersion, demoModelsDir, resourcesDir } from './paths';
import { ReviewMainService } from './review/service';
import { createDispatch, type Dispatch } from './rpc/dispatch';
import { createInProcessTransport } from './rpc/in-process';
import { userIdentity } from './settings/identity';
import { SettingsMainService } from './settings/service';
import { SystemMainService } from './system/service';
import { TrainingMainService } from './training/service';
import { trainerLauncher } from './training/slurm';
import { TasksMainService } from './tasks/service';
import { autoFineTune } from './training/auto';
import { ViewerMainService } from './viewer/service';
import { WorklistMainService } from './worklist/service';

export interface BackendOptions {
  dataDir: string;
  transport: SystemInfo['transport'];
  /** better_sqlite3.node for Electron's ABI (see scripts/start.mjs). */
  sqliteBinding?: string;
  /** Start the inference worker (default true; tests that need no model turn it off). */
  inference?: boolean;
  /** Where shipped models are (default resources/models). */
  modelsDir?: string;
  /** A 3D model: the most bytes one series' inference may hold (default 2 GiB; tests lower it to see the refusal). */
  volumeMemoryBytes?: number;
  /** Run inference jobs left queued by an earlier process (the app and server do; one-shot CLI commands do not). */
  resumeJobs?: boolean;
  /** Keeps PACS passwords and tokens (Electron: the OS keychain); default: file permissions only. */
  secrets?: SecretBox;
  /** What only the host can do (Electron's file dialog); `system.pickPaths` is `unsupported` without it. */
  host?: { pickPaths?: (kind: 'folder' | 'files') => Promise<string[]> };
}

export interface Backend {
  readonly dataDir: string;
  readonly db: Database;
  readonly services: Services;
  /** Concrete services for in-process callers (CLI, tests) that need more than the contract. */
  readonly importer: ImportMainService;
  readonly exporter: ExportMainService;
  readonly dicomweb: DicomwebMainService;
  readonly frames: FrameLoader;
  readonly review: ReviewMainService;
  readonly store: ContentStore;
  readonly engine: InferenceEngine;
  readonly registry: ModelRegistry;
  readonly training: TrainingMainService;
  readonly modelShare: ModelShareMainService;
  /** Resolves once the inference engine has loaded the active model (or found it cannot). */
  readonly ready: Promise<void>;
  readonly events: Emitter<Events>;
  readonly dispatch: Dispatch;
  /** The contract's typed client on an in-process transport: how the CLI and tests call the backend. */
  readonly api: Api;
  /**
   * Stops the services and waits for the work that writes to the database to stop: every job
   * running is asked to stop (JobStore stopAll: one stopped so is recorded as interrupted, not
   * cancelled), then awaited — the inference worker (a model load in flight: at most engine.ts
   * CLOSE_LOAD_WAIT_MS; its last replies, a job's progress or a segmentation that finished
   * meanwhile, are still written), an import or export (at its next series), a PACS retrieval,
   * pull or SEG send (each at most jobs/running.ts CLOSE_WAIT_MS) — and the database closes. A segmentation, import or
   * training still running is left to be marked interrupted at the next start; a gate still
   * running (of a fine-tune or an adopted version) writes nothing more, and the next start ends
   * the run without its gate or gates the adopted version again.
   */
  close(): Promise<void>;
}

/**
 * What a previous process that quit or died mid-job left: its job rows say "running" (marked
 * interrupted) and its series "segmenting" (set back to "new"), its packs may hold bytes nothing
 * refers to, and an export of it may have left its stage (swept before the rows are marked).
 */
function recoverInterruptedWork(dataDir: string, db: Database, jobs: JobStore, store: ContentStore): void {
  for (const removed of sweepExportLeftovers(dataDir, db))
    console.error(`[export] removed what an interrupted export left: ${removed}`);
  jobs.recoverInterrupted();
  resetInterruptedSegmentations(db);
  store.sweepPacks(referencedIn(db));
}

export function createBackend(options: BackendOptions): Backend {
  // Patient data: the folder is the owner's only, and an older, looser one is tightened (and said so).
  const dataDirNote = ensurePrivateDataDir(options.dataDir);
  if (dataDirNote) console.error(`[security] ${dataDirNote}`);
  const dbPath = path.join(options.dataDir, 'lgms.sqlite');
  const binding = options.sqliteBinding ? { sqliteBinding: options.sqliteBinding } : {};
  const db = openDatabase(dbPath, options.sqliteBinding ? { nativeBinding: options.sqliteBinding } : {});
  privateFiles([dbPath, `${dbPath}-wal`, `${dbPath}-shm`]);
  const events = new Emitter<Events>();
  const store = new ContentStore(path.join(options.dataDir, 'store'));
  const jobs = new JobStore(db, events);
  recoverInterruptedWork(options.dataDir, db, jobs, store);
  const frames = new FrameLoader(db, store);
  const settings = new SettingsMainService(db, events);
  const registry = new ModelRegistry(db, options.dataDir, events);
  const modelProblems = registry.registerBuiltins(options.modelsDir ?? path.join(resourcesDir(), 'models'));
  for (const problem of modelProblems) console.error(`[models] ${problem}`);
  const engine = new InferenceEngine({
    db,
    dbPath,
    storeDir: store.root,
    jobs,
    events,
    registry,
    settings: () => settings.read(),
    ...{ ...binding, ...pick(options, 'volumeMemoryBytes') },
  });
  const system = new SystemMainService(
    {
      dataDir: options.dataDir,
      ...(dataDirNote ? { dataDirNote } : {}),
      transport: options.transport,
      activeProvider: () => engine.activeProvider(),
      ...(options.host?.pickPaths ? { pickPaths: options.host.pickPaths } : {}),
    },
    settings,
    events,
  );
  const importer = new ImportMainService({ db, dbPath, storeDir: store.root, jobs, events, ...binding });
  const worklist = new WorklistMainService(db, frames);
  const { training, modelShare } = fineTuning({
    db,
    dataDir: options.dataDir,
    frames,
    registry,
    events,
    settings,
    system,
    gate: { dbPath, storeDir: store.root, ...binding },
  });
  const review = new ReviewMainService({
    db,
    events,
    registry,
    settings: () => settings.read(),
    segment: (seriesId, taskId) => engine.segmentSeries({ seriesId, taskId }),
  });
  const identity = () => userIdentity(settings.read());
  const exporter = new ExportMainService({ db, store, frames, jobs, softwareVersion: appVersion(), identity });
  const dicomweb = new DicomwebMainService({
    db,
    dataDir: options.dataDir,
    store,
    frames,
    jobs,
    importer,
    secrets: options.secrets ?? FILE_ONLY,
    softwareVersion: appVersion(),
    identity,
  });
  const services: Services = {
    system,
    settings,
    jobs,
    import: importer,
    worklist,
    models: registry,
    modelShare,
    inference: engine,
    demo: new DemoMainService(options.dataDir, importer, () => installDemoModels(registry, events)),
    viewer: new ViewerMainService(db, frames),
    review,
    export: exporter,
    dicomweb,
    training,
    tasks: new TasksMainService(db, events),
  };
  const ready =
    options.inference === false
      ? Promise.resolve()
      : engine.start({ resumeJobs: options.resumeJobs ?? true }).then(() => undefined);
  followEvents({ db, events, engine, review, registry, training, settings, dicomweb, resume: options.resumeJobs ?? true });
  const dispatch = createDispatch(services);
  return {
    dataDir: options.dataDir,
    db,
    services,
    importer,
    exporter,
    dicomweb,
    frames,
    review,
    store,
    engine,
    registry,
    training,
    modelShare,
    ready,
    events,
    dispatch,
    api: createApiClient(createInProcessTransport(dispatch, events)),
    async close() {
      jobs.stopAll();
      training.close();
      modelShare.close();
      await Promise.all([engine.close(), importer.close(), exporter.close(), dicomweb.close()]); // see Backend.close
      db.close();
    },
  };
}

/**
 * What one service does when another's event says so: new series segmented after an import (when
 * the setting asks), finished jobs joining the review loop, a fine-tune queued after N new labels,
 * submitted labels sent to the task's PACS.
 */
function followEvents(o: {
  db: Database;
  events: Emitter<Events>;
  engine: InferenceEngine;
  review: ReviewMainService;
  registry: ModelRegistry;
  training: TrainingMainService;
  settings: SettingsMainService;
  dicomweb: DicomwebMainService;
  /** Resume what an earlier process left waiting (not in one-shot CLI commands). */
  resume: boolean;
}): void {
  const { db, events, engine, review, registry, training, settings, dicomweb } = o;
  // Label pushes to the PACS (issue 26) left waiting by an earlier process go out now; each decision sends its own.
  if (o.resume) dicomweb.pushQueue.start();
  events.on('onDidChangeReview', () => void dicomweb.pushQueue.drain());
  // New series from a finished import are segmented when the setting asks for it.
  events.on('onDidImportStudies', ({ studyIds }) => engine.autoSegment(studyIds));
  events.on('onDidChangeSettings', () => void engine.settingsChanged());
  // Imported series outside the model's domain, and finished segmentations, join the review loop.
  events.on('onDidChangeJob', (job) => {
    if ((job.kind !== 'import' && job.kind !== 'inference') || job.status !== 'done') return;
    try {
      review.sync();
    } catch (e) {
      console.error(`[review] ${(e as Error).message}`); // the next review read retries
    }
  });
  // Settings → fine-tune automatically after N new training labels (issue 12): checked after each decision.
  // Per task: each task with an active version counts its own new labels and queues its own run.
  events.on('onDidChangeReview', () => {
    for (const { taskId } of registry.actives())
      autoFineTune({ db, taskId, start: () => training.start({ taskId }) }, settings.read().autoFineTuneAfter).catch(
        (e: unknown) => console.error(`[training] ${(e as Error).message}`),
      );
  });
}

/**
 * Fine-tuning and the model share (issue 26). The share is wired before the inference engine
 * starts: its guard must refuse an adopted version whose gate has not finished before the engine's
 * own listener loads it. A run whose backend died mid-training is marked interrupted and its files
 * removed (migration 0080); adoptions whose gate a previous process left unfinished are gated again.
 */
function fineTuning(o: {
  db: Database;
  dataDir: string;
  frames: FrameLoader;
  registry: ModelRegistry;
  events: Emitter<Events>;
  settings: SettingsMainService;
  system: SystemMainService;
  gate: { dbPath: string; storeDir: string; sqliteBinding?: string };
}): { training: TrainingMainService; modelShare: ModelShareMainService } {
  const { db, dataDir, registry, events, settings } = o;
  const training = new TrainingMainService({
    db,
    dataDir,
    frames: o.frames,
    registry,
    events,
    trainer: () => o.system.refreshTrainer(),
    trainerDir: path.join(resourcesDir(), 'trainer'),
    launcher: () => trainerLauncher(settings.read().slurmCluster),
    gate: { ...o.gate, ttaFlips: () => settings.read().ttaFlips },
  });
  training.recover();
  const modelShare = new ModelShareMainService({
    db,
    dataDir,
    registry,
    events,
    folder: () => settings.read().modelShareFolder,
    identity: () => userIdentity(settings.read()),
    gate: (versionId, taskId, from) => training.gateAdopted(versionId, taskId, from),
  });
  registry.onWillActivate(async (version) => modelShare.assertGated(version.id));
  modelShare.recover();
  return { training, modelShare };
}

/** `{ key: value }` when the option is set, else nothing (exactOptionalPropertyTypes). */
function pick<K extends keyof BackendOptions>(o: BackendOptions, key: K): Partial<Pick<BackendOptions, K>> {
  return o[key] === undefined ? {} : ({ [key]: o[key] } as Pick<BackendOptions, K>);
}

/**
 * Registers the demo's own models (`dir`, default resources/demo-models) and tells the views that
 * the tasks it created or changed, and their active versions, changed; other tasks are not
 * named. Returns the folders that could not be registered, with why.
 */
export function installDemoModels(registry: ModelRegistry, events: Emitter<Events>, dir = demoModelsDir()): string[] {
  const { problems, changedTaskIds } = registry.installBuiltins(dir);
  if (changedTaskIds.length === 0) return problems;
  events.emit('onDidChangeTasks', { taskIds: changedTaskIds });
  for (const taskId of changedTaskIds) {
    const active = registry.active(taskId);
    if (active) events.emit('onDidChangeModels', { activeId: active.id });
  }
  return problems;
}
