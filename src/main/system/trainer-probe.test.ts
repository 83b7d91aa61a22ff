import { describe, expect, it } from 'vitest';
import { installHint, probeTrainer, pythonCandidates } from './trainer-probe';

describe('trainer probe', () => {
  it('reports what to install when no candidate Python has torch', async () => {
    const status = await probeTrainer({ candidates: ['/nonexistent/python3', process.execPath] });
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(/^No Python with PyTorch was found/);
    expect(status.reason).toContain('/nonexistent/python3: not found');
    expect(status.installHint).toMatch(/PyTorch/);
    expect(status.installHint).toMatch(/LGMS_PYTHON/);
  });

  it('uses the setting alone, else LGMS_PYTHON alone, else the usual names without repeats', () => {
    expect(pythonCandidates('/opt/py/bin/python', { LGMS_PYTHON: '/env/python' })).toEqual({
      candidates: ['/opt/py/bin/python'],
      chosenBy: 'setting',
    });
    expect(pythonCandidates(' ', { LGMS_PYTHON: '/env/python' })).toEqual({
      candidates: ['/env/python'],
      chosenBy: 'LGMS_PYTHON',
    });
    const { candidates, chosenBy } = pythonCandidates('', {});
    expect(chosenBy).toBeUndefined();
    expect(candidates).toContain('python3');
    expect(new Set(candidates).size).toBe(candidates.length);
  });

  it('reports a Python set in Settings that does not work instead of falling back to another one', async () => {
    // A real python3 with torch is on this machine, yet the broken setting must be reported, not skipped.
    const status = await probeTrainer(pythonCandidates('/nonexistent/bin/python3', {}));
    expect(status.available).toBe(false);
    expect(status.reason).toMatch(
      /^The Python set in Settings → Python does not work \(\/nonexistent\/bin\/python3: not found\)/,
    );
    expect(status.installHint).toMatch(/PyTorch/);
    const node = await probeTrainer(pythonCandidates('', { LGMS_PYTHON: process.execPath }));
    expect(node.available).toBe(false);
    expect(node.reason).toMatch(/^The Python named by LGMS_PYTHON does not work/);
  });

  it('gives a platform-specific install command', () => {
    expect(installHint('linux')).toMatch(/apt-get install python3-torch/);
    expect(installHint('darwin')).toMatch(/brew/);
    expect(installHint('win32')).toMatch(/py -m pip/);
  });
});
