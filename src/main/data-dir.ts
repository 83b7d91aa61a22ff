// The data folder: Electron's userData by default; --data-dir or LGMS_DATA_DIR override it.
// Plain Node (headless server, CLI) computes the same default so all three share one database.
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

export const PRODUCT_NAME = 'LGMS Workstation';

export function defaultUserDataDir(platform: NodeJS.Platform = process.platform, env = process.env): string {
  const home = os.homedir();
  if (platform === 'win32') return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), PRODUCT_NAME);
  if (platform === 'darwin') return path.join(home, 'Library', 'Application Support', PRODUCT_NAME);
  return path.join(env.XDG_CONFIG_HOME ?? path.join(home, '.config'), PRODUCT_NAME);
}

/** `--data-dir X` / `--data-dir=X` in argv wins, then LGMS_DATA_DIR, then the fallback. */
export function resolveDataDir(argv: readonly string[], env: NodeJS.ProcessEnv, fallback: string): string {
  let fromArgs: string | undefined;
  argv.forEach((arg, i) => {
    if (arg === '--data-dir') fromArgs = argv[i + 1];
    else if (arg.startsWith('--data-dir=')) fromArgs = arg.slice('--data-dir='.length);
  });
  const dir = path.resolve(fromArgs ?? env.LGMS_DATA_DIR ?? fallback);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** The arguments without `--data-dir X` / `--data-dir=X`, for commands that take positionals. */
export function withoutDataDirArgs(argv: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--data-dir') i++;
    else if (!argv[i]!.startsWith('--data-dir=')) out.push(argv[i]!);
  }
  return out;
}
