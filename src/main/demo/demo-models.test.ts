// installDemoModels (backend.ts): registering the demo's own model tells the views about the
// task it created and its active version, not about every task on the workstation; a second
// install that changes nothing tells nothing. The real shipped models, a real SQLite file.
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../../tests/helpers/serve';
import { tempDir } from '../../../tests/helpers/temp';
import type { Events } from '../../shared/contract';
import { Emitter } from '../../shared/events';
import { installDemoModels } from '../backend';
import { openDatabase, type Database } from '../db/database';
import { readModelPackage } from '../models/package';
import { ModelRegistry } from '../models/registry';

const MODELS = path.join(ROOT, 'resources', 'models');
const DEMO_MODELS = path.join(ROOT, 'resources', 'demo-models');

describe('installing the demo models', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  let registry: ModelRegistry;
  const events = new Emitter<Events>();
  const told: string[] = [];
  events.on('onDidChangeTasks', (e) => told.push(`tasks ${e.taskIds.join(',')}`));
  events.on('onDidChangeModels', (e) => told.push(`models active ${e.activeId}`));

  beforeEach(async () => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'db.sqlite'));
    registry = new ModelRegistry(db, tmp.dir, events);
    expect(registry.registerBuiltins(MODELS)).toEqual([]);
    // A reader's task with its own active version.
    db.prepare(
      `INSERT INTO tasks (id, name, domain) VALUES (2, 'Neck', '{"modalities":["CT"],"photometric":["MONOCHROME2"],"bodyPart":"neck"}')`,
    ).run();
    const pkg = readModelPackage(path.join(MODELS, 'lgmsnet-starter'));
    const neck = registry.upsert({ ...pkg, manifest: { ...pkg.manifest, id: 'neck-v1' } }, true, 2);
    db.prepare("UPDATE model_versions SET status = 'active' WHERE id = ?").run(neck);
    told.length = 0;
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it("tells about the demo's task and its active version only, and nothing when installed again", () => {
    expect(installDemoModels(registry, events, DEMO_MODELS)).toEqual([]);
    const demo = db.prepare('SELECT id FROM tasks WHERE id > 2').pluck().all() as number[];
    expect(demo).toHaveLength(1);
    const active = registry.active(demo[0]!)!;
    expect(active.manifest.id).toBe('lgmsnet3d-ct-demo');
    expect(told).toEqual([`tasks ${demo[0]}`, `models active ${active.id}`]);

    told.length = 0;
    expect(installDemoModels(registry, events, DEMO_MODELS)).toEqual([]);
    expect(told).toEqual([]);
    expect(registry.installBuiltins(DEMO_MODELS)).toEqual({ problems: [], changedTaskIds: [] });
  });
});
