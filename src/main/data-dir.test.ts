import { chmodSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers/temp';
import { createBackend } from './backend';
import { defaultUserDataDir, ensurePrivateDataDir, resolveDataDir } from './data-dir';

const mode = (p: string) => statSync(p).mode & 0o777;

describe('data folder', () => {
  let tmp: ReturnType<typeof tempDir>;
  beforeEach(() => (tmp = tempDir()));
  afterEach(() => tmp.cleanup());

  it('prefers --data-dir, then LGMS_DATA_DIR, then the fallback, and creates it', () => {
    const a = path.join(tmp.dir, 'a');
    const b = path.join(tmp.dir, 'b');
    const c = path.join(tmp.dir, 'c');
    expect(resolveDataDir(['--data-dir', a], { LGMS_DATA_DIR: b }, c)).toBe(a);
    expect(resolveDataDir([`--data-dir=${a}`], {}, c)).toBe(a);
    expect(resolveDataDir([], { LGMS_DATA_DIR: b }, c)).toBe(b);
    expect(resolveDataDir([], {}, c)).toBe(c);
  });

  it("matches Electron's userData location per platform", () => {
    expect(defaultUserDataDir('linux', { XDG_CONFIG_HOME: '/x' })).toBe('/x/LGMS Workstation');
    expect(defaultUserDataDir('darwin', {})).toMatch(/Library\/Application Support\/LGMS Workstation$/);
    expect(defaultUserDataDir('win32', { APPDATA: 'C:\\Users\\u\\AppData\\Roaming' })).toContain('LGMS Workstation');
  });

  it.skipIf(process.platform === 'win32' && 'POSIX modes')(
    'creates the data folder 0700 and its database 0600, whatever the umask',
    () => {
      const previous = process.umask(0o022);
      try {
        const dir = resolveDataDir([], {}, path.join(tmp.dir, 'fresh'));
        expect(mode(dir)).toBe(0o700);
        const backend = createBackend({ dataDir: dir, transport: 'http', inference: false });
        try {
          for (const name of readdirSync(dir).filter((n) => n.startsWith('lgms.sqlite')))
            expect(mode(path.join(dir, name)), name).toBe(0o600);
          expect(mode(path.join(dir, 'store'))).toBe(0o700);
        } finally {
          backend.close();
        }
      } finally {
        process.umask(previous);
      }
    },
  );

  it.skipIf(process.platform === 'win32' && 'POSIX modes')(
    'tightens a folder an earlier version left readable by others, and says so',
    () => {
      const dir = path.join(tmp.dir, 'old');
      mkdirSync(dir);
      chmodSync(dir, 0o755);
      writeFileSync(path.join(dir, 'lgms.sqlite'), '');
      chmodSync(path.join(dir, 'lgms.sqlite'), 0o644);
      const note = ensurePrivateDataDir(dir);
      expect(note).toMatch(
        /Other users of this computer could read the data folder .* \(the folder was 0755, lgms.sqlite was 0644\); it is now private to you/,
      );
      expect(mode(dir)).toBe(0o700);
      expect(mode(path.join(dir, 'lgms.sqlite'))).toBe(0o600);
      expect(ensurePrivateDataDir(dir)).toBeNull(); // nothing more to say the next time
    },
  );

  it.skipIf(process.platform === 'win32' && 'POSIX modes')('leaves a folder that holds other files as it is, and warns', () => {
    const dir = path.join(tmp.dir, 'home-like');
    mkdirSync(dir);
    chmodSync(dir, 0o755);
    writeFileSync(path.join(dir, 'notes.txt'), '');
    chmodSync(path.join(dir, 'notes.txt'), 0o644);
    expect(ensurePrivateDataDir(dir)).toMatch(/holds other files too, so it was left as it is/);
    expect(mode(dir)).toBe(0o755);
    expect(mode(path.join(dir, 'notes.txt'))).toBe(0o644);
  });
});
