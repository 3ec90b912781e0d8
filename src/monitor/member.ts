// One tracked process: its open /proc descriptors, the counters the tree totals are built from, and
// how one read of its stat (and io) updates them.
import { READ_GONE, SCRATCH, closeProc, preadProc } from './procfs-fd.js';
import { decimalAt, parseIoBuf, parseStatBuf, type ProcStat } from './procfs-parse.js';
import { readCmdline, readText } from './procfs.js';

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
  /** /proc/PID/schedstat: the main thread's run time, to skip processes that have not run; -1 if unreadable. */
  schedFd: number;
  /** Last run time read from schedFd, ns; -1 before the first read. */
  runtime: number;
  /** Reads left in which to retry an empty command line (set when exec had not yet set up argv). */
  cmdlineRetries: number;
  /** stat's comm when `command` was last refreshed: a change means an exec. */
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
  /** own[CPU] at the previous sample, for its per-process cpu_usage. */
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
  return decimalAt(SCRATCH, 0, n);
}

/** 'gone' when the process no longer exists; null when the read failed otherwise (keep old values). */
export function readStatFd(fd: number, out?: ProcStat): ProcStat | 'gone' | null {
  const n = preadProc(fd);
  if (n === READ_GONE) return 'gone';
  if (n <= 0) return null;
  return parseStatBuf(SCRATCH, n, out);
}

/**
 * Takes a fresh stat of `m` into its fields and counters, and re-reads its io. `subtree`: its `full`
 * counters include the children it reaped (cutime, cminflt, ...), as when following the tree.
 */
export function updateMember(m: Member, st: ProcStat, subtree: boolean, root: string): void {
  m.ppid = st.ppid;
  m.zombie = isDead(st);
  if (st.comm !== m.comm || (m.cmdlineRetries > 0 && !m.zombie)) {
    // exec changed the program: refresh the command line. Mid-exec the new argv may not be set up
    // yet (empty cmdline): then retry on the next few reads.
    m.comm = st.comm;
    const argv = readCmdline(m.pid, root);
    if (argv && argv.length > 0) {
      m.command = argv.join(' ');
      m.cmdlineRetries = 0;
    } else {
      m.command = st.comm;
      m.cmdlineRetries = m.cmdlineRetries > 0 ? m.cmdlineRetries - 1 : 5;
    }
  }
  m.rssPages = st.rss;
  m.vsize = st.vsize;
  m.threads = st.numThreads;
  m.processor = st.processor;
  m.own[CPU] = st.utime + st.stime;
  m.own[MINFLT] = st.minflt;
  m.own[MAJFLT] = st.majflt;
  m.full[CPU] = subtree ? m.own[CPU]! + st.cutime + st.cstime : m.own[CPU]!;
  m.full[MINFLT] = subtree ? st.minflt + st.cminflt : st.minflt;
  m.full[MAJFLT] = subtree ? st.majflt + st.cmajflt : st.majflt;
  if (m.ioFd >= 0) {
    const n = preadProc(m.ioFd);
    if (n > 0) {
      // The kernel does not separate a process's own I/O from its reaped children's: own = full.
      const io = parseIoBuf(SCRATCH, n);
      m.own[RCHAR] = m.full[RCHAR] = io.rchar;
      m.own[WCHAR] = m.full[WCHAR] = io.wchar;
      m.own[RBYTES] = m.full[RBYTES] = io.readBytes;
      m.own[WBYTES] = m.full[WBYTES] = io.writeBytes;
    }
  }
}

export function closeMember(m: Member): void {
  closeProc(m.statFd);
  closeProc(m.ioFd);
  closeProc(m.schedFd);
}

export function ignoresSigchld(pid: number, root: string): boolean {
  const status = readText(`${root}/${pid}/status`);
  const hex = status === null ? null : /^SigIgn:\s*([0-9a-f]+)/m.exec(status)?.[1];
  // SIGCHLD is signal 17: bit 16 of the mask.
  return hex ? (parseInt(hex.slice(-8), 16) & (1 << 16)) !== 0 : false;
}
