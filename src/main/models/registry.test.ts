import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ROOT } from '../../../tests/helpers/serve';
import { tempDir } from '../../../tests/helpers/temp';
import type { Events } from '../../shared/contract';
import { Emitter } from '../../shared/events';
import { openDatabase, type Database } from '../db/database';
import { readModelPackage } from './package';
import { ModelRegistry } from './registry';

const MODELS = path.join(ROOT, 'resources', 'models');

describe('model registry with tasks', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  let registry: ModelRegistry;
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'db.sqlite'));
    registry = new ModelRegistry(db, tmp.dir, new Emitter<Events>());
    expect(registry.registerBuiltins(MODELS)).toEqual([]);
    db.prepare(
      `INSERT INTO tasks (id, name, domain) VALUES (2, 'Neck', '{"modalities":["CT"],"photometric":["MONOCHROME2"],"bodyPart":"neck"}')`,
    ).run();
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  /** The starter's folder registered again under another model id and task (a stand-in for a task's version). */
  function register(id: string, taskId: number): number {
    const pkg = readModelPackage(path.join(MODELS, 'lgmsnet-starter'));
    return registry.upsert({ ...pkg, manifest: { ...pkg.manifest, id } }, true, taskId);
  }

  it('registers the builtin under the starter task and activates it there', async () => {
    const [starter] = await registry.list();
    expect(starter).toMatchObject({ taskId: 1, status: 'active', builtin: true });
    expect(registry.active(1)!.id).toBe(starter!.id);
    expect(registry.active(2)).toBeNull();
  });

  it("activating a version archives only its own task's active version", async () => {
    const starter = registry.active(1)!.id;
    const a = register('neck-a', 2);
    const b = register('neck-b', 2);
    await registry.activate({ id: a });
    expect(registry.actives().map((v) => [v.taskId, v.id])).toEqual([
      [1, starter],
      [2, a],
    ]);
    await registry.activate({ id: b });
    expect(registry.active(1)!.id).toBe(starter);
    expect(registry.active(2)!.id).toBe(b);
    expect((await registry.list({ taskId: 2 })).map((v) => [v.id, v.status])).toEqual([
      [b, 'active'],
      [a, 'archived'],
    ]);
  });

  it("gives every version its task's domain, whatever its model.json says", async () => {
    const v = register('neck-c', 2);
    // The folder's model.json says US (breast); the task covers CT only.
    expect(registry.get(v).manifest.domain).toEqual({ modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'neck' });
    expect((await registry.list({ taskId: 2 }))[0]!.domain).toEqual({
      modalities: ['CT'],
      photometric: ['MONOCHROME2'],
      bodyPart: 'neck',
    });
    db.prepare(
      `UPDATE tasks SET domain = '{"modalities":["CT","MR"],"photometric":["MONOCHROME2"],"bodyPart":"neck"}' WHERE id = 2`,
    ).run();
    expect(registry.get(v).manifest.domain?.modalities).toEqual(['CT', 'MR']);
    expect(() => register('nowhere', 9)).toThrow(/no task 9/);
  });

  it("lists each version's kind, and a 3D version's patch and spacing from its model.json (SPEC3D)", async () => {
    const pkg = readModelPackage(path.join(MODELS, 'lgmsnet-starter'));
    const { manifest } = pkg;
    const threeD = registry.upsert(
      {
        ...pkg,
        manifest: {
          ...manifest,
          id: 'abdomen-3d',
          architecture: { ...manifest.architecture, dims: 3 },
          input: { ...manifest.input, size: [128, 128], patch: [32, 128, 128], spacing: [2.5, 1.5, 1.5] },
        } as typeof manifest,
      },
      false,
      2,
    );
    const adjacent = registry.upsert(
      { ...pkg, manifest: { ...manifest, id: 'neck-25d', input: { ...manifest.input, channelMode: 'adjacent' } } },
      false,
      2,
    );
    const byId = new Map((await registry.list()).map((v) => [v.id, v]));
    expect(byId.get(threeD)).toMatchObject({ kind: '3d', patch: [32, 128, 128], spacing: [2.5, 1.5, 1.5] });
    expect(byId.get(adjacent)).toMatchObject({ kind: '2.5d' });
    expect(byId.get(adjacent)!.patch).toBeUndefined();
    expect(byId.get(registry.active(1)!.id)).toMatchObject({ kind: '2d' });
    expect(byId.get(registry.active(1)!.id)!.spacing).toBeUndefined();
  });
});
