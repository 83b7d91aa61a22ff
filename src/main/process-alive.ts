// Whether the process that wrote a leftover (an import's pack, an export's staging folder) is
// still running, so a sweep at start-up removes only what a dead process left behind.
import { readFileSync } from 'node:fs';

/**
 * True when `pid` names a running process that may still be writing what it started at
 * `startedAtMs` (ms since the epoch; omit when unknown). A zombie (killed, not yet reaped by its
 * parent: a shell or script that sent `kill -9` and has not waited) is dead: it writes nothing
 * more. On Linux a process that started after `startedAtMs` holds a reused id and is another
 * process (proc(5): /proc/<pid>/stat fields 3 and 22, /proc/stat btime).
 */
export function isProcessAlive(pid: number, startedAtMs?: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false; // EPERM: alive, someone else's
  }
  const stat = linuxStat(pid);
  if (!stat) return true; // not Linux, or gone between the calls: assume it may still write
  if (stat.state === 'Z' || stat.state === 'X') return false;
  if (startedAtMs !== undefined && stat.startedAtMs !== null && stat.startedAtMs > startedAtMs + 2000) return false;
  return true;
}

// USER_HZ: the kernel reports process start times in these ticks; 100 on every Linux architecture
// Node runs on (getconf CLK_TCK).
const USER_HZ = 100;
let bootMs: number | null | undefined;

function linuxStat(pid: number): { state: string; startedAtMs: number | null } | null {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return null;
  }
  // The command name (field 2) is in parentheses and may hold spaces: fields 3… follow the last ')'.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[19]);
  if (bootMs === undefined) {
    try {
      const btime = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'))?.[1];
      bootMs = btime ? Number(btime) * 1000 : null;
    } catch {
      bootMs = null;
    }
  }
  return {
    state: fields[0] ?? '',
    startedAtMs: bootMs !== null && Number.isFinite(ticks) ? bootMs + (ticks * 1000) / USER_HZ : null,
  };
}

/**
 * Whether the process that owned a job or training run since `since` (ISO time) has gone, at
 * this process's start: an owner not recorded (a row from before owners were kept), this very
 * process (nothing of its own runs yet at its start, so the id was reused), or isProcessAlive
 * false. Work of another live process on the same data folder (the app while `lgms …` starts, or
 * the other way round) is then left alone.
 */
export function ownerGone(ownerPid: number | null, since: string | null): boolean {
  if (ownerPid === null || ownerPid === process.pid) return true;
  const at = since === null ? Number.NaN : Date.parse(since);
  return !isProcessAlive(ownerPid, Number.isFinite(at) ? at : undefined);
}
