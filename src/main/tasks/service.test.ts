import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import type { Events } from '../../shared/contract';
import { Emitter } from '../../shared/events';
import { ServiceError } from '../../shared/result';
import { openDatabase, type Database } from '../db/database';
import { TasksMainService } from './service';

const US = { modalities: ['US'], photometric: ['MONOCHROME2' as const], bodyPart: 'neck' };

describe('tasks service', () => {
  let tmp: ReturnType<typeof tempDir>;
  let db: Database;
  let tasks: TasksMainService;
  let changed: number[][];
  beforeEach(() => {
    tmp = tempDir();
    db = openDatabase(path.join(tmp.dir, 'lgms.sqlite'));
    const events = new Emitter<Events>();
    changed = [];
    events.on('onDidChangeTasks', (e) => changed.push(e.taskIds));
    tasks = new TasksMainService(db, events);
  });
  afterEach(() => {
    db.close();
    tmp.cleanup();
  });

  it('starts with the starter lesion task', async () => {
    const [starter] = await tasks.list();
    expect(starter).toMatchObject({ id: 1, name: 'Breast lesion (demo)', modelKind: '2d' });
    expect(starter!.labels.map((l) => [l.value, l.name, l.type.value])).toEqual([[1, 'lesion', '52988006']]);
  });

  it('creates a task with values 1…n, catalogue codes found by name and local codes otherwise', async () => {
    const t = await tasks.create({
      name: 'Neck',
      domain: US,
      labels: [{ name: 'Thyroid' }, { name: 'Trachea' }, { name: 'Strap muscle' }],
    });
    expect(t.labels.map((l) => [l.value, l.name, l.colour])).toEqual([
      [1, 'Thyroid', '#ff5a5a'],
      [2, 'Trachea', '#4fc3ff'],
      [3, 'Strap muscle', '#7ee07e'],
    ]);
    expect(t.labels[0]!.type).toEqual({ value: '69748006', scheme: 'SCT', meaning: 'Thyroid' });
    expect(t.labels[0]!.category.value).toBe('91723000');
    expect(t.labels[2]!.type).toEqual({ value: 'L3', scheme: '99LGMS', meaning: 'Strap muscle' });
    expect(t.activeVersionId).toBeNull();
    expect(changed).toEqual([[t.id]]);
  });

  it('never renumbers: a retired value stays reserved and a new label takes the next one', async () => {
    const t = await tasks.create({ name: 'Neck', domain: US, labels: [{ name: 'A' }, { name: 'B' }] });
    await tasks.retireLabel({ id: t.id, value: 1 });
    await tasks.updateLabel({ id: t.id, value: 2, name: 'B renamed', colour: '#123456' });
    const after = await tasks.addLabel({ id: t.id, label: { name: 'A' } });
    expect(after.labels.map((l) => [l.value, l.name, l.retiredAt === null])).toEqual([
      [1, 'A', false],
      [2, 'B renamed', true],
      [3, 'A', true],
    ]);
    await expect(tasks.retireLabel({ id: t.id, value: 9 })).rejects.toThrow(/no label 9/);
    await expect(tasks.updateLabel({ id: t.id, value: 1, name: 'back' })).rejects.toThrow(/retired/);
  });

  it('refuses duplicate names, and retiring the last label', async () => {
    await expect(tasks.create({ name: 'X', domain: US, labels: [{ name: 'a' }, { name: 'A' }] })).rejects.toThrow(
      /Two labels are named/,
    );
    const t = await tasks.create({ name: 'X', domain: US, labels: [{ name: 'a' }] });
    await expect(tasks.create({ name: 'x', domain: US, labels: [{ name: 'a' }] })).rejects.toThrow(/exists already/);
    await expect(tasks.addLabel({ id: t.id, label: { name: 'A' } })).rejects.toThrow(/already has a label/);
    await expect(tasks.retireLabel({ id: t.id, value: 1 })).rejects.toBeInstanceOf(ServiceError);
    await expect(tasks.rename({ id: t.id, name: 'Breast lesion (demo)' })).rejects.toThrow(/exists already/);
    expect((await tasks.rename({ id: t.id, name: 'Y' })).name).toBe('Y');
  });

  it('takes the model kind at creation and changes it only before the first model version and run', async () => {
    const CT = { modalities: ['CT'], photometric: ['MONOCHROME2' as const], bodyPart: 'abdomen' };
    const t = await tasks.create({ name: 'Abdomen', domain: CT, modelKind: '3d', labels: [{ name: 'Liver' }] });
    expect(t.modelKind).toBe('3d');
    expect((await tasks.create({ name: 'Plain', domain: CT, labels: [{ name: 'Liver' }] })).modelKind).toBe('2d');
    changed = [];
    expect((await tasks.setModelKind({ id: t.id, modelKind: '2.5d' })).modelKind).toBe('2.5d');
    expect((await tasks.get({ id: t.id })).modelKind).toBe('2.5d');
    expect(changed).toEqual([[t.id]]);
    await expect(tasks.setModelKind({ id: t.id, modelKind: '4d' as '3d' })).rejects.toThrow();
    await expect(tasks.setModelKind({ id: 99, modelKind: '3d' })).rejects.toThrow(/no task 99/);

    const run = db
      .prepare(
        "INSERT INTO training_runs (status, task_id, hyperparameters, out_dir) VALUES ('queued', ?, '{}', 'training/x') RETURNING id",
      )
      .pluck()
      .get(t.id) as number;
    await expect(tasks.setModelKind({ id: t.id, modelKind: '3d' })).rejects.toThrow(/queued or running as 2\.5D/);
    db.prepare("UPDATE training_runs SET status = 'failed', error = 'x' WHERE id = ?").run(run);
    expect((await tasks.setModelKind({ id: t.id, modelKind: '3d' })).modelKind).toBe('3d');

    db.prepare(
      `INSERT INTO model_versions (model_id, name, version, parent_id, dir, manifest, status, builtin, task_id)
       VALUES ('abdomen-1', 'Abdomen', '1', NULL, 'models/abdomen-1', '{}', 'candidate', 0, ?)`,
    ).run(t.id);
    const refused = tasks.setModelKind({ id: t.id, modelKind: '2d' });
    await expect(refused).rejects.toMatchObject({ code: 'conflict' });
    await expect(refused).rejects.toThrow(/already has a 3D model version.*create a new task with the same labels and choose 2D/);
    expect((await tasks.setModelKind({ id: t.id, modelKind: '3d' })).modelKind).toBe('3d');
    expect((await tasks.get({ id: t.id })).modelKind).toBe('3d');
  });
});
