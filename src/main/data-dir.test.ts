import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../tests/helpers/temp';
import { defaultUserDataDir, resolveDataDir } from './data-dir';

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
});
