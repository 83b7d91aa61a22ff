// The data folder: Electron's userData by default; --data-dir or LGMS_DATA_DIR override it.
// Plain Node (headless server, CLI) computes the same default so all three share one database.
// It holds patient data: only its owner may read it (0700, files 0600).
import { chmodSync, existsSync, mkdirSync, readdirSync, statSync } from 'node:fs';
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
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return dir;
}

/** Mode of the data folder and of the files this app writes in it: the owner only. */
export const PRIVATE_DIR_MODE = 0o700;
export const PRIVATE_FILE_MODE = 0o600;

/** The files this app keeps at the top of its data folder; only these are ever tightened. */
const OWN_FILES = ['lgms.sqlite', 'lgms.sqlite-wal', 'lgms.sqlite-shm', 'secrets.json'];

/**
 * Creates the data folder readable by its owner only (0700), or tightens an existing one that
 * others could read (an earlier version created it 0755, its database 0644): the folder becomes
 * 0700 and this app's files at its top (database, its journal, secrets) 0600. A folder that is not
 * (yet) an LGMS data folder and holds other files — a home folder named by mistake — is left as
 * it is, with a warning. Returns the note for the log and Settings, else null. No-op on Windows,
 * where the folder's ACL (the user's profile) decides.
 */
export function ensurePrivateDataDir(dir: string, platform: NodeJS.Platform = process.platform): string | null {
  mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR_MODE });
  if (platform === 'win32') return null;
  const before = statSync(dir).mode & 0o777;
  const ours = existsSync(path.join(dir, 'lgms.sqlite')) || readdirSync(dir).length === 0;
  if (!ours)
    return before & 0o077
      ? `Other users of this computer can read the data folder ${dir} (${mode(before)}); it holds other files too, so it was left as it is: choose a folder of its own.`
      : null;
  const loose: string[] = [];
  if (before & 0o077) {
    chmodSync(dir, PRIVATE_DIR_MODE);
    loose.push(`the folder was ${mode(before)}`);
  }
  for (const name of OWN_FILES) {
    const st = statSync(path.join(dir, name), { throwIfNoEntry: false });
    if (!st?.isFile() || !(st.mode & 0o077)) continue;
    chmodSync(path.join(dir, name), PRIVATE_FILE_MODE);
    loose.push(`${name} was ${mode(st.mode & 0o777)}`);
  }
  if (loose.length === 0) return null;
  return `Other users of this computer could read the data folder ${dir} (${loose.join(', ')}); it is now private to you (folder 0700, files 0600).`;
}

const mode = (bits: number) => bits.toString(8).padStart(4, '0');

/** Makes files the database engine created (the database, its WAL and shared memory) owner-only. */
export function privateFiles(files: readonly string[], platform: NodeJS.Platform = process.platform): void {
  if (platform === 'win32') return;
  for (const file of files) if (existsSync(file) && statSync(file).mode & 0o077) chmodSync(file, PRIVATE_FILE_MODE);
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
