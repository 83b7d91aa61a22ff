import { describe, expect, it } from 'vitest';
import { installHint, probeTrainer, pythonCandidates } from './trainer-probe';

describe('trainer probe', () => {
  it('reports what to install when no candidate Python has torch', async () => {
    const status = await probeTrainer(['/nonexistent/python3', process.execPath]);
    expect(status.available).toBe(false);
    expect(status.reason).toContain('/nonexistent/python3: not found');
    expect(status.installHint).toMatch(/PyTorch/);
    expect(status.installHint).toMatch(/LGMS_PYTHON/);
  });

  it('tries the setting first, then LGMS_PYTHON, then the usual names, without repeats', () => {
    const list = pythonCandidates('/opt/py/bin/python', { LGMS_PYTHON: '/env/python' });
    expect(list.slice(0, 2)).toEqual(['/opt/py/bin/python', '/env/python']);
    expect(new Set(list).size).toBe(list.length);
  });

  it('gives a platform-specific install command', () => {
    expect(installHint('linux')).toMatch(/apt-get install python3-torch/);
    expect(installHint('darwin')).toMatch(/brew/);
    expect(installHint('win32')).toMatch(/py -m pip/);
  });
});
