// `lgms segment` as a user runs it: PNG images in, PNG masks out, with the shipped model.
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writePngPairs } from '../../src/main/demo';
import { readPng8 } from '../helpers/png';
import { dice } from '../../src/shared/imaging/postprocess';
import { assertBuilt, ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';
import { missingPath, skipTitle } from '../helpers/skip';

const run = promisify(execFile);
const STARTER = path.join(ROOT, 'resources', 'models', 'lgmsnet-starter', 'model.json');

describe.skipIf(missingPath(STARTER))(skipTitle('lgms segment', missingPath(STARTER)), () => {
  const tmp = tempDir();
  beforeAll(async () => {
    assertBuilt();
    await writePngPairs(path.join(tmp.dir, 'pairs'), { count: 6, seed: 303, domain: 'base', size: 256 });
  });
  afterAll(() => tmp.cleanup());

  it('writes one PNG mask per input image that matches the ground truth', async () => {
    const out = path.join(tmp.dir, 'masks-out');
    const { stdout } = await run(
      process.execPath,
      [
        path.join(ROOT, 'bin', 'lgms.js'),
        'segment',
        path.join(tmp.dir, 'pairs', 'images'),
        '--out',
        out,
        '--tta',
        '0',
        '--data-dir',
        path.join(tmp.dir, 'data'),
      ],
      { cwd: ROOT },
    );
    expect(stdout).toMatch(/6 masks from 6 series/);
    const written = readdirSync(out).sort();
    expect(written).toEqual(readdirSync(path.join(tmp.dir, 'pairs', 'images')).sort());
    const scores = written.map((name) => {
      const predicted = readPng8(readFileSync(path.join(out, name)));
      const truth = readPng8(readFileSync(path.join(tmp.dir, 'pairs', 'masks', name)));
      expect([predicted.width, predicted.height]).toEqual([truth.width, truth.height]);
      return dice(predicted.data, truth.data);
    });
    expect(scores.reduce((a, s) => a + s, 0) / scores.length).toBeGreaterThan(0.8);
  }, 120_000);
});
