// The jobs a service runs in this process, kept until they settle, and how long quitting waits
// for them (backend.ts close).
import type { Job } from '../../shared/contract';

/** How long a service's close() waits for its jobs running now to stop before the database closes. */
export const CLOSE_WAIT_MS = 10_000;

/** Resolves once `work` has settled (resolved or rejected) or `ms` have passed, whichever is first. */
export async function settledWithin(work: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    work.then(
      () => undefined,
      () => undefined,
    ),
    new Promise((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

/** The runs of one service's jobs in this process, each kept until it settles. */
export class RunningJobs {
  private readonly runs = new Map<number, Promise<Job>>();

  /**
   * Keeps `run` until it settles either way: a run still going when the database closed (close()
   * waited no longer) fails there, and the next start marks its job interrupted.
   */
  track(jobId: number, run: Promise<Job>): void {
    this.runs.set(jobId, run);
    const forget = () => this.runs.delete(jobId);
    run.then(forget, forget);
  }

  /** The run of a job still going in this process; undefined once it has settled or elsewhere. */
  get(jobId: number): Promise<Job> | undefined {
    return this.runs.get(jobId);
  }

  /** Resolves once every run kept now has settled, or after `ms` (default CLOSE_WAIT_MS). */
  settled(ms = CLOSE_WAIT_MS): Promise<void> {
    return settledWithin(Promise.allSettled(this.runs.values()), ms);
  }
}
