// A real Orthanc (Debian's orthanc + orthanc-dicomweb) for the DICOMweb tests, started in its
// own network namespace with only loopback up (`unshare -n`), so it binds nothing on the host.
// The test talks to it through two bridges: inside the namespace tests/helpers/unix-bridge.mjs
// forwards a Unix socket (a file both namespaces see) to Orthanc's port; outside, a TCP server
// on the host's 127.0.0.1 forwards to that socket. The app's DICOMweb client then uses a plain
// http://127.0.0.1:PORT URL, as it would with any PACS.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ORTHANC_BINARY = '/usr/sbin/Orthanc';
export const DICOMWEB_PLUGIN = '/usr/share/orthanc/plugins/libOrthancDicomWeb.so';

/** Why Orthanc cannot run here, or null when it can. */
export function orthancUnavailable(): string | null {
  if (!existsSync(ORTHANC_BINARY)) return 'Orthanc is not installed (apt-get install orthanc orthanc-dicomweb)';
  if (!existsSync(DICOMWEB_PLUGIN)) return 'the Orthanc DICOMweb plugin is not installed (apt-get install orthanc-dicomweb)';
  if (spawnSync('unshare', ['-n', 'true']).status !== 0)
    return 'unshare -n is not permitted here (needs root or user namespaces)';
  return null;
}

export interface Orthanc {
  /** http://127.0.0.1:PORT/dicom-web on the host. */
  dicomweb: string;
  /** http://127.0.0.1:PORT (Orthanc's REST API, for checks). */
  root: string;
  /** Kills Orthanc only (the bridges stay): requests in flight break off. */
  killServer(): void;
  /** Starts Orthanc again after killServer, in the same namespace and on the same storage; resolves once it answers. */
  restartServer(): Promise<void>;
  stop(): Promise<void>;
}

export async function startOrthanc(dir: string, options: { users?: Record<string, string> } = {}): Promise<Orthanc> {
  mkdirSync(path.join(dir, 'db'), { recursive: true });
  const config = path.join(dir, 'orthanc.json');
  writeFileSync(
    config,
    JSON.stringify({
      Name: 'LGMS-TEST',
      StorageDirectory: path.join(dir, 'db'),
      IndexDirectory: path.join(dir, 'db'),
      Plugins: [DICOMWEB_PLUGIN],
      HttpPort: 8042,
      DicomServerEnabled: false,
      RemoteAccessAllowed: true,
      AuthenticationEnabled: options.users !== undefined,
      RegisteredUsers: options.users ?? {},
      HttpCompressionEnabled: false,
      DicomWeb: { Enable: true, Root: '/dicom-web/', EnableWado: false },
    }),
  );
  const socket = path.join(dir, 'orthanc.sock');
  const pidFile = path.join(dir, 'orthanc.pid');
  const bridge = fileURLToPath(new URL('./unix-bridge.mjs', import.meta.url));
  const script = `ip link set lo up && { ${ORTHANC_BINARY} ${config} >${path.join(dir, 'orthanc.log')} 2>&1 & echo $! >${pidFile}; } && exec ${process.execPath} ${bridge} ${socket} 8042`;
  const ns: ChildProcess = spawn('unshare', ['-n', 'sh', '-c', script], { stdio: 'ignore', detached: true });
  const server = net.createServer((client) => {
    const upstream = net.connect({ path: socket });
    client.pipe(upstream).pipe(client);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const root = `http://127.0.0.1:${port}`;
  const authorization = options.users
    ? { Authorization: `Basic ${Buffer.from(Object.entries(options.users)[0]!.join(':')).toString('base64')}` }
    : undefined;
  const waitUp = async () => {
    const deadline = Date.now() + 30_000;
    for (;;) {
      try {
        const r = await fetch(`${root}/system`, { headers: authorization, signal: AbortSignal.timeout(2000) });
        if (r.ok) return;
      } catch {
        // not up yet
      }
      if (Date.now() > deadline)
        throw new Error(`Orthanc did not start: ${readFileSync(path.join(dir, 'orthanc.log'), 'utf8').slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  };
  await waitUp();
  let orthancPid = Number(readFileSync(pidFile, 'utf8'));
  return {
    dicomweb: `${root}/dicom-web`,
    root,
    killServer: () => {
      try {
        process.kill(orthancPid, 'SIGKILL');
      } catch {
        // already gone
      }
    },
    restartServer: async () => {
      // The bridge process (ns.pid) lives in the namespace: Orthanc joins it there.
      const started = spawnSync('nsenter', [
        '-t',
        String(ns.pid),
        '-n',
        'sh',
        '-c',
        `{ ${ORTHANC_BINARY} ${config} >>${path.join(dir, 'orthanc.log')} 2>&1 & echo $! >${pidFile}; }`,
      ]);
      if (started.status !== 0) throw new Error(`Orthanc did not restart: ${String(started.stderr)}`);
      orthancPid = Number(readFileSync(pidFile, 'utf8'));
      await waitUp();
    },
    stop: async () => {
      try {
        process.kill(orthancPid, 'SIGKILL');
      } catch {
        // already gone
      }
      try {
        process.kill(-ns.pid!, 'SIGKILL');
      } catch {
        // already gone
      }
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
