// What the kernel has credited to *this* process for the children it reaped. When the monitor itself
// is the parent of the root (`run`), the root's whole final totals — everything it and its reaped
// descendants did, up to the very end — arrive here when Node reaps it, after the last sample could
// read /proc/ROOT. Reading our own counters before and after recovers them exactly.
import { readdirSync } from 'node:fs';
import { CPU, MAJFLT, MINFLT, NC, RBYTES, RCHAR, WBYTES, WCHAR } from './member.js';
import { READ_GONE, SCRATCH, closeProc, openProc, preadProc } from './procfs-fd.js';
import { parseIoBuf, parseStatBuf, type ProcIo, type ProcStat } from './procfs-parse.js';
import { PROC_ROOT } from './procfs.js';
import { clockTicksPerSec } from './sysconf.js';

/** cutime + cstime + cminflt + cmajflt: each only grows, so the sum moves whenever a reap adds to one. */
export function reapedKeyOf(st: ProcStat): number {
  return st.cutime + st.cstime + st.cminflt + st.cmajflt;
}

/**
 * Counters credited to this process for reaped children: CPU seconds (cutime+cstime), cminflt/cmajflt,
 * and the I/O of /proc/self/io beyond what its live threads did themselves. Read at every sample, so
 * the files stay open. A reap adds to cutime/cstime and cminflt/cmajflt and to the I/O in the same
 * step: while the former have not moved the I/O is not read (it would take a read per thread of ours),
 * except at least every `ioRefreshMs` (a child that exits without a single page fault or tick).
 */
export class ReapedReader {
  private readonly stat: number;
  private readonly io: number;
  /** Our threads' own io files, by tid (re-listed at each read of the I/O). */
  private threads = new Map<string, number>();
  private readonly out = new Float64Array(NC);
  private lastStatKey = -1;
  /** Whether the last read() found something reaped since the one before (cutime, cstime, cminflt or cmajflt moved). */
  changed = false;
  private lastIoMs = -Infinity;

  constructor(
    private readonly root = PROC_ROOT,
    private readonly ioRefreshMs = 1000,
  ) {
    this.stat = openProc(`${root}/self/stat`);
    this.io = openProc(`${root}/self/io`);
  }

  /** The totals now (a view reused by the next call). */
  read(nowMs = Date.now()): Float64Array {
    const n = this.stat >= 0 ? preadProc(this.stat) : -1;
    const st = n > 0 ? parseStatBuf(SCRATCH, n) : null;
    const prevKey = this.lastStatKey;
    if (st) {
      this.out[CPU] = (st.cutime + st.cstime) / clockTicksPerSec();
      this.out[MINFLT] = st.cminflt;
      this.out[MAJFLT] = st.cmajflt;
      this.lastStatKey = reapedKeyOf(st);
    }
    this.changed = st === null || this.lastStatKey !== prevKey;
    if (this.changed || nowMs - this.lastIoMs >= this.ioRefreshMs) {
      this.lastIoMs = nowMs;
      this.readIo();
    }
    return this.out;
  }

  close(): void {
    closeProc(this.stat);
    closeProc(this.io);
    for (const fd of this.threads.values()) closeProc(fd);
    this.threads.clear();
  }

  /** /proc/self/io = its live threads' I/O + what exited threads and reaped children left behind. */
  private readIo(): void {
    // Threads come and go (libuv's pool starts lazily): one started since the last listing would be
    // left in the total, as if a child had done its I/O.
    this.relist();
    const n = this.io >= 0 ? preadProc(this.io) : -1;
    if (n <= 0) return;
    const all = parseIoBuf(SCRATCH, n);
    let rchar = all.rchar, wchar = all.wchar, rbytes = all.readBytes, wbytes = all.writeBytes;
    for (const [tid, fd] of this.threads) {
      const t = this.threadIo(fd);
      if (t === 'gone') {
        // It exited after the total was read: its I/O is in the total, and stays there.
        closeProc(fd);
        this.threads.delete(tid);
        continue;
      }
      if (!t) continue;
      rchar -= t.rchar;
      wchar -= t.wchar;
      rbytes -= t.readBytes;
      wbytes -= t.writeBytes;
    }
    this.out[RCHAR] = rchar;
    this.out[WCHAR] = wchar;
    this.out[RBYTES] = rbytes;
    this.out[WBYTES] = wbytes;
  }

  private threadIo(fd: number): ProcIo | 'gone' | null {
    const n = preadProc(fd);
    if (n === READ_GONE) return 'gone';
    return n > 0 ? parseIoBuf(SCRATCH, n) : null;
  }

  private relist(): void {
    let tids: string[] = [];
    try {
      tids = readdirSync(`${this.root}/self/task`);
    } catch { /* no per-thread view: count it all */ }
    const next = new Map<string, number>();
    for (const tid of tids) {
      const fd = this.threads.get(tid) ?? openProc(`${this.root}/self/task/${tid}/io`);
      if (fd >= 0) next.set(tid, fd);
    }
    for (const [tid, fd] of this.threads) if (!next.has(tid)) closeProc(fd);
    this.threads = next;
  }
}
