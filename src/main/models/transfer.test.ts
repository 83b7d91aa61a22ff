import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../../tests/helpers/temp';
import { createBackend, type Backend } from '../backend';

describe('model version export and import', () => {
  let tmp: ReturnType<typeof tempDir>;
  let b: Backend;
  beforeEach(() => {
    tmp = tempDir();
    b = createBackend({ dataDir: path.join(tmp.dir, 'data'), transport: 'http', inference: false });
  });
  afterEach(() => {
    b.close();
    tmp.cleanup();
  });

  it('exports the starter as a whole folder and imports it into another workstation as a candidate', async () => {
    const starter = (await b.services.models.list())[0]!;
    const out = path.join(tmp.dir, 'usb', 'starter-copy');
    await b.services.models.exportVersion({ id: starter.id, folder: out });
    expect(readdirSync(out).sort()).toEqual([
      'learning-curve.json',
      'model.json',
      'model.onnx',
      'reference',
      'replay',
      'split.json',
      'weights.pt',
    ]);
    expect(readdirSync(path.dirname(out))).toEqual(['starter-copy']); // no temporary folder left
    await expect(b.services.models.exportVersion({ id: starter.id, folder: out })).rejects.toMatchObject({ code: 'conflict' });

    // Another workstation (no shipped models): the import registers a candidate from its own copy.
    const other = createBackend({
      dataDir: path.join(tmp.dir, 'other'),
      transport: 'http',
      inference: false,
      modelsDir: path.join(tmp.dir, 'none'),
    });
    try {
      const imported = await other.services.models.importVersion({ folder: out });
      expect(imported.modelId).toBe('lgmsnet-starter');
      expect(imported.status).toBe('candidate');
      expect(existsSync(path.join(tmp.dir, 'other', 'models', 'lgmsnet-starter', 'weights.pt'))).toBe(true);
      await expect(other.services.models.importVersion({ folder: out })).rejects.toMatchObject({ code: 'conflict' });
    } finally {
      other.close();
    }
  });

  it('answers the learning curve shipped with a version, and refuses a damaged one in words', async () => {
    const starter = (await b.services.models.list())[0]!;
    const shipped = JSON.parse(readFileSync(path.join(b.registry.get(starter.id).dir, 'learning-curve.json'), 'utf8')) as {
      points: { n: number; shifted: number; base: number }[];
    };
    const curve = await b.services.models.learningCurve({ id: starter.id });
    expect(curve?.points.map(({ n, shifted, base }) => ({ n, shifted, base }))).toEqual(
      shipped.points.map(({ n, shifted, base }) => ({ n, shifted, base })),
    );
    expect(curve?.points.map((p) => p.n)).toEqual([0, 4, 8, 16, 32]);

    // A copy whose curve was damaged on the way: `corrupt` with the version named, nothing raw.
    const out = path.join(tmp.dir, 'usb', 'starter-copy');
    await b.services.models.exportVersion({ id: starter.id, folder: out });
    writeFileSync(path.join(out, 'learning-curve.json'), '{"format": "lgms-learning-curve/1", "points": [{"n": "four"}]}');
    const other = createBackend({
      dataDir: path.join(tmp.dir, 'other'),
      transport: 'http',
      inference: false,
      modelsDir: path.join(tmp.dir, 'none'),
    });
    try {
      const imported = await other.services.models.importVersion({ folder: out });
      await expect(other.services.models.learningCurve({ id: imported.id })).rejects.toMatchObject({
        code: 'corrupt',
        message: 'the learning curve of lgmsnet-starter does not have the expected fields',
      });
    } finally {
      other.close();
    }
  });

  it('refuses a damaged folder without writing anything', async () => {
    const bad = path.join(tmp.dir, 'bad');
    const starter = (await b.services.models.list())[0]!;
    await b.services.models.exportVersion({ id: starter.id, folder: bad });
    writeFileSync(path.join(bad, 'model.json'), '{"format": "lgms-model/1"}');
    await expect(b.services.models.importVersion({ folder: bad })).rejects.toMatchObject({ code: 'corrupt' });
    expect(existsSync(path.join(tmp.dir, 'data', 'models'))).toBe(false);
  });
});
