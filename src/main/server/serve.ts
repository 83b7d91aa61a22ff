// `npm run serve`: the backend in plain Node, serving the renderer to a browser on this machine.
import path from 'node:path';
import { createBackend } from '../backend';
import { defaultUserDataDir, resolveDataDir } from '../data-dir';
import { appRoot } from '../paths';
import { startServer } from './server';

export async function serve(argv: readonly string[]): Promise<void> {
  const dataDir = resolveDataDir(argv, process.env, defaultUserDataDir());
  const portArg = argv.find((a) => a.startsWith('--port='))?.slice('--port='.length) ?? argv[argv.indexOf('--port') + 1];
  const port = argv.some((a) => a.startsWith('--port')) ? Number(portArg) : Number(process.env.LGMS_PORT ?? 0);
  const backend = createBackend({ dataDir, transport: 'http' });
  const server = await startServer({
    backend,
    rendererDir: process.env.LGMS_RENDERER_DIR ?? path.join(appRoot(), 'out', 'renderer'),
    port: Number.isFinite(port) ? port : 0,
  });
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    await server.close();
    await backend.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
  process.stdout.write(`LGMS Workstation (headless) — data folder: ${dataDir}\n`);
  process.stdout.write(`Open in a browser on this machine: ${server.url}\n`);
}
