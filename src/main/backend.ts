// Builds the whole backend for one data folder: database, services, events and the dispatcher.
// Electron, the headless server, the CLI and the tests all start here.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Events, Services, SystemInfo } from '../shared/contract';
import { Emitter } from '../shared/events';
import { openDatabase, type Database } from './db/database';
import { FrameLoader } from './imaging/frames';
import { ContentStore } from './import/content-store';
import { ImportMainService } from './import/service';
import { JobStore } from './jobs/store';
import { createDispatch, type Dispatch } from './rpc/dispatch';
import { SettingsMainService } from './settings/service';
import { SystemMainService } from './system/service';
import { WorklistMainService } from './worklist/service';

export interface BackendOptions {
  dataDir: string;
  transport: SystemInfo['transport'];
  /** better_sqlite3.node for Electron's ABI (see scripts/start.mjs). */
  sqliteBinding?: string;
}

export interface Backend {
  readonly dataDir: string;
  readonly db: Database;
  readonly services: Services;
  /** Concrete services for in-process callers (CLI, tests) that need more than the contract. */
  readonly importer: ImportMainService;
  readonly frames: FrameLoader;
  readonly store: ContentStore;
  readonly events: Emitter<Events>;
  readonly dispatch: Dispatch;
  close(): void;
}

export function createBackend(options: BackendOptions): Backend {
  mkdirSync(options.dataDir, { recursive: true });
  const dbPath = path.join(options.dataDir, 'lgms.sqlite');
  const binding = options.sqliteBinding ? { sqliteBinding: options.sqliteBinding } : {};
  const db = openDatabase(dbPath, options.sqliteBinding ? { nativeBinding: options.sqliteBinding } : {});
  const events = new Emitter<Events>();
  const store = new ContentStore(path.join(options.dataDir, 'store'));
  const jobs = new JobStore(db, events);
  // A previous process may have died mid-job: its rows say "running" and its temp files remain.
  jobs.recoverInterrupted();
  store.sweep();
  const frames = new FrameLoader(db, store);
  const settings = new SettingsMainService(db, events);
  const system = new SystemMainService({ dataDir: options.dataDir, transport: options.transport }, settings, events);
  const importer = new ImportMainService({ db, dbPath, storeDir: store.root, jobs, events, ...binding });
  const worklist = new WorklistMainService(db, frames);
  const services: Services = { system, settings, jobs, import: importer, worklist };
  return {
    dataDir: options.dataDir,
    db,
    services,
    importer,
    frames,
    store,
    events,
    dispatch: createDispatch(services),
    close() {
      db.close();
    },
  };
}
