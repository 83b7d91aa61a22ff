// `npm test` on a fresh machine runs tests/fixtures/setup.sh first. Without root or
// password-less sudo and with packages missing, it must stop at once (no password prompt, no
// half-made data folder) and print the one command that installs them.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { setupScript } from '../fixtures';
import { tempDir } from '../helpers/temp';

describe('tests/fixtures/setup.sh on a machine that lacks packages', () => {
  const tmp = tempDir();
  afterAll(() => tmp.cleanup());
  // The machine's own answers, replaced on PATH: no package installed, not root, sudo wants a password.
  const fake = (name: string, body: string) => {
    const file = path.join(tmp.dir, name);
    writeFileSync(file, `#!/bin/sh\n${body}\n`);
    chmodSync(file, 0o755);
  };
  fake('dpkg-query', 'exit 1');
  fake('id', 'echo 1000');
  fake('sudo', 'echo "sudo: a password is required" >&2; exit 1');
  fake('apt-get', 'echo "apt-get must not run" >&2; exit 99');

  it('stops at once with the one command to run, before touching the data folder', () => {
    const stamp = path.join(path.dirname(setupScript), 'data', '.stamp');
    const before = existsSync(stamp);
    const r = spawnSync('bash', [setupScript], {
      env: { ...process.env, PATH: `${tmp.dir}:${process.env['PATH']}` },
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(3);
    expect(r.stderr).toMatch(
      /sudo apt-get install -y --no-install-recommends .*python3-pydicom.*chromium python3-torch.*orthanc orthanc-dicomweb/,
    );
    expect(r.stderr).not.toMatch(/apt-get must not run/);
    expect(existsSync(stamp)).toBe(before);
  });
});
