// The Electron binary cannot run in these tests: safeStorage is replaced by a stand-in that
// answers as Electron documents it does on a Linux desktop without a keyring ('basic_text').
import { beforeEach, describe, expect, it, vi } from 'vitest';

const safeStorage = {
  backend: 'basic_text',
  available: true,
  getSelectedStorageBackend: () => safeStorage.backend,
  isEncryptionAvailable: () => safeStorage.available,
  encryptString: (s: string) => Buffer.from(`enc:${s}`),
  decryptString: (b: Buffer) => b.toString().slice(4),
};
vi.mock('electron', () => ({ safeStorage }));

const { osSecretBox } = await import('./secrets');

describe.skipIf(process.platform !== 'linux')('the desktop secret box on Linux', () => {
  beforeEach(() => {
    safeStorage.backend = 'basic_text';
    safeStorage.available = true;
  });

  it("does not call Electron's basic_text fallback protection, and says why in Settings", () => {
    const box = osSecretBox();
    expect(box.protection).toBe('file');
    expect(box.note).toMatch(/no keyring/);
    expect(box.seal('pw')).toBe('pw');
  });

  it('uses the keyring where there is one', () => {
    safeStorage.backend = 'gnome_libsecret';
    const box = osSecretBox();
    expect(box.protection).toBe('os');
    expect(box.note).toBeUndefined();
    expect(box.open(box.seal('pw'))).toBe('pw');
  });
});
