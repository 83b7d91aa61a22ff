// Where the trainer runs (issue 26): a child process on this workstation, or a batch job on a
// Slurm cluster (slurm.ts). The training service stages the labels, builds the trainer's command
// line, reads its JSON-lines events, registers the candidate and runs the gate the same way for
// both; a launcher only starts the trainer, hands over its stdout lines, stops it, and says how
// it ended.
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';

/** What the training service asks a launcher to run. */
export interface TrainerJobSpec {
  runId: number;
  /** The interpreter with PyTorch (for a batch job: the cluster's, from its settings). */
  python: string;
  /** `-m lgms_trainer train …` with absolute paths of this workstation. */
  args: string[];
  /** resources/trainer (the folder holding the lgms_trainer package). */
  cwd: string;
  /** Extra environment for the trainer (tests pin OMP threads). */
  env?: NodeJS.ProcessEnv;
  /** The trainer's --out folder on this workstation: the candidate must be there when `ended` resolves with exit 0. */
  out: string;
}

/** A batch job as stored with its run (training_runs.cluster_job, migration 0200). */
export interface ClusterJobRef {
  scheduler: 'slurm';
  jobId: string;
  /** The job's folder in the shared folder, as this workstation sees it. */
  dir: string;
  /** This workstation asked to cancel it (a CANCELLED job then ends the run cancelled, not failed). */
  cancelRequested?: boolean;
}

/** How a trainer ended, in the terms of a child process, plus what the cluster said. */
export interface TrainerExit {
  /** The trainer's exit status (0 done, 130 cancelled by SIGTERM); null when killed by a signal or unknown. */
  code: number | null;
  signal: NodeJS.Signals | null;
  /** The last 4000 characters of its stderr. */
  stderr: string;
  /**
   * Set when a batch job ended for a reason of the cluster's rather than the trainer's own exit
   * (cancelled on the cluster, time limit, node failure, out of memory, job unknown): a sentence
   * a radiologist can read, naming the job and Slurm's state and reason. The run is failed.
   */
  failure?: string;
}

/** A running trainer. */
export interface TrainerJob {
  /** The local trainer's PID (stored with the run, cancel and recovery use it); null for a batch job. */
  readonly pid: number | null;
  /** The batch job (stored with the run); null for a local trainer. */
  readonly cluster: ClusterJobRef | null;
  /** Calls `listener` with each line the trainer printed on stdout, in order. */
  onLine(listener: (line: string) => void): void;
  /** Resolves once the trainer has ended and, for a batch job, its output is back on this workstation. */
  readonly ended: Promise<TrainerExit>;
  /** Asks the trainer to stop (SIGTERM: it stops at the next step and removes its temporary files). */
  cancel(): void;
  /** Stops following a batch job that goes on without this backend (it closes); absent for a local trainer. */
  detach?(): void;
}

export interface TrainerLauncher {
  readonly kind: 'local' | 'slurm';
  /** The interpreter this launcher runs (a cluster's); undefined = the local one the trainer probe finds. */
  readonly python?: string;
  /** Starts the trainer. Throws ServiceError('unavailable') with the cluster's words when it refuses the job. */
  start(spec: TrainerJobSpec): Promise<TrainerJob>;
  /** Follows a batch job found after a restart by its stored reference; `out` as in TrainerJobSpec. */
  attach?(ref: ClusterJobRef, out: string): TrainerJob;
}

/** The trainer as a child process of the backend (the behaviour before issue 26). */
export const localLauncher: TrainerLauncher = {
  kind: 'local',
  async start(spec) {
    const child = spawn(spec.python, spec.args, {
      cwd: spec.cwd,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...spec.env },
      windowsHide: true,
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4000)));
    const lines = createInterface({ input: child.stdout! });
    const ended = new Promise<TrainerExit>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
    return {
      pid: child.pid ?? null,
      cluster: null,
      onLine: (listener) => lines.on('line', listener),
      ended,
      cancel: () => {
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      },
    };
  },
};
