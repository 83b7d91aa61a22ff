// PACS passwords and tokens sealed with Electron's safeStorage (Keychain on macOS, DPAPI on
// Windows, the Secret Service / kwallet on Linux) where the OS offers it; the backend's plain
// FILE_ONLY box otherwise, which the Settings view reports as "protected by file permissions",
// with the reason. The sealed form is kept in the data folder's secrets file, never the database.
import { safeStorage } from 'electron';
import { FILE_ONLY, type SecretBox } from '../dicomweb/endpoints';

export function osSecretBox(): SecretBox {
  // On Linux without a keyring Electron falls back to a hard-coded key ('basic_text'): that is no
  // protection, so it is not called one.
  const backend = process.platform === 'linux' ? safeStorage.getSelectedStorageBackend?.() : undefined;
  if (backend === 'basic_text' || backend === 'unknown')
    return {
      ...FILE_ONLY,
      note: 'this Linux desktop offers no keyring (GNOME Keyring or KWallet through the Secret Service), so the system cannot encrypt it; the secrets file is readable by your user only',
    };
  if (!safeStorage.isEncryptionAvailable())
    return { ...FILE_ONLY, note: "the system's keychain is not available, so the secrets file is readable by your user only" };
  return {
    protection: 'os',
    seal: (secret) => safeStorage.encryptString(secret).toString('base64'),
    open: (sealed) => safeStorage.decryptString(Buffer.from(sealed, 'base64')),
  };
}
