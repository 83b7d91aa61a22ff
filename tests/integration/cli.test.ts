// The `lgms` command as a user runs it: built backend, real data folder.
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { assertBuilt, ROOT } from '../helpers/serve';
import { tempDir } from '../helpers/temp';

const run = promisify(execFile);
const lgms = (args: string[], env: NodeJS.ProcessEnv = {}) =>
  run(process.execPath, [path.join(ROOT, 'bin', 'lgms.js'), ...args], { cwd: ROOT, env: { ...process.env, ...env } });

describe('lgms CLI', () => {
  const tmp = tempDir();
  beforeAll(() => assertBuilt());
  afterAll(() => tmp.cleanup());

  it('prints help listing its commands', async () => {
    const { stdout } = await lgms(['--help']);
    expect(stdout).toMatch(/Usage: lgms <command>/);
    for (const command of ['serve', 'info', 'settings']) expect(stdout).toContain(command);
  });

  it('changes a setting in the data folder named by LGMS_DATA_DIR and reads it back', async () => {
    await lgms(['settings', 'set', 'ttaFlips=4', 'userName=CLI User'], { LGMS_DATA_DIR: tmp.dir });
    const { stdout } = await lgms(['settings', 'get', '--data-dir', tmp.dir]);
    expect(JSON.parse(stdout)).toMatchObject({ ttaFlips: 4, userName: 'CLI User' });
  });

  it('reports an invalid setting with its error code and a non-zero exit', async () => {
    await expect(lgms(['settings', 'set', 'ttaFlips=3', '--data-dir', tmp.dir])).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringContaining('error (invalid-input)'),
    });
  });

  it('prints system info with the trainer probed', async () => {
    const { stdout } = await lgms(['info', '--data-dir', tmp.dir]);
    const info = JSON.parse(stdout) as {
      dataDir: string;
      trainer: { checking: boolean; available: boolean; installHint?: string };
    };
    expect(info.dataDir).toBe(tmp.dir);
    expect(info.trainer.checking).toBe(false);
    if (!info.trainer.available) expect(info.trainer.installHint).toMatch(/PyTorch/);
  }, 90_000);

  it('rejects an unknown command with usage', async () => {
    await expect(lgms(['frobnicate'])).rejects.toMatchObject({ code: 2, stderr: expect.stringContaining('unknown command') });
  });
});
