// Running a test fixture script with the trainer's code on the path (resources/trainer), in the
// Python that has PyTorch.
import { execFileSync, spawnSync } from 'node:child_process';
import path from 'node:path';
import { ROOT } from './serve';

/** Debian's Python with torch (the `python3` on PATH here is a shim without it), or undefined. */
export const TORCH_PYTHON = [process.env.LGMS_PYTHON, '/usr/bin/python3', 'python3'].find(
  (p) => p && spawnSync(p, ['-c', 'import torch, numpy'], { stdio: 'ignore' }).status === 0,
);

/** Runs `python script args…` with lgms_trainer importable, one thread, up to 5 minutes; throws with its stderr on failure. */
export function runTorchScript(args: string[]): void {
  if (!TORCH_PYTHON) throw new Error('no Python with torch (apt-get install python3-torch)');
  execFileSync(TORCH_PYTHON, args, {
    stdio: 'pipe',
    timeout: 300_000,
    env: {
      ...process.env,
      PYTHONPATH: path.join(ROOT, 'resources', 'trainer'),
      PYTHONDONTWRITEBYTECODE: '1',
      OMP_NUM_THREADS: '1',
    },
  });
}
