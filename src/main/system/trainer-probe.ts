// Finds a Python with PyTorch for fine-tuning. Everything else in the app works without one,
// so a missing or broken interpreter is a status to show, never an error that stops the app.
import { execFile } from 'node:child_process';
import type { TrainerStatus } from '../../shared/contract';

const PROBE = [
  'import json, sys',
  'import torch',
  'dev = "cuda" if torch.cuda.is_available() else ("mps" if getattr(torch.backends, "mps", None) and torch.backends.mps.is_available() else "cpu")',
  'print(json.dumps({"python": sys.executable, "torch": torch.__version__, "device": dev}))',
].join('\n');

/**
 * Where to look, in order: the setting, then LGMS_PYTHON, then the usual names. An explicit
 * choice (the setting, or else LGMS_PYTHON) is the only candidate: a path the user chose that
 * does not work is reported as not working, never silently replaced by another Python.
 */
export function pythonCandidates(
  settingPath: string,
  env: NodeJS.ProcessEnv = process.env,
): { candidates: string[]; chosenBy?: 'setting' | 'LGMS_PYTHON' } {
  if (settingPath.trim() !== '') return { candidates: [settingPath.trim()], chosenBy: 'setting' };
  if ((env.LGMS_PYTHON ?? '').trim() !== '') return { candidates: [env.LGMS_PYTHON!.trim()], chosenBy: 'LGMS_PYTHON' };
  const list =
    process.platform === 'win32'
      ? ['py', 'python']
      : ['python3', '/usr/bin/python3', '/usr/local/bin/python3', '/opt/homebrew/bin/python3', 'python'];
  return { candidates: [...new Set(list)] };
}

export function installHint(platform: NodeJS.Platform = process.platform): string {
  const pip = 'python3 -m pip install torch numpy pillow onnx';
  if (platform === 'linux')
    return `Fine-tuning needs Python 3 with PyTorch. On Debian/Ubuntu: sudo apt-get install python3-torch python3-numpy python3-pil python3-onnx (or: ${pip}). Then set its path in Settings → Python, or LGMS_PYTHON.`;
  if (platform === 'darwin')
    return `Fine-tuning needs Python 3 with PyTorch: brew install python, then ${pip}. Then set its path in Settings → Python, or LGMS_PYTHON.`;
  return `Fine-tuning needs Python 3 with PyTorch: install Python from python.org, then py -m pip install torch numpy pillow onnx. Then set its path in Settings → Python, or LGMS_PYTHON.`;
}

function probeOne(python: string, timeoutMs: number): Promise<TrainerStatus | string> {
  return new Promise((resolve) => {
    execFile(python, ['-c', PROBE], { timeout: timeoutMs, windowsHide: true }, (error, stdout, stderr) => {
      if (error) {
        const last = stderr.trim().split('\n').at(-1) ?? error.message;
        resolve(`${python}: ${(error as NodeJS.ErrnoException).code === 'ENOENT' ? 'not found' : last}`);
        return;
      }
      try {
        const info = JSON.parse(stdout.trim().split('\n').at(-1) ?? '') as { python: string; torch: string; device: string };
        resolve({ available: true, checking: false, python: info.python, torch: info.torch, device: info.device });
      } catch {
        resolve(`${python}: unexpected output`);
      }
    });
  });
}

export async function probeTrainer(
  { candidates, chosenBy }: { candidates: string[]; chosenBy?: 'setting' | 'LGMS_PYTHON' },
  timeoutMs = 60_000,
): Promise<TrainerStatus> {
  const failures: string[] = [];
  for (const python of candidates) {
    const result = await probeOne(python, timeoutMs);
    if (typeof result !== 'string') return result;
    failures.push(result);
  }
  const where =
    chosenBy === 'setting'
      ? 'The Python set in Settings → Python does not work'
      : chosenBy === 'LGMS_PYTHON'
        ? 'The Python named by LGMS_PYTHON does not work'
        : 'No Python with PyTorch was found';
  return { available: false, checking: false, reason: `${where} (${failures.join('; ')})`, installHint: installHint() };
}
