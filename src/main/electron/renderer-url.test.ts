// Issue 23 item 9: the window's page and the app:// scheme's files, decided in plain Node (the
// Electron binary cannot start here; main.ts only wires these functions to Electron).
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { APP_ENTRY, isRendererUrl, rendererEntry, resolveAppFile } from './renderer-url';

describe('rendererEntry', () => {
  it('loads only its own files when packaged, whatever ELECTRON_RENDERER_URL says', () => {
    expect(rendererEntry({ isPackaged: true }).url.href).toBe('app://renderer/index.html');
    const packaged = rendererEntry({ isPackaged: true, devUrl: 'http://localhost:5173' });
    expect(packaged.url).toBe(APP_ENTRY);
    expect(packaged.ignored).toMatch(/packaged app loads only its own files/);
  });

  it('uses the dev server when unpackaged, on this machine only', () => {
    expect(rendererEntry({ isPackaged: false, devUrl: 'http://localhost:5173/' }).url.href).toBe('http://localhost:5173/');
    expect(rendererEntry({ isPackaged: false, devUrl: 'http://127.0.0.1:5173' }).ignored).toBeUndefined();
    for (const devUrl of ['https://evil.example/', 'file:///tmp/x.html', 'javascript:alert(1)', 'not a url'])
      expect(rendererEntry({ isPackaged: false, devUrl })).toMatchObject({
        url: APP_ENTRY,
        ignored: expect.stringContaining('ELECTRON_RENDERER_URL'),
      });
    expect(rendererEntry({ isPackaged: false, devUrl: '' })).toEqual({ url: APP_ENTRY });
  });
});

describe('isRendererUrl', () => {
  it('accepts the app page in any case of host, and nothing else', () => {
    expect(isRendererUrl('app://renderer/index.html', APP_ENTRY)).toBe(true);
    expect(isRendererUrl('app://RENDERER/index.html#x', APP_ENTRY)).toBe(true);
    expect(isRendererUrl('app://other/index.html', APP_ENTRY)).toBe(false);
    expect(isRendererUrl('file:///renderer/index.html', APP_ENTRY)).toBe(false);
    expect(isRendererUrl('about:blank', APP_ENTRY)).toBe(false);
    expect(isRendererUrl('', APP_ENTRY)).toBe(false);
    const dev = new URL('http://localhost:5173/');
    expect(isRendererUrl('http://localhost:5173/index.html', dev)).toBe(true);
    expect(isRendererUrl('http://localhost:5174/', dev)).toBe(false);
  });
});

describe('resolveAppFile', () => {
  const root = path.resolve('/opt/lgms/out/renderer');

  it('maps app:// paths to files inside the renderer folder', () => {
    expect(resolveAppFile('app://renderer/index.html', root)).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile('app://renderer/', root)).toBe(path.join(root, 'index.html'));
    expect(resolveAppFile('app://renderer/assets/index-a1b2.js?v=1#top', root)).toBe(path.join(root, 'assets', 'index-a1b2.js'));
    expect(resolveAppFile('app://renderer/assets/name%20with%20space.wasm', root)).toBe(
      path.join(root, 'assets', 'name with space.wasm'),
    );
    // The URL parser resolves dot segments before we see them: this stays inside.
    expect(resolveAppFile('app://renderer/assets/../index.html', root)).toBe(path.join(root, 'index.html'));
    // An absolute path is read inside the folder, never from the disk's root.
    expect(resolveAppFile('app://renderer/%2Fetc%2Fpasswd', root)).toBe(path.join(root, 'etc', 'passwd'));
    expect(resolveAppFile('app://renderer//etc/passwd', root)).toBe(path.join(root, 'etc', 'passwd'));
  });

  it('refuses every way out of the renderer folder, and other schemes and hosts', () => {
    for (const url of [
      'app://renderer/..%2F..%2Fetc%2Fpasswd',
      'app://renderer/%2e%2e%2f%2e%2e%2fetc/passwd',
      'app://renderer/assets%2F..%2F..%2Fsecret',
      'app://renderer/..%5C..%5Cwindows',
      'app://renderer/C:%5Cwindows',
      'app://renderer/C:/windows',
      'app://renderer/index.html%00.png',
      'app://renderer/%E0%A4%A',
      'app://other/index.html',
      'file:///opt/lgms/out/renderer/index.html',
      'http://renderer/index.html',
      'not a url',
    ])
      expect(resolveAppFile(url, root), url).toBeNull();
  });
});
