// PACS passwords and tokens sealed with Electron's safeStorage (Keychain on macOS, DPAPI on
// Windows, the Secret Service / kwallet on Linux) where the OS offers it; the backend's plain
// FILE_ONLY box otherwise, which the Settings view reports as "protected by file permissions".
import { safeStorage } from 'electron';
import { FILE_ONLY, type SecretBox } from '../dicomweb/endpoints';

export function osSecretBox(): SecretBox {
  // On Linux without a keyring, Electron falls back to a hard-coded key ('basic_text'): no better than a file.
  const linuxBasic = process.platform === 'linux' && safeStorage.getSelectedStorageBackend?.() === 'basic_text';
  if (!safeStorage.isEncryptionAvailable() || linuxBasic) return FILE_ONLY;
  return {
    protection: 'os',
    seal: (secret) => safeStorage.encryptString(secret).toString('base64'),
    open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
  };
}
