import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
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

  it('registers a shipped model that names its own task under that task, created once with its labels, and activates it there', async () => {
    // The starter's files under another id, as a model shipped for a two-label CT task.
    const shipped = path.join(tmp.dir, 'shipped');
    const dir = path.join(shipped, 'ct-demo');
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(MODELS, 'lgmsnet-starter', 'model.onnx'), path.join(dir, 'model.onnx'));
    const starter = JSON.parse(readFileSync(path.join(MODELS, 'lgmsnet-starter', 'model.json'), 'utf8'));
    const uid = 'c7'.repeat(16);
    const manifest = {
      ...starter,
      id: 'ct-demo',
      files: { onnx: 'model.onnx' },
      referenceSet: undefined,
      domain: { modalities: ['CT'], photometric: ['MONOCHROME2'], bodyPart: 'abdomen' },
      output: { ...starter.output, labels: ['Liver'], values: [1] },
      task: {
        uid,
        name: 'Neck',
        modelKind: '3d',
        labels: [
          { value: 1, name: 'Liver' },
          { value: 3, name: 'Spleen' },
        ],
      },
    };
    writeFileSync(path.join(dir, 'model.json'), JSON.stringify(manifest));
    expect(registry.registerBuiltins(shipped)).toEqual([]);
    const task = db.prepare('SELECT id, name, model_kind AS kind FROM tasks WHERE uid = ?').get(uid) as {
      id: number;
      name: string;
      kind: string;
    };
    // "Neck" is the reader's task (id 2): the shipped one is told apart, never merged into it.
    expect(task).toMatchObject({ name: `Neck (${uid.slice(0, 6)})`, kind: '3d' });
    expect(db.prepare('SELECT value, name FROM task_labels WHERE task_id = ? ORDER BY value').all(task.id)).toEqual([
      { value: 1, name: 'Liver' },
      { value: 3, name: 'Spleen' },
    ]);
    expect((await registry.list({ taskId: task.id })).map((v) => [v.modelId, v.status, v.builtin])).toEqual([
      ['ct-demo', 'active', true],
    ]);
    expect((await registry.list({ taskId: 1 })).map((v) => [v.modelId, v.status])).toEqual([['lgmsnet-starter', 'active']]);
    // A second start finds the task by its UID: no second task, the reader's renaming kept.
    db.prepare("UPDATE tasks SET name = 'Abdomen demo' WHERE id = ?").run(task.id);
    expect(registry.registerBuiltins(shipped)).toEqual([]);
    expect(db.prepare('SELECT count(*) FROM tasks WHERE uid = ?').pluck().get(uid)).toBe(1);
    expect(db.prepare('SELECT name FROM tasks WHERE id = ?').pluck().get(task.id)).toBe('Abdomen demo');
  });

  it('refuses a shipped model whose task lacks a value it paints', () => {
    const shipped = path.join(tmp.dir, 'bad');
    const dir = path.join(shipped, 'bad');
    mkdirSync(dir, { recursive: true });
    copyFileSync(path.join(MODELS, 'lgmsnet-starter', 'model.onnx'), path.join(dir, 'model.onnx'));
    const starter = JSON.parse(readFileSync(path.join(MODELS, 'lgmsnet-starter', 'model.json'), 'utf8'));
    writeFileSync(
      path.join(dir, 'model.json'),
      JSON.stringify({
        ...starter,
        id: 'bad',
        files: { onnx: 'model.onnx' },
        referenceSet: undefined,
        task: { uid: 'd8'.repeat(16), name: 'Bad', modelKind: '2d', labels: [{ value: 2, name: 'Other' }] },
      }),
    );
    const problems = registry.registerBuiltins(shipped);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/task/);
    expect(db.prepare('SELECT count(*) FROM tasks WHERE uid = ?').pluck().get('d8'.repeat(16))).toBe(0);
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
