// One tracked process: its open /proc descriptors and the counters the tree totals are built from.
import { READ_GONE, SCRATCH, preadProc, readText, type ProcStat } from './procfs.js';

// Counter slots. CPU in clock ticks, the rest in bytes / faults.
export const CPU = 0;
export const RCHAR = 1;
export const WCHAR = 2;
export const RBYTES = 3;
export const WBYTES = 4;
export const MINFLT = 5;
export const MAJFLT = 6;
export const NC = 7;

export interface Member {
  pid: number;
  starttime: number;
  statFd: number;
  /** -1: no descriptor (denied or never opened): I/O counts as 0 for this member. */
  ioFd: number;
  /** /proc/PID/schedstat: the main thread's run time, to skip processes that have not run. */
  schedFd: number;
  runtime: number;
  cmdlineRetries: number;
  comm: string;
  command: string;
  ppid: number;
  netns: string;
  /** An exited, unreaped process: still holds counters, no longer listed. */
  zombie: boolean;
  /** The process's own cumulative values (CPU = utime+stime, faults own), for its per-process metrics. */
  own: Float64Array;
  /** What it contributes to S (includes reaped children when following the tree). */
  full: Float64Array;
  /** Per-process baseline subtracted from `own` (and from I/O). */
  base: Float64Array;
  prevOwnCpu: number;
  rssPages: number;
  vsize: number;
  threads: number;
  processor: number;
}

export function isDead(st: ProcStat): boolean {
  // A zombie leader with live threads (it called pthread_exit) still runs: only a lone Z/X is dead.
  return (st.state === 'Z' || st.state === 'X') && st.numThreads <= 1;
}

/** First field of schedstat (ns on CPU); 'gone' after exit; null if unreadable. */
export function readRuntime(fd: number): number | 'gone' | null {
  const n = preadProc(fd);
  if (n === READ_GONE) return 'gone';
  if (n <= 0) return null;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const c = SCRATCH[i]!;
    if (c < 0x30 || c > 0x39) break;
    v = v * 10 + (c - 0x30);
  }
  return v;
}

export function ignoresSigchld(pid: number, root: string): boolean {
  const status = readText(`${root}/${pid}/status`);
  const hex = status === null ? null : /^SigIgn:\s*([0-9a-f]+)/m.exec(status)?.[1];
  // SIGCHLD is signal 17: bit 16 of the mask.
  return hex ? (parseInt(hex.slice(-8), 16) & (1 << 16)) !== 0 : false;
}

