// The trainer as a Slurm batch job (issue 26). Nothing of our own runs on the cluster but the
// trainer: the job's folder in the shared folder holds a copy of the lgms_trainer package, the
// staged labels and the parent model (every absolute path of the command line is copied there),
// the batch script, the trainer's stdout as a JSON-lines event file and its stderr. The backend
// submits with `sbatch`, follows the event file and the job's state (`scontrol show job`, then
// `sacct` once the controller forgot it) by polling — a shared folder gives no change
// notifications one can trust — cancels with `scancel`, and on success copies the candidate
// back to the run's own folder before the job folder is removed.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  cpSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { hostname } from 'node:os';
import path from 'node:path';
import type { SlurmCluster } from '../../shared/contract/settings';
import { ServiceError } from '../../shared/result';
import {
  localLauncher,
  type ClusterJobRef,
  type TrainerExit,
  type TrainerJob,
  type TrainerJobSpec,
  type TrainerLauncher,
} from './launcher';

/** States in which a job has not ended yet (Slurm's squeue(1) "JOB STATE CODES"). */
const ALIVE = new Set([
  'PENDING',
  'CONFIGURING',
  'RUNNING',
  'COMPLETING',
  'SUSPENDED',
  'REQUEUED',
  'REQUEUE_HOLD',
  'REQUEUE_FED',
  'RESIZING',
  'SIGNALING',
  'STAGE_OUT',
  'STOPPED',
  'RESV_DEL_HOLD',
]);

export interface SlurmOptions {
  /** How often the job's state and event file are read, in ms (default 2000). */
  pollMs?: number;
}

/** A job's end or progress as Slurm reports it. */
interface SlurmState {
  state: string;
  reason: string;
  exitCode: number | null;
  exitSignal: number | null;
}

export class SlurmLauncher implements TrainerLauncher {
  readonly kind = 'slurm';
  readonly python: string;
  private readonly pollMs: number;

  constructor(
    private readonly cluster: SlurmCluster,
    options: SlurmOptions = {},
  ) {
    this.python = cluster.python;
    this.pollMs = options.pollMs ?? 2000;
  }

  /**
   * Stages the job in the shared folder and submits it. Throws ServiceError('unavailable') when
   * the shared folder cannot be written or `sbatch` refuses (its own words are kept).
   */
  async start(spec: TrainerJobSpec): Promise<TrainerJob> {
    const shared = this.cluster.sharedFolder;
    if (!path.isAbsolute(shared) || !existsSync(shared))
      throw new ServiceError('unavailable', `The cluster's shared folder ${shared} cannot be reached from this workstation.`);
    const name = `lgms-${hostname().replace(/[^A-Za-z0-9_.-]/g, '_')}-run${spec.runId}-${randomBytes(4).toString('hex')}`;
    const dir = path.join(shared, name);
    try {
      mkdirSync(path.join(dir, 'in'), { recursive: true });
      cpSync(path.join(spec.cwd, 'lgms_trainer'), path.join(dir, 'trainer', 'lgms_trainer'), {
        recursive: true,
        filter: (src) => path.basename(src) !== '__pycache__',
      });
      // Every existing absolute path of the command line (staged labels, parent model, replay set, label map) is copied once.
      const copied = new Map<string, string>();
      const args = spec.args.map((arg, i) => {
        if (spec.args[i - 1] === '--out') return this.onCluster(path.join(dir, 'out'));
        if (!path.isAbsolute(arg) || !existsSync(arg)) return arg;
        let to = copied.get(arg);
        if (to === undefined) {
          to = path.join(dir, 'in', `${copied.size}-${path.basename(arg)}`);
          cpSync(arg, to, { recursive: true });
          copied.set(arg, to);
        }
        return this.onCluster(to);
      });
      writeFileSync(path.join(dir, 'job.sh'), this.script(spec, args, dir), { mode: 0o755 });
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw new ServiceError(
        'unavailable',
        `The fine-tuning job could not be written to the shared folder ${shared}: ${(e as Error).message}`,
      );
    }
    let jobId: string;
    try {
      const out = await this.command('sbatch', ['--parsable', this.onCluster(path.join(dir, 'job.sh'))]);
      jobId = out.trim().split(';')[0]!.trim();
      if (!/^\d+(_\d+)?$/.test(jobId)) throw new Error(`sbatch answered "${out.trim()}"`);
    } catch (e) {
      rmSync(dir, { recursive: true, force: true });
      throw new ServiceError('unavailable', `The cluster refused the fine-tuning job: ${(e as Error).message}`);
    }
    return this.attach({ scheduler: 'slurm', jobId, dir }, spec.out);
  }

  /**
   * Follows a submitted job (also one found after a restart by the id stored with its run) until
   * it ends; events already in its event file are read again from the start.
   */
  attach(ref: ClusterJobRef, out: string): TrainerJob {
    const listeners: ((line: string) => void)[] = [];
    const pending: string[] = [];
    let offset = 0;
    let partial = '';
    let detached = false;
    const events = path.join(ref.dir, 'events.jsonl');
    let printed = false;
    const emit = (line: string) => {
      printed = true;
      if (listeners.length === 0) pending.push(line);
      else for (const l of listeners) l(line);
    };
    const readEvents = (final: boolean) => {
      if (!existsSync(events)) return;
      const fd = openSync(events, 'r');
      try {
        const size = statSync(events).size;
        if (size > offset) {
          const buf = Buffer.alloc(size - offset);
          const n = readSync(fd, buf, 0, buf.length, offset);
          offset += n;
          partial += buf.subarray(0, n).toString('utf8');
        }
      } finally {
        closeSync(fd);
      }
      const lines = partial.split('\n');
      partial = final ? '' : lines.pop()!;
      for (const line of lines) if (line.trim()) emit(line);
    };
    const job: TrainerJob & { cluster: ClusterJobRef } = {
      pid: null,
      cluster: ref,
      onLine: (listener) => {
        listeners.push(listener);
        for (const line of pending.splice(0)) listener(line);
      },
      ended: (async (): Promise<TrainerExit> => {
        let state: SlurmState | null = null;
        for (;;) {
          await sleep(this.pollMs);
          // The backend closed: the job goes on, and the next start follows it (never resolves here).
          if (detached) return new Promise<TrainerExit>(() => {});
          readEvents(false);
          const now = await this.state(ref.jobId).catch(() => 'transient' as const);
          if (now === 'transient') continue; // the controller did not answer: ask again
          if (detached) return new Promise<TrainerExit>(() => {}); // closed while asking: the next start concludes it
          state = now;
          if (state === null || !ALIVE.has(state.state)) break;
        }
        readEvents(true);
        const stderr = tail(path.join(ref.dir, 'trainer.err'));
        const exit = this.exitOf(ref, state, stderr, existsSync(path.join(ref.dir, 'out', 'model.json')), printed);
        try {
          if (exit.code === 0 && exit.failure === undefined) bringBack(path.join(ref.dir, 'out'), out);
        } finally {
          rmSync(ref.dir, { recursive: true, force: true });
        }
        return exit;
      })(),
      cancel: () => {
        ref.cancelRequested = true;
        this.command('scancel', [ref.jobId]).catch(() => {
          /* already ended: the poll sees its end */
        });
      },
      detach: () => {
        detached = true;
      },
    };
    return job;
  }

  /** The job's state: `scontrol show job`, then `sacct` once the controller forgot it; null when neither knows it. */
  private async state(jobId: string): Promise<SlurmState | null> {
    let text: string;
    try {
      text = await this.command('scontrol', ['show', 'job', '-o', jobId]);
    } catch (e) {
      if (!/invalid job id/i.test((e as Error).message)) throw e;
      try {
        const line = (await this.command('sacct', ['-n', '-P', '-X', '-j', jobId, '-o', 'State,Reason,ExitCode']))
          .trim()
          .split('\n')[0];
        if (!line) return null;
        const [state = '', reason = '', exit = ''] = line.split('|');
        const [code, signal] = exit.split(':').map(Number);
        return { state: state.split(' ')[0]!, reason, exitCode: code ?? null, exitSignal: signal ?? null };
      } catch {
        return null;
      }
    }
    const field = (key: string) => new RegExp(`(?:^|\\s)${key}=(\\S+)`).exec(text)?.[1] ?? '';
    const [code, signal] = field('ExitCode').split(':').map(Number);
    return { state: field('JobState'), reason: field('Reason'), exitCode: code ?? null, exitSignal: signal ?? null };
  }

  /** Slurm's end of a job in the terms of a child process; `failure` when the cluster, not the trainer, ended it. */
  private exitOf(ref: ClusterJobRef, s: SlurmState | null, stderr: string, committed: boolean, started: boolean): TrainerExit {
    const job = `Slurm job ${ref.jobId}`;
    const last = stderr.trim().split('\n').at(-1);
    const said = last ? ` Its last message: ${last}` : '';
    if (s === null) {
      // Ended while nobody watched and forgotten since: its files tell whether it finished.
      if (committed) return { code: 0, signal: null, stderr };
      return {
        code: null,
        signal: null,
        stderr,
        failure: `The cluster no longer knows ${job}; it ended without a finished model.${said}`,
      };
    }
    const reason = s.reason && s.reason !== 'None' ? `, reason ${s.reason}` : '';
    switch (s.state) {
      case 'COMPLETED':
      case 'FAILED':
        // The trainer's own exit: the training service reads its events and stderr as for a local run.
        if (s.state === 'FAILED' && !started)
          return {
            code: s.exitCode,
            signal: null,
            stderr,
            failure: `${job} failed before the trainer started on the cluster (exit code ${s.exitCode}): do its nodes see the shared folder, and is "${this.cluster.python}" a Python with PyTorch there?${said}`,
          };
        if (s.exitSignal)
          return {
            code: null,
            signal: null,
            stderr,
            failure: `${job} was stopped by signal ${s.exitSignal} on the cluster (${s.state}${reason}).${said}`,
          };
        return { code: s.exitCode, signal: null, stderr };
      case 'CANCELLED':
        if (ref.cancelRequested) return { code: 130, signal: null, stderr };
        return {
          code: null,
          signal: null,
          stderr,
          failure: `${job} was cancelled on the cluster, not from this workstation (CANCELLED${reason}).`,
        };
      case 'TIMEOUT':
        return {
          code: null,
          signal: null,
          stderr,
          failure: `${job} reached its time limit on the cluster before it finished (TIMEOUT${reason}).`,
        };
      case 'OUT_OF_MEMORY':
        return { code: null, signal: null, stderr, failure: `${job} ran out of memory on the cluster (OUT_OF_MEMORY${reason}).` };
      case 'NODE_FAIL':
        return { code: null, signal: null, stderr, failure: `The cluster node running ${job} failed (NODE_FAIL${reason}).` };
      case 'PREEMPTED':
        return {
          code: null,
          signal: null,
          stderr,
          failure: `${job} was preempted by another job on the cluster (PREEMPTED${reason}).`,
        };
      default:
        return {
          code: null,
          signal: null,
          stderr,
          failure: `${job} ended as ${s.state || 'unknown'} on the cluster${reason ? ` (${reason.slice(2)})` : ''}.${said}`,
        };
    }
  }

  private script(spec: TrainerJobSpec, args: string[], dir: string): string {
    const c = (p: string) => quote(this.onCluster(path.join(dir, p)));
    const opt = (s: string) => `#SBATCH ${s}`;
    const env = Object.entries(spec.env ?? {}).filter(([k, v]) => v !== undefined && /^[A-Za-z_][A-Za-z0-9_]*$/.test(k));
    return [
      '#!/bin/bash',
      `# LGMS Workstation fine-tune, run ${spec.runId} of ${hostname()}. Written by the workstation; removed when the run has ended.`,
      opt(`--job-name=lgms-finetune-run${spec.runId}`),
      opt(`--output=${c('events.jsonl')}`),
      opt(`--error=${c('trainer.err')}`),
      opt(`--chdir=${c('trainer')}`),
      ...(this.cluster.partition ? [opt(`--partition=${this.cluster.partition}`)] : []),
      ...(this.cluster.gres ? [opt(`--gres=${this.cluster.gres}`)] : []),
      ...(this.cluster.timeLimitMinutes > 0 ? [opt(`--time=${this.cluster.timeLimitMinutes}`)] : []),
      'export PYTHONDONTWRITEBYTECODE=1',
      ...env.map(([k, v]) => `export ${k}=${quote(v!)}`),
      `exec ${[this.cluster.python, ...args].map(quote).join(' ')}`,
      '',
    ].join('\n');
  }

  /** A path of the shared folder as the cluster's nodes see it. */
  private onCluster(p: string): string {
    const from = this.cluster.sharedFolder;
    const to = this.cluster.clusterFolder;
    if (!to) return p;
    return path.posix.join(to, ...path.relative(from, p).split(path.sep));
  }

  /** Runs a Slurm command here or through `submitCommand`; rejects with its stderr's last line. */
  private command(name: string, args: string[]): Promise<string> {
    const prefix = this.cluster.submitCommand;
    // Through ssh the words are joined into a remote shell's command line: quote them.
    const [file, ...argv] = prefix.length > 0 ? [...prefix, [name, ...args].map(quote).join(' ')] : [name, ...args];
    return new Promise((resolve, reject) =>
      execFile(file!, argv, { timeout: 60_000, encoding: 'utf8', windowsHide: true }, (error, stdout, stderr) => {
        if (error) reject(new Error(stderr.trim().split('\n').at(-1) || error.message));
        else resolve(stdout);
      }),
    );
  }
}

/** Copies the committed candidate from the job's folder to the run's own folder (whole or not at all). */
function bringBack(from: string, to: string): void {
  const tmp = `${to}.tmp-${randomBytes(4).toString('hex')}`;
  try {
    cpSync(from, tmp, { recursive: true });
    rmSync(to, { recursive: true, force: true });
    mkdirSync(path.dirname(to), { recursive: true });
    renameSync(tmp, to);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').slice(-4000);
  } catch {
    return '';
  }
}

function quote(s: string): string {
  return /^[A-Za-z0-9_./:=+@%,-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** The launcher for Settings → Slurm cluster: a batch job when one is named, else the local trainer. */
export function trainerLauncher(cluster: SlurmCluster | null): TrainerLauncher {
  return cluster ? new SlurmLauncher(cluster) : localLauncher;
}
