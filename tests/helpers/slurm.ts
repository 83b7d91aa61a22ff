// A real single-node Slurm cluster for the tests (Debian's slurmctld, slurmd and munge): its own
// munge key, slurm.conf, state and spool in a temp folder, both daemons on free loopback ports,
// one node (this machine) in one partition. The daemons run as root (Slurm runs jobs as the
// submitting user, here root too); where that or a binary is missing, `reason` says why.
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { cpus, hostname } from 'node:os';
import path from 'node:path';
import { tempDir } from './temp';

export interface TestSlurm {
  /** Why Slurm cannot start here; '' when it runs. */
  reason: string;
  /** SLURM_CONF for the sbatch/scontrol/scancel commands. */
  conf: string;
  /** A folder both sides see (the "shared folder"). */
  shared: string;
  /** The daemons' logs (for a failing test's message). */
  logs(): string;
  /** Stops the daemons and removes the folder. */
  stop(): Promise<void>;
}

const BINARIES = [
  '/usr/sbin/munged',
  '/usr/sbin/slurmctld',
  '/usr/sbin/slurmd',
  '/usr/bin/sbatch',
  '/usr/bin/scontrol',
  '/usr/bin/scancel',
  '/usr/bin/sinfo',
];

/** Starts munged, slurmctld and slurmd and waits until the node is idle (at most `timeoutMs`). */
export async function startSlurm(timeoutMs = 60_000): Promise<TestSlurm> {
  const missing = BINARIES.find((b) => !existsSync(b));
  const none: TestSlurm = { reason: '', conf: '', shared: '', logs: () => '', stop: async () => {} };
  if (missing) return { ...none, reason: `${missing} is missing (apt-get install slurmctld slurmd slurm-client munge)` };
  if (process.getuid?.() !== 0) return { ...none, reason: 'the test Slurm daemons must run as root (as in CI)' };
  const tmp = tempDir();
  const dir = tmp.dir;
  const children: ChildProcess[] = [];
  const stop = async () => {
    // slurmd first (it ends its job steps), then the controller, then munge.
    for (const child of children.reverse()) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      await Promise.race([gone, new Promise((r) => setTimeout(r, 10_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
    tmp.cleanup();
  };
  const logs = () =>
    ['munged.log', 'slurmctld.log', 'slurmd.log']
      .map((f) => path.join(dir, 'log', f))
      .filter((f) => existsSync(f))
      .map((f) => `--- ${path.basename(f)}\n${readFileSync(f, 'utf8').split('\n').slice(-15).join('\n')}`)
      .join('\n');
  try {
    for (const d of ['munge', 'state', 'spool', 'log', 'shared']) mkdirSync(path.join(dir, d), { recursive: true });
    chmodSync(path.join(dir, 'munge'), 0o711);
    const key = path.join(dir, 'munge', 'munge.key');
    writeFileSync(key, randomBytes(1024), { mode: 0o400 });
    const socket = path.join(dir, 'munge', 'munge.sock');
    children.push(
      spawn(
        '/usr/sbin/munged',
        [
          '-F',
          '-f',
          `--key-file=${key}`,
          `--socket=${socket}`,
          `--pid-file=${path.join(dir, 'munge', 'munged.pid')}`,
          `--log-file=${path.join(dir, 'log', 'munged.log')}`,
          `--seed-file=${path.join(dir, 'munge', 'seed')}`,
        ],
        { stdio: 'ignore' },
      ),
    );
    await waitFor(() => existsSync(socket), 10_000, 'munged did not create its socket');
    const [ctldPort, dPort] = [await freePort(), await freePort()];
    const host = hostname();
    const conf = path.join(dir, 'slurm.conf');
    writeFileSync(
      conf,
      [
        'ClusterName=lgmstest',
        `SlurmctldHost=${host}(127.0.0.1)`,
        `SlurmctldPort=${ctldPort}`,
        `SlurmdPort=${dPort}`,
        // Bind to the configured (loopback) addresses, not to every interface.
        'CommunicationParameters=NoCtldInAddrAny,NoInAddrAny',
        'SlurmUser=root',
        'SlurmdUser=root',
        'AuthType=auth/munge',
        'CredType=cred/munge',
        `AuthInfo=socket=${socket}`,
        `StateSaveLocation=${path.join(dir, 'state')}`,
        `SlurmdSpoolDir=${path.join(dir, 'spool')}`,
        `SlurmctldPidFile=${path.join(dir, 'slurmctld.pid')}`,
        `SlurmdPidFile=${path.join(dir, 'slurmd.pid')}`,
        `SlurmctldLogFile=${path.join(dir, 'log', 'slurmctld.log')}`,
        `SlurmdLogFile=${path.join(dir, 'log', 'slurmd.log')}`,
        'ProctrackType=proctrack/linuxproc',
        'TaskPlugin=task/none',
        'JobAcctGatherType=jobacct_gather/none',
        'AccountingStorageType=accounting_storage/none',
        'JobCompType=jobcomp/none',
        'MpiDefault=none',
        'SwitchType=switch/none',
        'SchedulerType=sched/builtin',
        'SelectType=select/cons_tres',
        'SelectTypeParameters=CR_CPU',
        'ReturnToService=2',
        // Ended jobs stay known to scontrol for 10 minutes (no accounting database here).
        'MinJobAge=600',
        'KillWait=10',
        `NodeName=lgmsnode NodeHostname=${host} NodeAddr=127.0.0.1 CPUs=${cpus().length} RealMemory=1000 State=UNKNOWN`,
        'PartitionName=debug Nodes=lgmsnode Default=YES MaxTime=INFINITE State=UP OverSubscribe=FORCE',
        '',
      ].join('\n'),
    );
    children.push(spawn('/usr/sbin/slurmctld', ['-D', '-i', '-f', conf], { stdio: 'ignore' }));
    children.push(spawn('/usr/sbin/slurmd', ['-D', '-f', conf, '-N', 'lgmsnode'], { stdio: 'ignore' }));
    const env = { ...process.env, SLURM_CONF: conf };
    await waitFor(
      async () => /^idle/.test((await run('/usr/bin/sinfo', ['-h', '-N', '-o', '%t'], env).catch(() => '')).trim()),
      timeoutMs,
      'the Slurm node did not become idle',
    );
    return { reason: '', conf, shared: path.join(dir, 'shared'), logs, stop };
  } catch (e) {
    const why = `${(e as Error).message}\n${logs()}`;
    await stop();
    return { ...none, reason: why.split('\n')[0]!, logs: () => why };
  }
}

function run(file: string, args: string[], env: NodeJS.ProcessEnv): Promise<string> {
  return new Promise((resolve, reject) =>
    execFile(file, args, { env, encoding: 'utf8', timeout: 10_000 }, (e, out, err) =>
      e ? reject(new Error(err || e.message)) : resolve(out),
    ),
  );
}

async function waitFor(ok: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await ok())) {
    if (Date.now() > end) throw new Error(`${what} within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
