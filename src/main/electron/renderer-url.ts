// Which page the desktop window loads, and which file an app:// request is answered with. Pure
// decisions (no `electron` import), so that plain Node tests them (renderer-url.test.ts): the
// Electron binary cannot start where the tests run. main.ts only wires them to Electron.
// Electron's security checklist §18: serve local files from a privileged custom scheme rather
// than file://, and never let a packaged app load what an environment variable points at.
import path from 'node:path';

export const APP_SCHEME = 'app';
/** The one host the scheme serves; any other host is refused. */
export const APP_HOST = 'renderer';
export const APP_ENTRY = new URL(`${APP_SCHEME}://${APP_HOST}/index.html`);

/** Hosts a development server may run on: loopback only, never the network. */
const LOOPBACK = new Set(['localhost', '127.0.0.1', '[::1]']);

/**
 * The renderer's entry. A packaged app loads only its own files (APP_ENTRY); an unpackaged one
 * (`npm run dev`) loads electron-vite's dev server when ELECTRON_RENDERER_URL names an http(s)
 * loopback address. `ignored` says why a given dev URL was not used, for the log.
 */
export function rendererEntry(options: { isPackaged: boolean; devUrl?: string | undefined }): { url: URL; ignored?: string } {
  const devUrl = options.devUrl?.trim();
  if (!devUrl) return { url: APP_ENTRY };
  if (options.isPackaged)
    return { url: APP_ENTRY, ignored: 'ELECTRON_RENDERER_URL is ignored: a packaged app loads only its own files' };
  let url: URL;
  try {
    url = new URL(devUrl);
  } catch {
    return { url: APP_ENTRY, ignored: `ELECTRON_RENDERER_URL "${devUrl}" is not a URL` };
  }
  if ((url.protocol !== 'http:' && url.protocol !== 'https:') || !LOOPBACK.has(url.hostname.toLowerCase()))
    return {
      url: APP_ENTRY,
      ignored: `ELECTRON_RENDERER_URL "${devUrl}" is not a development server on this machine (http://localhost:…)`,
    };
  return { url };
}

/**
 * Whether a frame's URL is the renderer's own page: the same scheme and host as the entry (for
 * the dev server, the same origin). Node gives a custom scheme no origin ("null") and keeps its
 * host's case, so both are compared by hand.
 */
export function isRendererUrl(frameUrl: string, entry: URL): boolean {
  let url: URL;
  try {
    url = new URL(frameUrl);
  } catch {
    return false;
  }
  return url.protocol === entry.protocol && url.host.toLowerCase() === entry.host.toLowerCase();
}

/**
 * The file inside `root` (the built renderer folder, absolute) that an app:// request asks for,
 * or null when it must be refused: another scheme or host, a path that is not valid percent
 * encoding, holds a NUL or a backslash, or resolves outside `root` ("..", an encoded "%2F..",
 * an absolute or drive path). "/" is the entry page. The caller answers null with 404.
 */
export function resolveAppFile(requestUrl: string, root: string): string | null {
  let url: URL;
  try {
    url = new URL(requestUrl);
  } catch {
    return null;
  }
  if (url.protocol !== `${APP_SCHEME}:` || url.host.toLowerCase() !== APP_HOST) return null;
  let decoded: string;
  try {
    decoded = decodeURIComponent(url.pathname);
  } catch {
    return null;
  }
  if (decoded.includes('\0') || decoded.includes('\\')) return null;
  const relative = decoded.replace(/^\/+/, '') || 'index.html';
  if (path.isAbsolute(relative) || /^[a-zA-Z]:/.test(relative)) return null;
  const file = path.resolve(root, relative);
  const inside = path.relative(root, file);
  if (!inside || inside === '..' || inside.startsWith(`..${path.sep}`) || path.isAbsolute(inside)) return null;
  return file;
}
