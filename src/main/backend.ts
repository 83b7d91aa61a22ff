// Builds the whole backend for one data folder: database, services, events and the dispatcher.
// Electron, the headless server, the CLI and the tests all start here.
import path from 'node:path';
import type { Events, Services, SystemInfo } from '../shared/contract';
import { Emitter } from '../shared/events';
import { openDatabase, type Database } from './db/database';
import { createDispatch, type Dispatch } from './rpc/dispatch';
import { SettingsMainService } from './settings/service';
import { SystemMainService } from './system/service';

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
  readonly events: Emitter<Events>;
  readonly dispatch: Dispatch;
  close(): void;
}

export function createBackend(options: BackendOptions): Backend {
  const db = openDatabase(path.join(options.dataDir, 'lgms.sqlite'), options.sqliteBinding ? { nativeBinding: options.sqliteBinding } : {});
  const events = new Emitter<Events>();
  const settings = new SettingsMainService(db, events);
  const system = new SystemMainService({ dataDir: options.dataDir, transport: options.transport }, settings, events);
  const services: Services = { system, settings };
  return {
    dataDir: options.dataDir,
    db,
    services,
    events,
    dispatch: createDispatch(services),
    close() {
      db.close();
    },
  };
}
