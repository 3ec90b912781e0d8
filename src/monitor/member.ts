// One tracked process: how its /proc files are read, the counters the tree totals are built from,
// and how one read of its stat (and io) updates them.
//
// Descriptors are a bounded resource: a member keeps its stat/schedstat/io/statm open (re-read with one
// pread, and failing once the process is gone even if its pid is reused) only while the FdBudget
// allows; beyond it, files are opened by path for each read, and a pid reused by another process is
// recognised by its start time. So the number of monitored processes is not limited by RLIMIT_NOFILE.
import { readdirSync } from 'node:fs';
import { READ_GONE, SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import { decimalAt, parseIoBuf, parseStatBuf, type ProcStat } from './procfs-parse.js';
import { readCmdline, readText } from './procfs.js';

// Counter slots. CPU in seconds, the rest in bytes / faults.
export const CPU = 0;
export const RCHAR = 1;
export const WCHAR = 2;
export const RBYTES = 3;
export const WBYTES = 4;
export const MINFLT = 5;
export const MAJFLT = 6;
export const NC = 7;
/** The I/O slots, which the kernel keeps per thread (the rest are per process in stat). */
export const IO_SLOTS = [RCHAR, WCHAR, RBYTES, WBYTES] as const;

/** How a member's I/O is read: its whole /proc/PID/io (its own and its reaped children's), or its threads' own. */
export type IoMode = 'whole' | 'own';

interface Fds {
  stat: number;
  sched: number;
  io: number;
  statm: number;
}

/** Descriptors a member holds while the budget allows. */
const FDS_PER_MEMBER = 4;

/** How many descriptors members may hold open at once (a quarter of the soft RLIMIT_NOFILE). */
export class FdBudget {
  private left: number;
  constructor(total = FdBudget.fromLimit()) {
    this.left = total;
  }
  static fromLimit(root = '/proc'): number {
    const limits = readText(`${root}/self/limits`) ?? '';
    const soft = Number(/^Max open files\s+(\d+)/m.exec(limits)?.[1] ?? 1024);
    return Math.max(0, Math.floor(soft / 4) - 16);
  }
  take(n: number): boolean {
    if (this.left < n) return false;
    this.left -= n;
    return true;
  }
  give(n: number): void {
    this.left += n;
  }
}

export interface Member {
  pid: number;
  /** stat's starttime (clock ticks after boot): with the pid, names the process across pid reuse. */
  starttime: number;
  /** Open descriptors while the budget allows; null: read by path. */
  fds: Fds | null;
  /** Last run time of the main thread (schedstat, ns); -1 before the first read or when unreadable. */
  runtime: number;
  /** When its run time was last read (ms since the epoch), and when it last moved (or it joined). */
  checkedMs: number;
  ranMs: number;
  /** cutime + cstime + cminflt + cmajflt at its last stat read (each only grows). */
  reapedKey: number;
  /** Reads left in which to retry an empty command line (set when exec had not yet set up argv). */
  cmdlineRetries: number;
  /** stat's comm when `command` was last refreshed: a change means an exec. */
  comm: string;
  command: string;
  ppid: number;
  netns: string;
  /** An exited, unreaped process: still holds counters, no longer listed. */
  zombie: boolean;
  /** The process's own cumulative values: CPU (utime+stime, s), its own faults, its I/O (see IoMode). */
  own: Float64Array;
  /** What it contributes to the subtree sum: own plus the children it reaped (cutime, cminflt, whole io). */
  full: Float64Array;
  /** What predates monitoring (subtracted from own). */
  base: Float64Array;
  /** own[CPU] at the previous sample, for its per-process cpu_usage. */
  prevOwnCpu: number;
  rssPages: number;
  /** Largest RSS seen, pages. */
  peakRssPages: number;
  vsize: number;
  threads: number;
  processor: number;
}

export function isDead(st: ProcStat): boolean {
  // A zombie leader with live threads (it called pthread_exit) still runs: only a lone Z/X is dead.
  return (st.state === 'Z' || st.state === 'X') && st.numThreads <= 1;
}

/** Reads `path` whole into SCRATCH (open, read, close); the byte count or a negative READ_* status. */
function readPath(path: string): number {
  const fd = openProc(path);
  if (fd < 0) return fd;
  const n = preadProc(fd);
  closeProc(fd);
  return n;
}

export function newMember(st: ProcStat, root: string, budget: FdBudget, nowMs: number): Member {
  let fds: Fds | null = null;
  if (budget.take(FDS_PER_MEMBER)) {
    const stat = openProc(`${root}/${st.pid}/stat`);
    const sched = openProc(`${root}/${st.pid}/schedstat`);
    const io = openProc(`${root}/${st.pid}/io`);
    const statm = openProc(`${root}/${st.pid}/statm`);
    fds = { stat, sched, io, statm };
  }
  return {
    pid: st.pid,
    starttime: st.starttime,
    fds,
    runtime: -1,
    checkedMs: nowMs,
    ranMs: nowMs,
    reapedKey: -1,
    cmdlineRetries: 0,
    comm: '', // differs from any name: the first update reads the command line
    command: st.comm,
    ppid: st.ppid,
    netns: 'unknown',
    zombie: false,
    own: new Float64Array(NC),
    full: new Float64Array(NC),
    base: new Float64Array(NC),
    prevOwnCpu: 0,
    rssPages: 0,
    peakRssPages: 0,
    vsize: 0,
    threads: 0,
    processor: -1,
  };
}

/** schedstat's first field (ns on CPU of the main thread); 'gone' after exit; null if unreadable. */
export function readRuntime(m: Member, root: string): number | 'gone' | null {
  const n = m.fds && m.fds.sched >= 0 ? preadProc(m.fds.sched) : readPath(`${root}/${m.pid}/schedstat`);
  if (n === READ_GONE) return 'gone';
  if (n <= 0) return null;
  return decimalAt(SCRATCH, 0, n);
}

/** 'gone' when the process no longer exists (or its pid now names another); null when the read failed otherwise. */
export function readMemberStat(m: Member, root: string, out?: ProcStat): ProcStat | 'gone' | null {
  const n = m.fds && m.fds.stat >= 0 ? preadProc(m.fds.stat) : readPath(`${root}/${m.pid}/stat`);
  if (n === READ_GONE) return 'gone';
  if (n <= 0) return null;
  const st = parseStatBuf(SCRATCH, n, out);
  if (st && st.starttime !== m.starttime) return 'gone';
  return st;
}

/**
 * Re-reads the memory of a member that has not run (statm: size and resident pages, the same counts
 * as stat's vsize and rss): reclaim can shrink a sleeper's RSS, nothing else in stat or io moves.
 * false when the process is gone or the file unreadable.
 */
export function readMemberStatm(m: Member, root: string, pageBytes: number): boolean {
  const n = m.fds && m.fds.statm >= 0 ? preadProc(m.fds.statm) : readPath(`${root}/${m.pid}/statm`);
  if (n <= 0) return false;
  const size = decimalAt(SCRATCH, 0, n);
  let sp = 0;
  while (sp < n && SCRATCH[sp] !== 0x20) sp++;
  if (sp >= n) return false;
  const resident = decimalAt(SCRATCH, sp + 1, n);
  m.rssPages = resident;
  if (resident > m.peakRssPages) m.peakRssPages = resident;
  m.vsize = size * pageBytes;
  return true;
}

/**
 * Takes a fresh stat of `m` into its fields and counters, and re-reads its io. `subtree`: its `full`
 * counters include the children it reaped (cutime, cminflt, ...), as when following the tree.
 */
export function updateMember(m: Member, st: ProcStat, subtree: boolean, io: IoMode, root: string, hz: number): void {
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
  if (st.rss > m.peakRssPages) m.peakRssPages = st.rss;
  m.vsize = st.vsize;
  m.threads = st.numThreads;
  m.processor = st.processor;
  m.own[CPU] = (st.utime + st.stime) / hz;
  m.own[MINFLT] = st.minflt;
  m.own[MAJFLT] = st.majflt;
  m.full[CPU] = subtree ? (st.utime + st.stime + st.cutime + st.cstime) / hz : m.own[CPU];
  m.full[MINFLT] = subtree ? st.minflt + st.cminflt : st.minflt;
  m.full[MAJFLT] = subtree ? st.majflt + st.cmajflt : st.majflt;
  if (io === 'whole') readWholeIo(m, root);
  else readOwnIo(m, root);
}

/** /proc/PID/io: the process's I/O and (the kernel does not separate them) its reaped children's. */
function readWholeIo(m: Member, root: string): void {
  const n = m.fds && m.fds.io >= 0 ? preadProc(m.fds.io) : readPath(`${root}/${m.pid}/io`);
  if (n <= 0) return;
  const io = parseIoBuf(SCRATCH, n);
  m.own[RCHAR] = m.full[RCHAR] = io.rchar;
  m.own[WCHAR] = m.full[WCHAR] = io.wchar;
  m.own[RBYTES] = m.full[RBYTES] = io.readBytes;
  m.own[WBYTES] = m.full[WBYTES] = io.writeBytes;
}

/**
 * The I/O of the process's live threads alone (/proc/PID/task/TID/io): without its reaped children,
 * whose own figures the exit accounting counts, and without its exited threads (counted there too).
 */
function readOwnIo(m: Member, root: string): void {
  let tids: (string | number)[] = [m.pid];
  if (m.threads > 1) {
    try {
      tids = readdirSync(`${root}/${m.pid}/task`);
    } catch {
      return; // gone: the exit figures take over
    }
  }
  let rchar = 0, wchar = 0, rbytes = 0, wbytes = 0, read = 0;
  for (const tid of tids) {
    const n = readPath(`${root}/${m.pid}/task/${tid}/io`);
    if (n <= 0) continue;
    const io = parseIoBuf(SCRATCH, n);
    rchar += io.rchar;
    wchar += io.wchar;
    rbytes += io.readBytes;
    wbytes += io.writeBytes;
    read++;
  }
  if (read === 0) return;
  // A thread that has exited drops out of this sum: its figures are in the exit accounting.
  m.own[RCHAR] = rchar;
  m.own[WCHAR] = wchar;
  m.own[RBYTES] = rbytes;
  m.own[WBYTES] = wbytes;
}

export function closeMember(m: Member, budget: FdBudget): void {
  if (!m.fds) return;
  closeProc(m.fds.stat);
  closeProc(m.fds.sched);
  closeProc(m.fds.io);
  closeProc(m.fds.statm);
  m.fds = null;
  budget.give(FDS_PER_MEMBER);
}

export function ignoresSigchld(pid: number, root: string): boolean {
  const status = readText(`${root}/${pid}/status`);
  const hex = status === null ? null : /^SigIgn:\s*([0-9a-f]+)/m.exec(status)?.[1];
  // SIGCHLD is signal 17: bit 16 of the mask.
  return hex ? (parseInt(hex.slice(-8), 16) & (1 << 16)) !== 0 : false;
}
