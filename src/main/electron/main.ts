// The Electron shell: one window on the shared backend, every contract method bound to IPC with
// a sender check, every backend event forwarded. Kept thin: all logic lives in the backend.
import { app, BrowserWindow, dialog, ipcMain, net, protocol, type IpcMainInvokeEvent } from 'electron';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CONTENT_SECURITY_POLICY } from '../../shared/csp';
import { IPC_EVENT, IPC_INVOKE } from '../../shared/contract/bridge';
import { fail } from '../../shared/result';
import { createBackend, type Backend } from '../backend';
import { resolveDataDir } from '../data-dir';
import { APP_SCHEME, isRendererUrl, rendererEntry, resolveAppFile } from './renderer-url';
import { hardenSessions } from './security';
import { osSecretBox } from './secrets';

const here = path.dirname(fileURLToPath(import.meta.url));
const rendererRoot = path.join(here, '../renderer');
const entry = rendererEntry({ isPackaged: app.isPackaged, devUrl: process.env.ELECTRON_RENDERER_URL });
if (entry.ignored) console.warn(entry.ignored);
const rendererUrl = entry.url;

// The renderer is served from app://renderer/, a standard secure scheme (its own origin, so CSP
// 'self', fetch and module workers behave as on https), never from file://. Must precede 'ready'.
protocol.registerSchemesAsPrivileged([
  { scheme: APP_SCHEME, privileges: { standard: true, secure: true, supportFetchAPI: true } },
]);

/** Answers app:// requests with the renderer's own files only, each with the CSP header. */
function serveRenderer(): void {
  protocol.handle(APP_SCHEME, async (request) => {
    const file = resolveAppFile(request.url, rendererRoot);
    if (!file) return new Response('not found', { status: 404 });
    const response = await net.fetch(pathToFileURL(file).href).catch(() => null);
    if (!response) return new Response('not found', { status: 404 });
    const headers = new Headers(response.headers);
    headers.set('Content-Security-Policy', CONTENT_SECURITY_POLICY);
    return new Response(response.body, { status: response.status, headers });
  });
}

let backend: Backend | undefined;
let win: BrowserWindow | undefined;

/** Only our own top-level page may call the backend. */
function fromOurFrame(event: IpcMainInvokeEvent): boolean {
  const frame = event.senderFrame;
  if (!frame || frame.parent !== null || !win || event.sender !== win.webContents) return false;
  return isRendererUrl(frame.url, rendererUrl);
}

function createWindow(): void {
  win = new BrowserWindow({
    width: 1440,
    height: 900,
    minWidth: 960,
    minHeight: 600,
    show: false,
    backgroundColor: '#0b0d10',
    title: 'LGMS Workstation',
    webPreferences: {
      preload: path.join(here, '../preload/index.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
    },
  });
  win.once('ready-to-show', () => win?.show());
  win.on('closed', () => (win = undefined));
  void win.loadURL(rendererUrl.href);
}

// A packaged app keeps models and the trainer outside the asar, in its resources folder.
if (app.isPackaged) process.env.LGMS_RESOURCES_DIR ??= process.resourcesPath;

void app.whenReady().then(() => {
  hardenSessions();
  serveRenderer();
  const dataDir = resolveDataDir(process.argv, process.env, app.getPath('userData'));
  const sqliteBinding = process.env.LGMS_SQLITE_BINDING;
  // The desktop's picker joins the contract as system.pickPaths, answered by this host.
  const pickPaths = async (kind: 'folder' | 'files'): Promise<string[]> => {
    if (!win) return [];
    const result = await dialog.showOpenDialog(win, {
      title: 'Import studies',
      properties: kind === 'files' ? ['openFile', 'multiSelections'] : ['openDirectory'],
    });
    return result.canceled ? [] : result.filePaths;
  };
  backend = createBackend({
    dataDir,
    transport: 'electron',
    secrets: osSecretBox(),
    host: { pickPaths },
    ...(sqliteBinding ? { sqliteBinding } : {}),
  });
  const b = backend;
  ipcMain.handle(IPC_INVOKE, (event, service: unknown, method: unknown, input: unknown) =>
    fromOurFrame(event) ? b.dispatch(service, method, input) : fail('unauthorized', 'IPC from an unknown frame'),
  );
  b.events.onAny((name, payload) => win?.webContents.send(IPC_EVENT, name, payload));
  createWindow();
  app.on('activate', () => BrowserWindow.getAllWindows().length === 0 && createWindow());
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
// The backend closes before the process ends: the inference worker's last replies still write to
// the database until it has stopped (backend.ts close), so quitting waits for that once.
let closing: Promise<void> | undefined;
let closed = false;
app.on('will-quit', (event) => {
  if (!backend || closed) return;
  event.preventDefault();
  closing ??= backend
    .close()
    .catch((e: unknown) => console.error(`[quit] ${e instanceof Error ? e.message : String(e)}`))
    .then(() => {
      closed = true;
      app.quit();
    });
});
